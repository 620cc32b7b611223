"""The PostgreSQL side of the benchmark: scratch databases, a COPY bulk load, the floor.

`make bench BACKEND=postgresql` measures against a real server (default
`postgresql+psycopg://postgres@127.0.0.1:5432/postgres`, trust auth). The suite creates
its scratch databases (`iom_bench`, `iom_bench_import`, `iom_bench_million`; another
prefix with `--pg-prefix`) and drops them at the end.

The demo data is built once on SQLite by `iom-audit demo` (as in the SQLite run, so both
backends count the same answers) and copied table by table into a migrated PostgreSQL
database with `COPY`: the demo builder writes row by row through the ORM, which on a
server takes minutes per 100,000 cases. What a user runs, the importer, is measured on
its own (`import` step). The 1,000,000-case database of `--million` is the importer's
100,000 cases copied nine times on the server (`replicate`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Scratch databases: PREFIX (the demo copy), PREFIX_import and, for --million (its own
# name, so it may overlap a normal run), PREFIX_million. `--pg-prefix` changes PREFIX.
DEMO_DB = "iom_bench"
SIMPLE = "SELECT question_id, value, count(*) FROM answer GROUP BY 1, 2"


def url_for(server: str, name: str) -> str:
    """The server URL with another database name (SQLAlchemy form, psycopg 3 driver)."""
    url = sa.engine.make_url(server).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg's connection string."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)


@contextmanager
def _admin(server: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        yield conn


def recreate(server: str, name: str) -> str:
    """Drop and create the scratch database `name`; its URL."""
    drop(server, name)
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url_for(server, name)


def drop(server: str, name: str) -> None:
    """Drop the scratch database `name` if it exists (closing its other sessions)."""
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(server: str) -> str:
    """'PostgreSQL 15.2', for the machine table."""
    with _admin(server) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0].split()[0] if row else '?'}"


def copy_from_sqlite(source: Path, url: str) -> dict[str, int]:
    """Copy every table of the SQLite database `source` into the migrated `url`; rows per table.

    The target is migrated by `open_database` first, so it has the schema (and the
    triggers and grants) of a real PostgreSQL database; the rows then go in by COPY with
    triggers off (`session_replication_role = replica`: the trail's sealing trigger would
    recompute what the source already sealed), sequences are moved past the copied ids,
    and `VACUUM ANALYZE` leaves statistics and a visibility map as autovacuum would.
    """
    from audit.store.engine import open_database

    open_database(url).dispose()
    counts: dict[str, int] = {}
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' ORDER BY name")]
        with psycopg.connect(libpq(url)) as conn:
            conn.execute("SET session_replication_role = replica")
            # Rows a migration seeded go first, all at once: one table's TRUNCATE ...
            # CASCADE would empty the tables that refer to it after they were copied.
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))
            for table in tables:
                counts[table] = _copy_table(src, conn, table)
            conn.execute("SET session_replication_role = DEFAULT")
            _reset_sequences(conn)
            conn.commit()
    finally:
        src.close()
    vacuum(url)
    return counts


def _copy_table(src: sqlite3.Connection, conn: psycopg.Connection[Any], table: str) -> int:
    columns = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]
    kinds = dict(conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s", (table,)).fetchall())
    missing = [c for c in columns if c not in kinds]
    if missing:
        raise RuntimeError(f"{table}: columns {missing} are not in the PostgreSQL schema")
    names = ", ".join(f'"{c}"' for c in columns)
    select = ", ".join(_select(c, kinds[c]) for c in columns)
    rows = src.execute(f'SELECT {select} FROM "{table}"')
    n = 0
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        while batch := rows.fetchmany(50_000):
            for row in batch:
                copy.write_row(row)
            n += len(batch)
    return n


def _select(column: str, pg_type: str) -> str:
    # SQLite keeps booleans as 0/1 integers; COPY's text form wants t/f.
    if pg_type == "boolean":
        return f'CASE WHEN "{column}" IS NULL THEN NULL WHEN "{column}" THEN \'t\' ELSE \'f\' END'
    return f'"{column}"'


def _reset_sequences(conn: psycopg.Connection[Any]) -> None:
    seqs = conn.execute(
        "SELECT s.relname, t.relname, a.attname FROM pg_class s "
        "JOIN pg_depend d ON d.objid = s.oid AND d.deptype = 'a' "
        "JOIN pg_class t ON t.oid = d.refobjid "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
        "WHERE s.relkind = 'S'").fetchall()
    for seq, table, column in seqs:
        conn.execute(f"SELECT setval('\"{seq}\"', coalesce((SELECT max(\"{column}\") "
                     f"FROM \"{table}\"), 0) + 1, false)")


def vacuum(url: str) -> None:
    """VACUUM ANALYZE the database (statistics, and the visibility map index-only scans need)."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def timed_query(url: str, sql: str, params: Sequence[object] = ()) -> tuple[float, int]:
    """Seconds to run one query to the last row on a fresh connection (connect included)."""
    start = time.perf_counter()
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(sql, list(params)).fetchall()  # type: ignore[arg-type]
    return time.perf_counter() - start, len(rows)


def explain(url: str, sql: str, params: Sequence[object] | dict[str, object] = ()) -> str:
    """`EXPLAIN (ANALYZE, BUFFERS)` of one query, as text (long array literals cut short)."""
    args = params if isinstance(params, dict) else list(params)
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", args).fetchall()  # type: ignore[arg-type]
    return "\n".join(r[0] if len(r[0]) <= 200 else r[0][:197] + "..." for r in rows)


def answer_count(url: str) -> int:
    """Rows in `answer` (for the table's caption)."""
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SELECT count(*) FROM answer").fetchone()
    return int(row[0]) if row else 0


CASE_COLUMNS = ("inspection_id", "site_id", "status", "version", "updated_at", "iom",
                "provider", "case_type", "rosh", "likelihood", "mappa_level", "domestic_abuse",
                "child_safeguarding", "index_offence", "prev_convictions", "age_band",
                "gender", "ethnicity", "start_date", "ro_interviewed", "allocated_to",
                "due_date")
ANSWER_COLUMNS = ("question_id", "question_set_version", "value", "note", "inspector_id",
                  "rater", "updated_at")


def replicate(url: str, times: int) -> dict[str, int]:
    """Make the database `times` as large on the server: each case copied `times - 1` times
    (its ref suffixed `~k`) with its answers; (cases, answers) afterwards.

    For `--million`: the importer loads 100,000 cases once (measured), and this makes the
    1,000,000-case database compare reads, in minutes instead of the importer's hour. The
    trail is not copied: compare never reads it. `answer`'s secondary index is built
    once afterwards, as a bulk load would.
    """
    cases, answers = ", ".join(f'"{c}"' for c in CASE_COLUMNS), ", ".join(ANSWER_COLUMNS)
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("SET LOCAL maintenance_work_mem = '1GB'")
        conn.execute("DROP INDEX IF EXISTS ix_answer_tally")
        conn.execute("CREATE TEMPORARY TABLE origin AS SELECT id FROM \"case\"")
        for k in range(1, times):
            conn.execute(
                "CREATE TEMPORARY TABLE copied ON COMMIT DROP AS "
                "SELECT id AS old_id, nextval(pg_get_serial_sequence('\"case\"', 'id')) "
                "AS new_id FROM origin")
            conn.execute(
                f'INSERT INTO "case" (id, case_ref, {cases}) '
                f"SELECT m.new_id, c.case_ref || '~{k}', "
                + ", ".join(f'c."{col}"' for col in CASE_COLUMNS)
                + ' FROM copied m JOIN "case" c ON c.id = m.old_id')
            conn.execute(
                f"INSERT INTO answer (case_id, {answers}) "
                f"SELECT m.new_id, {', '.join('a.' + c for c in ANSWER_COLUMNS)} "
                "FROM copied m JOIN answer a ON a.case_id = m.old_id ORDER BY m.new_id")
            conn.execute("DROP TABLE copied")
        conn.execute("CREATE INDEX ix_answer_tally ON answer "
                     "(rater, question_id, value, case_id)")
        conn.commit()
        row = conn.execute('SELECT (SELECT count(*) FROM "case"), '
                           "(SELECT count(*) FROM answer)").fetchone()
    return {"case": int(row[0]), "answer": int(row[1])} if row else {}
