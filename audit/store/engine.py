"""Engine factory and database location.

No engine exists at import time: callers ask `open_database()` for one. The location
comes from `--db` or `IOM_AUDIT_DB`; a plain path means an embedded SQLite file, a URL
(`postgresql+psycopg://...`) a shared server. With neither, a file in the user's data
directory, so `iom-audit` works with no option at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

from audit.store.chain import seal

ENV_DB = "IOM_AUDIT_DB"
SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseError(Exception):
    """A database that cannot be opened, migrated or used, with a one-line reason."""


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


def open_database(db: str | None = None, *, migrate: bool = True, echo: bool = False) -> Database:
    """Open (and by default migrate to the newest schema) the database named by `db`."""
    location = resolve_location(db)
    engine = make_engine(location, echo=echo)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0]
        if location.is_sqlite and "not a database" in reason:
            # What SQLite says of an encrypted file opened without (or with a wrong) key.
            reason += " (encrypted? set IOM_AUDIT_DB_KEY to its key)"
        raise DatabaseError(f"cannot open database {location.display()}: {reason}") from exc
    database = Database(location, engine)
    if migrate:
        from audit.store.migrate import upgrade_to_head

        upgrade_to_head(engine, location.path)
    return database
