"""The bulk write path: many cases or answers merged in a few set-based statements.

Rows are loaded into a temporary staging table (SQLite: `executemany` on one prepared
INSERT; PostgreSQL: `COPY`), then merged with INSERT ... SELECT and UPDATE ... FROM.
The audit events are written the same way, from the staging table joined with the
values stored *before* the merge, so a 4,000,000-answer import costs a handful of
statements, never one ORM object per row. Everything runs in the caller's transaction
(`with db.write() as conn:`): an exception anywhere stores nothing.

`CaseStaging` and `AnswerStaging` take rows chunk by chunk (the importer streams a file
through them); `upsert_cases` and `upsert_answers` do one DataFrame in one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from audit.identity import initials as initials_of
from audit.models import RATERS, UTCDateTime, utcnow
from question_sets.profile import CASE_STATUS, PROFILE

_CASE = '"case"'  # a reserved word in SQL, so always quoted

CASE_COLUMNS: tuple[str, ...] = ("site", "status", *PROFILE)
"""Columns `upsert_cases` understands besides `case_ref`."""


@dataclass(frozen=True)
class BulkResult:
    """What a bulk write did. `removed` counts answers deleted (no value and no note)."""

    created: int
    updated: int
    unchanged: int
    sites_created: tuple[str, ...] = ()
    events: int = 0
    removed: int = 0


# ----------------------------------------------------------------------------- helpers

def _python(series: pd.Series, kind: str, sqlite: bool) -> list[Any]:
    """Plain Python values for the DBAPI (numpy scalars and NaN are not bindable)."""
    if kind == "int" and not series.hasnans:
        return series.to_numpy(dtype="int64").tolist()  # Python ints, fast
    values = series.astype(object).where(series.notna(), None).tolist()
    if kind == "int":
        return [None if v is None else int(v) for v in values]
    if kind == "bool":
        if sqlite:  # SQLAlchemy stores booleans as 0/1 in SQLite
            return [None if v is None else int(bool(v)) for v in values]
        return [None if v is None else bool(v) for v in values]
    if kind == "date":
        if sqlite:  # ... and dates as ISO text
            return [None if v is None else _as_date(v).isoformat() for v in values]
        return [None if v is None else _as_date(v) for v in values]
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values
    return [None if v is None else str(v) for v in values]


def _as_date(value: Any) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value  # type: ignore[no-any-return]


def load_rows(conn: sa.Connection, table: str, columns: Sequence[str],
              rows: Iterable[tuple[Any, ...]]) -> None:
    """Append rows to a (staging) table through the driver's fastest path."""
    raw = conn.connection.driver_connection
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # type: ignore[union-attr]
        return
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _text(expr: str, kind: str) -> str:
    """SQL giving the audit-trail text of a value (bools as yes/no, dates ISO)."""
    if kind == "bool":
        return f"CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN 'yes' ELSE 'no' END"
    if kind == "date" or kind == "int":
        return f"CAST({expr} AS VARCHAR(40))"
    return expr


def _sql(conn: sa.Connection, statement: str, **params: Any) -> sa.CursorResult[Any]:
    text = sa.text(statement)
    if "at" in params:
        text = text.bindparams(sa.bindparam("at", type_=UTCDateTime()))
    return conn.execute(text, params)


def _kind(column: str) -> str:
    if column in PROFILE:
        return PROFILE[column].kind
    return "int" if column == "site_id" else "code"


def _sa_type(kind: str) -> sa.types.TypeEngine[Any]:
    return {"bool": sa.Boolean(), "date": sa.Date(), "int": sa.Integer()}.get(
        kind, sa.String())


def _temp_table(conn: sa.Connection, name: str, columns: dict[str, str]) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    table = sa.Table(name, sa.MetaData(), *(sa.Column(c, _sa_type(k)) for c, k in columns.items()),
                     prefixes=["TEMPORARY"])
    table.create(conn)


# ------------------------------------------------------------------------------- cases

class CaseStaging:
    """Cases of one inspection staged chunk by chunk, then merged once."""

    TABLE = "iom_stage_case"

    def __init__(self, conn: sa.Connection, inspection_id: int, columns: Iterable[str], *,
                 who: str) -> None:
        self.conn = conn
        self.inspection_id = inspection_id
        self.who = who
        self.fields = [c for c in CASE_COLUMNS if c in set(columns)]
        unknown = set(columns) - set(CASE_COLUMNS) - {"case_ref"}
        if unknown:
            raise ValueError(f"unknown case columns: {', '.join(sorted(unknown))}")
        self.staged = 0
        spec = {"case_ref": "code", "case_id": "int", "is_new": "int", "site_id": "int"}
        spec.update({c: _kind(c) for c in self.fields})
        _temp_table(conn, self.TABLE, spec)

    def add(self, rows: pd.DataFrame) -> None:
        """Stage a chunk (columns: case_ref and the fields given at construction)."""
        if rows.empty:
            return
        sqlite = self.conn.dialect.name == "sqlite"
        names = ["case_ref", *self.fields]
        columns = [_python(rows[c], _kind(c), sqlite) for c in names]
        load_rows(self.conn, self.TABLE, names, zip(*columns, strict=True))
        self.staged += len(rows)

    def merge(self) -> BulkResult:
        """Create missing sites, update changed cases, insert new ones, log every change."""
        t, i, at, who = self.TABLE, self.inspection_id, utcnow(), self.who
        dupes = _sql(self.conn, f"SELECT case_ref FROM {t} GROUP BY case_ref "
                                "HAVING COUNT(*) > 1").scalars().all()
        if dupes:
            raise ValueError(f"case_ref given more than once: {', '.join(dupes[:10])}")
        sites = self._create_sites() if "site" in self.fields else ()
        _sql(self.conn, f'UPDATE {t} SET case_id = (SELECT c.id FROM "case" c WHERE '
                        f"c.inspection_id = :i AND c.case_ref = {t}.case_ref)", i=i)
        _sql(self.conn, f"UPDATE {t} SET is_new = CASE WHEN case_id IS NULL THEN 1 ELSE 0 END")
        written = [("site_id" if f == "site" else f) for f in self.fields]

        def new(f: str, case: str) -> str:
            # An empty status cell keeps the case's status (status is never unknown).
            return f"COALESCE(s.status, {case}.status)" if f == "status" else f"s.{f}"

        def changed(case: str) -> str:
            return " OR ".join(f"{case}.{f} IS DISTINCT FROM {new(f, case)}"
                               for f in written) or "1=0"

        updated = _sql(self.conn, f'SELECT COUNT(*) FROM {t} s JOIN "case" c ON c.id = s.case_id '
                                  f"WHERE {changed('c')}").scalar_one()
        events = 0
        for f in self.fields:  # events first: they read the values before the update
            col = "site_id" if f == "site" else f
            old = "(SELECT name FROM site WHERE site.id = c.site_id)" if f == "site" \
                else _text(f"c.{f}", _kind(f))
            events += _sql(self.conn, f"""
                INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value,
                                         new_value)
                SELECT :at, :who, 'case', c.id, c.case_ref, '{f}', {old},
                       {_text(new(f, 'c'), _kind(f))}
                FROM {t} s JOIN "case" c ON c.id = s.case_id
                WHERE c.{col} IS DISTINCT FROM {new(col, 'c')}""", at=at, who=who).rowcount
        if updated:
            sets = ", ".join(f"{f} = {new(f, _CASE)}" for f in written)
            _sql(self.conn, f'UPDATE "case" SET {sets}, version = "case".version + 1, '
                            f'updated_at = :at FROM {t} s WHERE "case".id = s.case_id '
                            f"AND ({changed(_CASE)})", at=at)
        cols = ", ".join(written)
        values = ", ".join("COALESCE(s.status, 'not_started')" if f == "status" else f"s.{f}"
                           for f in written)
        status = "" if "status" in self.fields else ", status"
        default_status = "" if "status" in self.fields else ", 'not_started'"
        created = _sql(self.conn, f"""
            INSERT INTO "case" (inspection_id, case_ref, version, updated_at{status}
                                {', ' + cols if cols else ''})
            SELECT :i, s.case_ref, 1, :at{default_status}{', ' + values if values else ''}
            FROM {t} s WHERE s.is_new = 1""", i=i, at=at).rowcount
        if created:
            _sql(self.conn, f'UPDATE {t} SET case_id = (SELECT c.id FROM "case" c WHERE '
                            f"c.inspection_id = :i AND c.case_ref = {t}.case_ref) "
                            "WHERE is_new = 1", i=i)
            events += self._creation_events(at)
        _sql(self.conn, f"DROP TABLE {t}")
        return BulkResult(created, updated, self.staged - created - updated, sites, events)

    def _create_sites(self) -> tuple[str, ...]:
        t, i = self.TABLE, self.inspection_id
        missing = _sql(self.conn, f"""
            SELECT DISTINCT s.site FROM {t} s WHERE s.site IS NOT NULL AND NOT EXISTS
              (SELECT 1 FROM site WHERE site.inspection_id = :i AND site.name = s.site)
            ORDER BY s.site""", i=i).scalars().all()
        if missing:
            self.conn.execute(sa.text("INSERT INTO site (inspection_id, name) VALUES (:i, :n)"),
                              [{"i": i, "n": n} for n in missing])
        _sql(self.conn, f"UPDATE {t} SET site_id = (SELECT id FROM site WHERE "
                        f"site.inspection_id = :i AND site.name = {t}.site)", i=i)
        return tuple(missing)

    def _creation_events(self, at: Any) -> int:
        t, who = self.TABLE, self.who
        shown = [("case_ref", "code"), *((f, _kind(f)) for f in self.fields)]
        if "status" not in self.fields:
            shown.append(("status", "code"))
        events = 0
        for f, kind in shown:
            value = "c.status" if f == "status" else _text(f"s.{f}", kind)
            events += _sql(self.conn, f"""
                INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value,
                                         new_value)
                SELECT :at, :who, 'case', c.id, c.case_ref, '{f}', NULL, {value}
                FROM {t} s JOIN "case" c ON c.id = s.case_id
                WHERE s.is_new = 1 AND {value} IS NOT NULL""", at=at, who=who).rowcount
        return events


def upsert_cases(conn: sa.Connection, inspection_id: int, rows: pd.DataFrame, *,
                 who: str) -> BulkResult:
    """Insert or update the cases in `rows` (parsed values; see CaseStaging)."""
    if "case_ref" not in rows.columns:
        raise ValueError("rows need a case_ref column")
    if "status" in rows.columns:
        bad = set(rows["status"].dropna()) - set(CASE_STATUS)
        if bad:
            raise ValueError(f"unknown status: {', '.join(map(str, bad))}")
    stage = CaseStaging(conn, inspection_id, [c for c in rows.columns if c != "case_ref"],
                        who=who)
    stage.add(rows)
    return stage.merge()


# ----------------------------------------------------------------------------- answers

class AnswerStaging:
    """Answers of one inspection staged chunk by chunk, then merged once."""

    TABLE = "iom_stage_answer"
    DIFF = "iom_diff_answer"
    TOUCHED = "iom_touched_case"
    COLUMNS = ("case_id", "question_id", "rater", "value", "note", "set_note", "inspector_id")

    def __init__(self, conn: sa.Connection, inspection_id: int, *, who: str,
                 question_set_version: str) -> None:
        self.conn = conn
        self.inspection_id = inspection_id
        self.who = who
        self.version = question_set_version
        self.staged = 0
        self._inspectors: dict[str, int] = {}
        self._cases: dict[str, int] | None = None
        _temp_table(conn, self.TABLE, {"case_id": "int", "question_id": "code", "rater": "code",
                                       "value": "code", "note": "code", "set_note": "int",
                                       "inspector_id": "int"})

    def add(self, rows: pd.DataFrame) -> None:
        """Stage a chunk: case_ref (or case_id), question_id, value, rater, inspector[, note].

        Without a `note` column the stored notes are left alone; with one, an empty
        note clears it. A row ending with neither value nor note deletes the answer.
        """
        if rows.empty:
            return
        sqlite = self.conn.dialect.name == "sqlite"
        case_ids = rows["case_id"] if "case_id" in rows.columns else self._case_ids(rows)
        bad_raters = set(rows["rater"].dropna().unique()) - set(RATERS)
        if bad_raters or rows["rater"].isna().any():
            raise ValueError(f"rater must be one of {', '.join(RATERS)}")
        inspector_ids = rows["inspector"].map(self._inspector_ids(rows["inspector"]))
        set_note = 1 if "note" in rows.columns else 0
        note = rows["note"] if set_note else pd.Series([None] * len(rows), dtype=object)
        columns = [
            _python(case_ids, "int", sqlite),
            _python(rows["question_id"], "code", sqlite),
            _python(rows["rater"], "code", sqlite),
            _python(rows["value"], "code", sqlite),
            _python(note, "code", sqlite),
            [set_note] * len(rows),
            _python(inspector_ids, "int", sqlite),
        ]
        load_rows(self.conn, self.TABLE, self.COLUMNS, zip(*columns, strict=True))
        self.staged += len(rows)

    def _case_ids(self, rows: pd.DataFrame) -> pd.Series:
        if self._cases is None:
            self._cases = dict(_sql(self.conn, 'SELECT case_ref, id FROM "case" WHERE '
                                               "inspection_id = :i", i=self.inspection_id).all())
        ids = rows["case_ref"].map(self._cases)
        if ids.isna().any():
            missing = rows.loc[ids.isna(), "case_ref"].unique()[:10]
            raise ValueError(f"unknown case_ref: {', '.join(map(str, missing))}")
        return ids

    def _inspector_ids(self, names: pd.Series) -> dict[str, int]:
        wanted = {str(n) for n in names.dropna().unique()} - set(self._inspectors)
        if wanted:
            stmt = sa.text("SELECT name, id FROM inspector WHERE name IN :names").bindparams(
                sa.bindparam("names", expanding=True))
            found = dict(self.conn.execute(stmt, {"names": sorted(wanted)}).all())
            missing = sorted(wanted - set(found))
            if missing:
                self.conn.execute(
                    sa.text("INSERT INTO inspector (name, initials, role) "
                            "VALUES (:name, :initials, 'inspector')"),
                    [{"name": n, "initials": initials_of(n)} for n in missing])
                found.update(self.conn.execute(stmt, {"names": missing}).all())
            self._inspectors.update(found)
        return self._inspectors

    def merge(self) -> BulkResult:
        """Insert new answers, update changed ones, delete emptied ones, log each change."""
        s, d, t, at, who = self.TABLE, self.DIFF, self.TOUCHED, utcnow(), self.who
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {d}")
        # Only the rows that change something survive into the diff, with the stored
        # value and note beside the new ones: events, updates and counts all read it.
        self.conn.exec_driver_sql(f"""
            CREATE TEMPORARY TABLE {d} AS
            SELECT s.case_id, s.question_id, s.rater, s.value,
                   CASE WHEN s.set_note = 1 THEN s.note ELSE a.note END AS note,
                   s.inspector_id, a.id AS answer_id, a.value AS old_value, a.note AS old_note
            FROM {s} s LEFT JOIN answer a
              ON a.case_id = s.case_id AND a.question_id = s.question_id AND a.rater = s.rater
            WHERE (a.id IS NULL AND (s.value IS NOT NULL OR
                                     (s.set_note = 1 AND s.note IS NOT NULL)))
               OR (a.id IS NOT NULL AND (a.value IS DISTINCT FROM s.value OR
                                         (s.set_note = 1 AND a.note IS DISTINCT FROM s.note)))
        """)
        created, updated, removed = _sql(self.conn, f"""
            SELECT COALESCE(SUM(CASE WHEN answer_id IS NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN answer_id IS NOT NULL AND (value IS NOT NULL OR
                                     note IS NOT NULL) THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN answer_id IS NOT NULL AND value IS NULL AND
                                     note IS NULL THEN 1 ELSE 0 END), 0)
            FROM {d}""").one()
        events = 0
        for entity, old, new in (("answer", "old_value", "value"), ("note", "old_note", "note")):
            events += _sql(self.conn, f"""
                INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value,
                                         new_value)
                SELECT :at, :who, '{entity}', d.case_id,
                       c.case_ref || '/' || d.question_id || '/' || d.rater, d.question_id,
                       d.{old}, d.{new}
                FROM {d} d JOIN "case" c ON c.id = d.case_id
                WHERE d.{old} IS DISTINCT FROM d.{new}""", at=at, who=who).rowcount
        _sql(self.conn, f"""
            UPDATE answer SET value = d.value, note = d.note, inspector_id = d.inspector_id,
                              question_set_version = :v, updated_at = :at
            FROM {d} d WHERE answer.id = d.answer_id""", v=self.version, at=at)
        _sql(self.conn, f"""
            INSERT INTO answer (case_id, question_id, question_set_version, value, note,
                                inspector_id, rater, updated_at)
            SELECT case_id, question_id, :v, value, note, inspector_id, rater, :at
            FROM {d} WHERE answer_id IS NULL""", v=self.version, at=at)
        if removed:
            _sql(self.conn, f"""
                DELETE FROM answer WHERE id IN (SELECT answer_id FROM {d}
                  WHERE answer_id IS NOT NULL AND value IS NULL AND note IS NULL)""")
        events += self._touch_cases(at)
        for table in (s, d, t):
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        return BulkResult(created, updated, self.staged - created - updated - removed,
                          events=events, removed=removed)

    def _touch_cases(self, at: Any) -> int:
        """Bump each changed case's version once; a first answer starts the case."""
        d, t = self.DIFF, self.TOUCHED
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
        self.conn.exec_driver_sql(f"""
            CREATE TEMPORARY TABLE {t} AS
            SELECT case_id, MAX(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END) AS answered
            FROM {d} GROUP BY case_id""")
        events = _sql(self.conn, f"""
            INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value, new_value)
            SELECT :at, :who, 'case', c.id, c.case_ref, 'status', 'not_started', 'in_progress'
            FROM {t} t JOIN "case" c ON c.id = t.case_id
            WHERE c.status = 'not_started' AND t.answered = 1""", at=at, who=self.who).rowcount
        _sql(self.conn, f"""
            UPDATE "case" SET version = "case".version + 1, updated_at = :at,
                status = CASE WHEN "case".status = 'not_started' AND t.answered = 1
                              THEN 'in_progress' ELSE "case".status END
            FROM {t} t WHERE "case".id = t.case_id""", at=at)
        return events



def upsert_answers(conn: sa.Connection, inspection_id: int, rows: pd.DataFrame, *, who: str,
                   question_set_version: str) -> BulkResult:
    """Insert or update answers on (case, question, rater); see AnswerStaging.add."""
    stage = AnswerStaging(conn, inspection_id, who=who,
                          question_set_version=question_set_version)
    stage.add(rows)
    return stage.merge()
