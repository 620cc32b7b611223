"""Red team, messages: failures in the middle of work are one line of words.

Why: several failures printed raw SQL with its parameters and an SQLAlchemy URL. Each
failure here is produced for real where it can be (a database another program holds
locked, a database that runs out of room, a wrong SQLCipher key, a disk that is full
while a file is written), on the command line and in the app, and its message must be
one line with no SQL, no parameters and no exception class name.
"""

from __future__ import annotations

import errno
import sqlite3
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from audit.errors import AuditError
from audit.store import encryption
from audit.store import engine as store_engine
from audit.store.errors import describe, message, speak_plainly
from cli.app import run
from tests.security.messages import assert_plain

SECRET = "S3CRET-PARAMETER"


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    path = tmp_path / "t.db"
    assert run(["--db", str(path), "init", "--inspection", "t"]) == 0
    return path


def _cases(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text("case_ref,iom,site\n" + "".join(f"C{i:05d},yes,Leeds\n" for i in range(n)),
                    encoding="utf-8")
    return path


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Another program holding the write lock (as a long import or a backup would)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def _case_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute('SELECT COUNT(*) FROM "case"').fetchone()[0])
    finally:
        conn.close()


def test_a_locked_database_on_the_command_line(db_path: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", 200)  # not 10 s per test
    capsys.readouterr()
    with _locked(db_path):
        assert run(["--db", str(db_path), "import", "cases", str(_cases(tmp_path, 3))]) == 1
    line = assert_plain(capsys.readouterr().err)
    assert "the database is busy" in line and "nothing was changed" in line
    assert _case_count(db_path) == 0


def test_a_full_database_on_the_command_line(db_path: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    pragmas = store_engine._sqlite_pragmas

    def no_room(dbapi_connection: Any, record: Any) -> None:
        # SQLite's own "database or disk is full" (SQLITE_FULL): the file may not grow.
        pragmas(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages + 1}")
        cursor.close()

    monkeypatch.setattr(store_engine, "_sqlite_pragmas", no_room)
    capsys.readouterr()
    assert run(["--db", str(db_path), "import", "cases", str(_cases(tmp_path, 3000))]) == 1
    line = assert_plain(capsys.readouterr().err)
    assert "the disk is full" in line and "nothing was changed" in line
    assert _case_count(db_path) == 0


def test_a_full_disk_while_writing_a_file(db_path: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", str(db_path), "import", "cases", str(_cases(tmp_path, 2))]) == 0

    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    capsys.readouterr()
    out = tmp_path / "history.json"
    assert run(["--db", str(db_path), "history", "C00000", "--json", str(out)]) == 1
    line = assert_plain(capsys.readouterr().err)
    assert line == f"Error: the disk is full (writing {out}): free some space and try again"


def test_raw_sql_and_parameters_never_reach_the_user(db_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    # What used to be printed whole: "(sqlite3.IntegrityError) UNIQUE constraint failed:
    # ... [SQL: INSERT INTO ...] [parameters: (...)]".
    def race(*_args: object, **_kwargs: object) -> None:
        raise sa.exc.IntegrityError(
            "INSERT INTO site (inspection_id, name) VALUES (?, ?)", (1, SECRET),
            sqlite3.IntegrityError("UNIQUE constraint failed: site.inspection_id, site.name"))

    import audit.inspections  # `info` looks it up there when it runs

    monkeypatch.setattr(audit.inspections, "status_counts", race)
    capsys.readouterr()
    assert run(["--db", str(db_path), "info"]) == 1
    line = assert_plain(capsys.readouterr().err, secret=SECRET)
    assert "someone else saved the same site at the same moment" in line

    def bug(*_args: object, **_kwargs: object) -> None:
        raise KeyError("inspection")

    monkeypatch.setattr(audit.inspections, "status_counts", bug)
    assert run(["--db", str(db_path), "info"]) == 1
    assert "run with --debug" in assert_plain(capsys.readouterr().err)


def test_a_wrong_key_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capfd: pytest.CaptureFixture[str]) -> None:
    # The mapping, whether or not SQLCipher is installed: SQLCipher's DB-API error.
    cipher = types.new_class("DatabaseError", (Exception,))
    cipher.__module__ = "sqlcipher3.dbapi2"
    error = sa.exc.DatabaseError("PRAGMA key = 'x'", None, cipher("file is not a database"))
    keyed = assert_plain(describe(error, keyed=True) or "")
    assert "IOM_AUDIT_DB_KEY does not open it" in keyed and "'x'" not in keyed
    assert "set IOM_AUDIT_DB_KEY" in assert_plain(describe(error, keyed=False) or "")
    if not encryption.available():
        pytest.skip("sqlcipher3 is not installed: the mapping alone was checked")
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    monkeypatch.setenv(encryption.ENV_KEY, "the right key")
    path = tmp_path / "secret.db"
    assert run(["--db", str(path), "init"]) == 0
    monkeypatch.setenv(encryption.ENV_KEY, "hunter2-WRONG")
    capfd.readouterr()
    for args in (["info"], ["import", "cases", str(_cases(tmp_path, 1))], ["init"]):
        assert run(["--db", str(path), *args]) == 1
        # capfd: SQLCipher's own lines would go to the file descriptor, not sys.stderr.
        line = assert_plain(capfd.readouterr().err, secret="hunter2-WRONG")
        assert "the key in IOM_AUDIT_DB_KEY does not open it" in line


def test_the_engine_the_app_uses_raises_words_that_are_still_sqlalchemy_errors(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    db = store_engine.open_database(str(db_path), purpose="write")
    speak_plainly(db.engine)
    try:
        with _locked(db_path), pytest.raises(AuditError) as refused, db.write() as conn:
            conn.exec_driver_sql("INSERT INTO site (inspection_id, name) VALUES (1, ?)",
                                 (SECRET,))
        assert isinstance(refused.value, sa.exc.OperationalError)  # a retry still sees it
        assert "the database is busy" in assert_plain(str(refused.value), secret=SECRET)
        assert assert_plain(message(refused.value)) == str(refused.value)
    finally:
        db.dispose()


async def test_the_app_shows_a_locked_database_and_carries_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.tui.conftest import INSPECTOR, build_db, case_id
    from tests.tui.test_rating_flow import SIZE, open_first_case
    from tui.app import IomAuditApp
    from tui.screens.case import CaseScreen

    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", INSPECTOR)
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", 300)
    db = build_db(tmp_path / "app.db")
    app = IomAuditApp(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_first_case(app, pilot)
            with _locked(tmp_path / "app.db"):
                await pilot.press("y")
                await pilot.pause()
            shown = [n.message for n in app._notifications]
            assert any("the database is busy" in m for m in shown), shown
            for m in shown:
                assert_plain(m)
            assert isinstance(app.screen, CaseScreen) and app.is_running
            await pilot.press("y")  # the lock is gone: the same key now saves
            await pilot.pause()
            assert screen.values.get("2.1.1") == "yes"
    finally:
        db.dispose()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        stored = conn.execute("SELECT value FROM answer WHERE case_id = ?",
                              (case_id(db, "C0000"),)).fetchall()
    assert stored == [("yes",)]
