"""Fresh databases for tests, copied from one migrated template per test process.

Migrating an empty database runs every Alembic revision (about 80 ms on SQLite, more on
a loaded machine); hundreds of tests want one. So each test process (each xdist worker)
migrates one SQLite file once, folds its write-ahead log into the main file, and every
fresh database is a plain file copy of it. The template is checked to be at the newest
revision, so opening a copy finds it at head and `upgrade_to_head` returns at once:
nothing is migrated again, and no `.pre-*.bak` copy (made before migrating a file that
holds a schema) appears beside it, which `fresh_sqlite` checks every time.

PostgreSQL has the same in `tests/conftest.py`: a migrated template database per test
process, copied with `CREATE DATABASE ... TEMPLATE`.

Tests of migration itself, of a first open (`init` on a new file), of encryption
(SQLCipher files cannot be copied from a plain template) or of a missing file still call
`open_database` on a new path.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from audit.store.engine import Database, open_database
from audit.store.migrate import head_revision

_folder: list[Path] = []  # where this process keeps its template (set by conftest)
_template: list[Path] = []
_head: list[str] = []


def configure(folder: Path) -> None:
    """Keep the template in `folder` (a session temporary directory of this process)."""
    _folder[:] = [folder]


def head() -> str:
    """The newest revision (read from the migration scripts once per process)."""
    if not _head:
        _head.append(head_revision())
    return _head[0]


def sqlite_template() -> Path:
    """The migrated, empty SQLite file of this process, built on first use."""
    if not _template:
        if not _folder:
            raise RuntimeError("tests.databases.configure() was not called (tests/conftest.py)")
        path = _folder[0] / "migrated-template.db"
        open_database(str(path)).dispose()
        # Fold the write-ahead log into the main file so the file alone is the database.
        # The last connection closing removes the (then empty) -wal and -shm files.
        conn = sqlite3.connect(path)
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0, "the template is still in use"
        finally:
            conn.close()
        assert not Path(f"{path}-wal").exists(), "the template's WAL was not folded in"
        conn = sqlite3.connect(path)
        try:
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
        assert revision == head(), f"the template is at {revision}, not {head()}"
        _template.append(path)
    return _template[0]


def copy_template(path: Path | str) -> Path:
    """A copy of the migrated template at `path` (which must not exist yet)."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"{target} exists: a fresh database needs a new path")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template(), target)
    return target


def fresh_sqlite(path: Path | str) -> Database:
    """A migrated, empty SQLite database at `path`, opened: what `open_database(path)`
    gives for a new file, without running the migrations again."""
    target = copy_template(path)
    db = open_database(str(target))  # at head: upgrade_to_head returns at once
    # Migrating a file that holds a schema first copies it to NAME.pre-REV-TIME.bak.
    if list(target.parent.glob(f"{target.name}.pre-*.bak")):
        db.dispose()
        raise AssertionError(f"the template copy {target} was migrated again")
    return db
