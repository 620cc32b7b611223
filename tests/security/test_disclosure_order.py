"""Disclosure is recorded before data leaves: no file under a final name without its event.

Why (issue 15): "Export files are written before the export event. A locked database, a
SIGKILL or a full disk leaves identifiable files on disk with no record."
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.store import engine as store_engine
from audit.store.engine import Database
from audit.store.staging import TEMP_PREFIX
from tests.audit.imports.helpers import cli, populated
from tests.security.disclosure_kit import events, leftovers


@pytest.fixture
def db(sqlite_db: Database, tmp_path: Path) -> Database:
    populated(sqlite_db, tmp_path)
    return sqlite_db


def _path(db: Database) -> Path:
    assert db.location.path is not None
    return db.location.path


@pytest.fixture
def locked(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[sqlite3.Connection]:
    """Another program holds the write lock (and our busy timeout is short)."""
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    db.engine.dispose()  # new connections take the short timeout
    other = sqlite3.connect(_path(db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.parametrize("command", [
    ["export", "--format", "csv"], ["export", "--format", "stata", "--long"],
    ["export", "--format", "xlsx", "--pseudonymise"]])
def test_locked_database_export_leaves_no_file_and_no_event(
        db: Database, tmp_path: Path, locked: sqlite3.Connection, command: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert cli(db, *command, "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "the disclosure could not be recorded (the database is busy" in err
    assert "SELECT" not in err and "INSERT" not in err and "Error" in err
    assert not out.exists()  # the folder it made is taken back too
    locked.execute("ROLLBACK")
    locked.execute("BEGIN IMMEDIATE")
    assert events(_path(db), "export") == []


def test_locked_database_report_leaves_no_file(db: Database, tmp_path: Path,
                                               locked: sqlite3.Connection,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "reports").mkdir()
    assert cli(db, "report", "--out", str(tmp_path / "reports" / "r.pdf"), "--xlsx",
               str(tmp_path / "reports" / "r.xlsx"), "--markdown",
               str(tmp_path / "reports" / "md")) == 1
    assert "could not be recorded" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "reports")) == []
    assert cli(db, "tables", "--json", str(tmp_path / "reports" / "t.json")) == 1
    assert sorted(os.listdir(tmp_path / "reports")) == []


def test_full_disk_leaves_no_file_and_no_event(db: Database, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from audit.exports import exporters

    real = exporters.write_codebook

    def full(variables: object, path: Path) -> None:
        real(variables, path)  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(exporters, "write_codebook", full)
    out = tmp_path / "out"
    out.mkdir()
    assert cli(db, "export", "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "could not write the files (No space left on device); nothing was published" in err
    assert os.listdir(out) == []
    assert events(_path(db), "export") == []


def test_a_role_taken_away_meanwhile_records_nothing_and_publishes_nothing(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The event's transaction checks the role again: refused there, the files never appear."""
    from audit.exports import exporters
    from tests.helpers import set_role

    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Rita Researcher")
    set_role(db, "Lee Lead", "lead")
    set_role(db, "Rita Researcher", "researcher")
    real = exporters.write_codebook

    def demoted_meanwhile(variables: object, path: Path) -> None:
        real(variables, path)  # type: ignore[arg-type]
        set_role(db, "Rita Researcher", "inspector")
        with db.write() as conn:  # an inspector may export; take export itself away
            conn.exec_driver_sql("UPDATE inspector SET role = 'researcher' WHERE name = "
                                 "'Rita Researcher'")
        from audit import permissions

        monkeypatch.setitem(permissions.PERMISSIONS, "export",
                            (("lead",), "export data"))

    monkeypatch.setattr(exporters, "write_codebook", demoted_meanwhile)
    out = tmp_path / "out"
    assert cli(db, "export", "--out", str(out)) == 1
    assert "only the lead role may export data" in capsys.readouterr().err
    assert not out.exists() and events(_path(db), "export") == []


def test_a_killed_run_is_cleaned_by_the_next_and_a_running_one_is_left(
        db: Database, tmp_path: Path) -> None:
    """Abandoned staging folders (their lock died with their process) are removed by
    the next command writing there; one whose lock is held is not touched."""
    import fcntl
    import multiprocessing

    out = tmp_path / "out"
    out.mkdir()
    abandoned = out / f"{TEMP_PREFIX}deadbeef00000000"
    abandoned.mkdir(mode=0o700)
    (abandoned / "cases.csv").write_text("identifiable, half written")
    running = out / f"{TEMP_PREFIX}cafe000000000000"
    running.mkdir(mode=0o700)
    # A live holder in another process (flock belongs to the open file, not the name).
    ready = multiprocessing.get_context("fork").Event()
    stop = multiprocessing.get_context("fork").Event()

    def hold() -> None:
        fd = os.open(running, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        ready.set()
        stop.wait(30)

    holder = multiprocessing.get_context("fork").Process(target=hold)
    holder.start()
    try:
        assert ready.wait(10)
        assert cli(db, "export", "--out", str(out)) == 0
        assert not abandoned.exists()
        assert running.exists()
    finally:
        stop.set()
        holder.join(10)
    assert cli(db, "export", "--out", str(out), "--force") == 0
    assert leftovers(out) == []
