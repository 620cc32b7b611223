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

Bigger databases that several test files build the same way (the demo) are built once
per test session, shared by every worker through a lock, and copied: `built_once`.

Tests of migration itself, of a first open (`init` on a new file), of encryption
(SQLCipher files cannot be copied from a plain template) or of a missing file still call
`open_database` on a new path.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit.store.engine import Database, open_database
from audit.store.migrate import head_revision

Build = Callable[[Database], Any]  # fills a database, returns a JSON value (`prepare`)
Prepare = Callable[[str, str, Build], tuple[Database, Any]]  # the `prepare` fixture

_folder: list[Path] = []  # where this process keeps its template (set by conftest)
_shared: list[Path] = []  # where every worker of this session keeps built_once files
_template: list[Path] = []
_head: list[str] = []


def configure(folder: Path, shared: Path) -> None:
    """Keep the template in `folder` (a session temporary directory of this process), and
    the files built once for the whole session in `shared` (seen by every worker)."""
    _folder[:] = [folder]
    _shared[:] = [shared]


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
        _fold_wal(path)
        conn = sqlite3.connect(path)
        try:
            (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
        assert revision == head(), f"the template is at {revision}, not {head()}"
        _template.append(path)
    return _template[0]


def _fold_wal(path: Path) -> None:
    """Fold the write-ahead log into the main file, so that the file alone is the database
    (the last connection closing removes the then empty -wal and -shm files)."""
    conn = sqlite3.connect(path)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, f"{path} is still in use"
    finally:
        conn.close()
    assert not Path(f"{path}-wal").exists(), f"the WAL of {path} was not folded in"


def built_once(name: str, build: Callable[[Path], None]) -> Path:
    """The SQLite file `build(path)` makes, built once per test session and shared by every
    worker: the first to ask builds it (the others wait on a lock), later ones find it.

    The file is shared, so it is never opened for writing: take a copy (`copy_built`).
    Several test files build the demo (2-3 s of CPU each) only to read it, or copy it
    before writing.
    """
    if not _shared:
        raise RuntimeError("tests.databases.configure() was not called (tests/conftest.py)")
    final = _shared[0] / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.db"
    with open(f"{final}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not final.exists():
            work = final.with_suffix(".building")
            for leftover in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
                leftover.unlink(missing_ok=True)
            build(work)
            _fold_wal(work)
            os.replace(work, final)  # complete, or not there at all
    return final


def copy_built(name: str, build: Callable[[Path], None], target: Path | str) -> Path:
    """A private copy at `target` (a new path) of what `built_once(name, build)` gives."""
    path = Path(target)
    if path.exists():
        raise FileExistsError(f"{path} exists: a copy needs a new path")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built_once(name, build), path)
    return path


def default_demo(target: Path | str, builder: str) -> Path:
    """A copy at `target` of the default demo (`build_demo`) built by `builder`, who
    becomes its lead and the author of its trail."""
    def build(path: Path) -> None:
        from audit.demo.build import build_demo
        from audit.permissions import Actor

        db = fresh_sqlite(path)
        try:
            build_demo(db, actor=Actor(builder))
        finally:
            db.dispose()

    return copy_built(f"demo-{builder}", build, target)


def _run_demo(path: Path) -> None:
    from cli.app import run

    os._exit(run(["--db", str(path), "demo"]))


def cli_demo(target: Path | str) -> Path:
    """A copy at `target` of what `iom-audit --db FILE demo` makes, run with this
    process's identity (IOM_AUDIT_INSPECTOR, else the OS login), as the command would."""
    def build(path: Path) -> None:
        # In a forked child: the command run in-process keeps its connections open, and
        # the file must be closed by everyone before its log can be folded in.
        import multiprocessing

        child = multiprocessing.get_context("fork").Process(target=_run_demo, args=(path,))
        child.start()
        child.join()
        assert child.exitcode == 0, f"iom-audit demo exited {child.exitcode}"

    who = os.environ.get("IOM_AUDIT_INSPECTOR") or getpass.getuser()
    return copy_built(f"cli-demo-{who}", build, target)


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
