"""Schema migrations with Alembic, applied when a database is opened, and what a
database must hold before iom-audit touches it.

A SQLite file that already holds data is copied (with SQLite's online backup API)
before it is migrated, so a failed or regretted migration never costs a rating. A
database from a newer iom-audit (a revision this code does not know) or another
application's (tables, but no iom-audit schema) is refused before anything is copied
or written; a read-only purpose refuses an older schema instead of migrating it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from audit.store import encryption
from audit.store.copies import copy_database
from audit.store.encryption import db_key
from audit.store.errors import DatabaseError, describe, first_line

if TYPE_CHECKING:
    from alembic.config import Config

Purpose = Literal["create", "write", "read"]
"""Why a database is opened: create it if missing, migrate it if older, or only read it."""

MIGRATIONS = Path(__file__).with_name("migrations")
OUR_TABLES = frozenset({"inspection", "case", "answer", "audit_event"})
"""Tables every iom-audit schema has had: a database with none of them is not ours."""
CREATES = "run `iom-audit init` first, which creates it (or `iom-audit demo`, the demo)"


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
    from alembic.config import Config  # only when migrating: Alembic costs ~0.5 s to load

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


_DECLARED = re.compile(
    r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(None|'[^']*'|\"[^\"]*\")\s*$", re.MULTILINE)


@cache
def revision_chain() -> tuple[str, ...]:
    """The revisions the code knows, oldest first, read from the scripts' declarations.

    Every command that opens a database checks its revision; reading the two lines each
    script declares costs microseconds, where loading Alembic's script directory (which
    imports every script) cost about half a second per command. A test checks that this
    equals Alembic's own walk.
    """
    parents: dict[str, str | None] = {}
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        declared = dict((name, None if value == "None" else value[1:-1])
                        for name, value in _DECLARED.findall(script.read_text("utf-8")))
        revision = declared.get("revision")
        if revision is None or "down_revision" not in declared:
            raise DatabaseError(f"migration script {script.name} declares no revision")
        parents[revision] = declared["down_revision"]
    chain: list[str] = []
    current = next((r for r, parent in parents.items() if parent is None), None)
    children = {parent: r for r, parent in parents.items()}
    while current is not None:
        chain.append(current)
        current = children.get(current)
    if len(chain) != len(parents):
        raise DatabaseError("the migration scripts do not form one chain")
    return tuple(chain)


def head_revision() -> str:
    """The newest revision the code knows."""
    return revision_chain()[-1]


def known_revisions() -> frozenset[str]:
    """Every revision the code knows (a database at another one is from a newer version)."""
    return frozenset(revision_chain())


@dataclass(frozen=True)
class Contents:
    """What a database holds before iom-audit touches it: its revision and its tables."""

    revision: str | None
    tables: frozenset[str]


def _revision(rows: list[tuple[str]]) -> str | None:
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


def sqlite_contents(path: Path, where: str) -> Contents:
    """Read a SQLite file's tables and revision through a read-only connection."""
    try:
        conn = encryption.connect(path, readonly=True)
    except encryption.EncryptionUnavailable as exc:
        raise DatabaseError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - sqlite3 and sqlcipher3 errors alike
        raise DatabaseError(f"cannot open database {where}: "
                            f"{describe(exc) or first_line(str(exc))}") from exc
    try:
        tables = frozenset(r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
        revision = _revision(conn.execute("SELECT version_num FROM alembic_version").fetchall()
                             if "alembic_version" in tables else [])
    except Exception as exc:  # noqa: BLE001 - e.g. a wrong key shows only when reading
        raise DatabaseError(f"cannot open database {where}: "
                            f"{describe(exc) or first_line(str(exc))}") from exc
    finally:
        conn.close()
    return Contents(revision, tables)


def contents(conn: sa.Connection) -> Contents:
    """A server database's tables (in the connection's schema) and revision."""
    tables = frozenset(sa.inspect(conn).get_table_names())
    revision = _revision([tuple(r) for r in conn.exec_driver_sql(
        "SELECT version_num FROM alembic_version")] if "alembic_version" in tables else [])
    conn.rollback()
    return Contents(revision, tables)


def missing(where: str) -> str:
    """The refusal for a database that does not exist yet."""
    return f"no iom-audit database at {where} yet: {CREATES}"


def newer(where: str, revision: str) -> str:
    """The refusal for a database written by a newer version of iom-audit."""
    return (f"{where} was written by a newer version of iom-audit (revision {revision}); "
            "upgrade iom-audit to open it (nothing was changed)")


def check_contents(found: Contents, where: str, purpose: Purpose) -> None:
    """Refuse, before anything is written, what `purpose` may not open (DatabaseError)."""
    ours = found.tables - {"alembic_version"}
    if found.revision is not None and found.revision not in known_revisions():
        if found.tables & OUR_TABLES:
            raise DatabaseError(newer(where, found.revision))
        found = Contents(None, found.tables)  # another program's Alembic history
    if found.revision is None:
        if ours:
            shown = ", ".join(sorted(ours)[:5]) + (", ..." if len(ours) > 5 else "")
            raise DatabaseError(
                f"{where} is not an iom-audit database (it holds other tables: {shown}); "
                "iom-audit leaves it as it is: name a new file or an iom-audit database "
                "with --db")
        if purpose != "create":
            raise DatabaseError(f"{where} holds no iom-audit database yet: {CREATES}")
        return
    if purpose == "read" and found.revision != head_revision():
        raise DatabaseError(
            f"{where} was made by an older version of iom-audit (schema revision "
            f"{found.revision}, now {head_revision()}); commands that only read leave it as "
            "it is: open it in the app or run a command that writes, which upgrades it "
            "after keeping a copy")


def current_revision(engine: sa.Engine) -> str | None:
    """The revision a database is at (None for an empty database)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return _revision([tuple(row) for row in
                          conn.exec_driver_sql("SELECT version_num FROM alembic_version")])


def backup_sqlite(source: Path, target: Path) -> Path:
    """Copy a SQLite database consistently (online backup API; encrypted files too)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_database(source, target, key=db_key())
    return target


def upgrade_to_head(engine: sa.Engine, path: Path | None,
                    revision: str = "head") -> str | None:
    """Migrate to `revision`; returns the path of the pre-migration copy, if one was made.

    `path` is the SQLite file (None on PostgreSQL): one that holds data is copied first.
    """
    current = current_revision(engine)
    target = head_revision() if revision == "head" else revision
    if current == target:
        return None
    if current is not None and current not in known_revisions():
        # Before the copy: Alembic cannot go anywhere from a revision it does not know.
        where = str(path) if path is not None else "the database"
        raise DatabaseError(newer(where, current))
    copy: str | None = None
    if current is not None and path is not None and path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        copy = str(backup_sqlite(path, path.with_name(f"{path.name}.pre-{target}-{stamp}.bak")))
    from alembic import command

    config = alembic_config()
    with engine.connect() as conn:
        conn.info["write"] = True
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            conn.info.pop("write", None)
    return copy
