"""Engine factory and database location.

No engine exists at import time: callers ask `open_database()` for one. The location
comes from `--db` or `IOM_AUDIT_DB`; a plain path means an embedded SQLite file, a URL
(`postgresql+psycopg://...`) a shared server. With neither, a file in the user's data
directory, so `iom-audit` works with no option at all.

What opening may do depends on its purpose: only "create" (`init`, `demo`) makes a new
database; "write" migrates an older one (after a copy); "read" changes nothing. No
purpose touches another application's database or one from a newer iom-audit
(`audit.store.migrate.check_contents`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

from audit.store.chain import seal
from audit.store.errors import BUSY_SECONDS, DatabaseError, describe, first_line

if TYPE_CHECKING:
    from audit.store.migrate import Purpose

__all__ = ["Database", "DatabaseError", "DatabaseLocation", "open_database"]

ENV_DB = "IOM_AUDIT_DB"
SQLITE_BUSY_TIMEOUT_MS = BUSY_SECONDS * 1000


@dataclass(frozen=True)
class DatabaseLocation:
    """Where the database lives: a SQLAlchemy URL and, for SQLite, the file path."""

    url: str
    path: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def display(self) -> str:
        """A form safe to print: the file path, or the URL without its password."""
        if self.path is not None:
            return str(self.path)
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)


def default_path() -> Path:
    """The database file used when neither --db nor IOM_AUDIT_DB is given."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("iom-audit", appauthor=False)) / "iom-audit.db"


def resolve_location(db: str | None = None) -> DatabaseLocation:
    """Turn `--db`, else `IOM_AUDIT_DB`, else the default file into a location."""
    raw = db or os.environ.get(ENV_DB) or str(default_path())
    if "://" in raw:
        if raw.startswith("postgresql://"):
            # The driver we ship is psycopg 3; plain postgresql:// would ask for psycopg2.
            raw = "postgresql+psycopg://" + raw[len("postgresql://"):]
        if raw.startswith("sqlite"):
            url = sa.engine.make_url(raw)
            return DatabaseLocation(raw, Path(url.database) if url.database else None)
        return DatabaseLocation(raw)
    path = Path(raw).expanduser().resolve()
    return DatabaseLocation(f"sqlite:///{path}", path)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (reports, the app's lists) run while a writer holds the lock;
    # FULL because with WAL, NORMAL can lose an acknowledged rating on power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, which lets
    # two writers read the same version and then fight for the lock. BEGIN IMMEDIATE
    # takes the write lock up front, so optimistic version checks see a stable row.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")


def make_engine(location: DatabaseLocation, *, echo: bool = False) -> Engine:
    """Create an engine for a location, with the SQLite connection settings applied.

    With IOM_AUDIT_DB_KEY set, a SQLite file is opened through SQLCipher (encrypted).
    """
    if location.is_sqlite:
        from audit.store import encryption

        if location.path is not None:
            location.path.parent.mkdir(parents=True, exist_ok=True)
        key = encryption.db_key()
        try:
            module = encryption.dbapi(key)
        except encryption.EncryptionUnavailable as exc:
            raise DatabaseError(str(exc)) from None
        engine = sa.create_engine(location.url, echo=echo, module=module,
                                  connect_args={"check_same_thread": False,
                                                "isolation_level": None})
        if key:
            # The key must be the first statement on every new connection.
            sa.event.listen(engine, "connect",
                            lambda conn, _record: encryption.apply_key(conn, key))
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(location.url, echo=echo, pool_pre_ping=True)


@dataclass
class Database:
    """An open, migrated database: its location and engine."""

    location: DatabaseLocation
    engine: Engine

    def session(self) -> Session:
        """A new ORM session (for editing a case; analytics use bulk SQL instead)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A connection in one write transaction, committed on success, rolled back on error.

        The audit events it wrote are sealed into the trail's hash chain before the commit.
        """
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
                    seal(conn)
            finally:
                conn.info.pop("write", None)

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """An ORM session in one write transaction (BEGIN IMMEDIATE on SQLite); its audit
        events are sealed into the trail's hash chain before the commit."""
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.flush()
                    seal(conn)
            finally:
                conn.info.pop("write", None)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(db: str | None = None, *, migrate: bool = True, echo: bool = False,
                  purpose: Purpose = "create") -> Database:
    """Open the database named by `db` for `purpose` and, unless it is only read, migrate
    it to the newest schema.

    "create" makes a missing or empty database; "write" and "read" refuse one (`init`
    creates it); "read" also refuses an older schema rather than migrate it. Every
    purpose refuses another application's database and a newer iom-audit's, before
    anything is written to it. `migrate=False` opens as is, unchecked (tests, restore).
    """
    from audit.store import migrate as migrations

    location = resolve_location(db)
    checked = migrate or purpose != "create"
    path = location.path if location.is_sqlite else None
    if checked and path is not None:
        # Looked at read-only before an engine exists: the engine's first connection
        # switches the file to WAL mode, which would change another program's file.
        if not (path.exists() and path.stat().st_size > 0):
            if purpose != "create":
                raise DatabaseError(migrations.missing(location.display()))
        else:
            migrations.check_contents(migrations.sqlite_contents(path, location.display()),
                                      location.display(), purpose)
    engine = make_engine(location, echo=echo)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            if checked and not location.is_sqlite:
                migrations.check_contents(migrations.contents(conn), location.display(),
                                          purpose)
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = describe(exc) or first_line(str(exc.orig))
        raise DatabaseError(f"cannot open database {location.display()}: {reason}") from exc
    except DatabaseError:
        engine.dispose()
        raise
    database = Database(location, engine)
    if migrate and purpose != "read":
        migrations.upgrade_to_head(engine, location.path)
    return database
