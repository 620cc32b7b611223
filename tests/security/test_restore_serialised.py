"""Restores keep every replaced database and run one at a time; killed backups leave nothing.

Why (issue 15): "The kept copy is named by the second, so two restores in one second
overwrite it. The replaced database was lost." "Restores are not serialised."
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from audit import backups
from audit.permissions import Actor
from audit.store import backup as store_backup
from audit.store.backup import check_file
from cli.app import run
from tests.databases import cli_demo
from tests.security.disclosure_kit import leftovers, outside_file


def _inspections(db: Path | str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM inspection ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A database led by Lee Lead holding 'first' and 'second', and a backup of 'first'."""
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    db = tmp_path / "main.db"
    assert run(["--db", str(db), "init", "-i", "first"]) == 0
    backup = tmp_path / "saved.db"
    assert run(["--db", str(db), "backup", str(backup)]) == 0
    assert run(["--db", str(db), "init", "-i", "second"]) == 0
    return db, backup


def test_two_restores_in_one_second_keep_two_distinct_copies(
        saved: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db, backup = saved
    # The same clock reading for both: the names still differ (and are made with O_EXCL).
    monkeypatch.setattr(store_backup, "_stamp", lambda: "20260101T000000.000000Z")
    assert run(["--db", str(db), "restore", str(backup), "--force"]) == 0
    assert run(["--db", str(db), "restore", str(backup), "--force"]) == 0
    kept = sorted(db.parent.glob("main.db.replaced-*.bak"))
    assert len(kept) == 2
    contents = sorted(tuple(_inspections(k)) for k in kept)
    assert contents == [("first",), ("first", "second")]  # the original is not lost


def test_two_restores_at_once_run_one_after_the_other(
        saved: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db, backup = saved
    intervals: list[tuple[float, float]] = []
    real_restore = store_backup.restore

    def slow_restore(*args: object, **kwargs: object) -> store_backup.Restored:
        start = time.monotonic()
        time.sleep(0.5)  # long enough for the other to start meanwhile
        try:
            return real_restore(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            intervals.append((start, time.monotonic()))

    monkeypatch.setattr(store_backup, "restore", slow_restore)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            backups.restore(str(db), backup, actor=Actor("Lee Lead"), force=True)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    (a0, a1), (b0, b1) = sorted(intervals)
    assert a1 <= b0, f"the restores overlapped: {intervals}"
    assert len(set(db.parent.glob("main.db.replaced-*.bak"))) == 2
    assert _inspections(db) == ["first"]


def test_a_restore_while_another_holds_the_lock_is_refused_with_one_line(
        saved: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    db, backup = saved
    monkeypatch.setattr(store_backup, "RESTORE_WAIT_S", 0.3)
    with store_backup.restore_lock(db):  # another restore is running
        started = time.monotonic()
        assert run(["--db", str(db), "restore", str(backup), "--force"]) == 1
        assert time.monotonic() - started >= 0.3  # it waited briefly first
    err = capsys.readouterr().err
    assert err == f"Error: another restore of {db} is running: try again when it has " \
                  "finished\n"
    assert _inspections(db) == ["first", "second"]  # untouched
    assert list(db.parent.glob("main.db.replaced-*.bak")) == []


def test_two_restore_processes_at_once_both_finish(saved: tuple[Path, Path]) -> None:
    """Real processes, started together: serialised by the lock, each keeps its copy."""
    db, backup = saved
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_restore_child, args=(str(db), str(backup)))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    kept = sorted(db.parent.glob("main.db.replaced-*.bak"))
    assert len(kept) == 2 and all(check_file(k).revision for k in kept)
    assert _inspections(db) == ["first"]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def _restore_child(db: str, backup: str) -> None:
    os.environ["IOM_AUDIT_INSPECTOR"] = "Lee Lead"
    os._exit(run(["--db", db, "restore", backup, "--force"]))


def test_backup_refuses_a_planted_link_even_with_force(
        saved: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = saved
    victim = outside_file(tmp_path)
    link = tmp_path / "nightly.db"
    link.symlink_to(victim)
    assert run(["--db", str(db), "backup", str(link), "--force"]) == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert victim.read_text() == "precious: not yours to overwrite\n"
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database (about 37 MB): a backup takes long enough to be interrupted."""
    return cli_demo(tmp_path_factory.mktemp("backups") / "demo.db")


def _backup_child(db: str, out: str) -> None:
    os._exit(run(["--db", db, "backup", out]))


@pytest.fixture(scope="module")
def whole_backup(big_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[float, int]:
    """How long one whole backup of `big_db` takes here, and how many cases it holds.

    Measured once for the file, not once per seed: the kills are spread over this time,
    so a change of load only moves some of them before or after the end (both outcomes
    are checked), and a backup more per seed was a third of the test's time."""
    ctx = multiprocessing.get_context("fork")
    copy = tmp_path_factory.mktemp("timing") / "t.db"
    started = time.monotonic()
    timing = ctx.Process(target=_backup_child, args=(str(big_db), str(copy)))
    timing.start()
    timing.join(120)
    assert timing.exitcode == 0
    return time.monotonic() - started, check_file(copy).cases


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_a_killed_backup_leaves_no_partial_file(big_db: Path, whole_backup: tuple[float, int],
                                                tmp_path: Path, seed: int) -> None:
    ctx = multiprocessing.get_context("fork")
    took, cases = whole_backup
    out = tmp_path / "nightly" / "copy.db"
    out.parent.mkdir()
    proc = ctx.Process(target=_backup_child, args=(str(big_db), str(out)))
    proc.start()
    proc.join(random.Random(seed).uniform(0.1, 0.95) * took)  # or sooner if it ended
    assert proc.pid is not None
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    # Under the final name there is nothing, or a complete, checked copy.
    names = sorted(p.name for p in out.parent.iterdir() if not p.name.startswith("."))
    assert names in ([], ["copy.db"])
    if names:
        assert check_file(out).cases == cases
    # The next backup into the folder removes whatever the killed one left.
    assert run(["--db", str(big_db), "backup", str(tmp_path / "nightly" / "again.db")]) == 0
    assert leftovers(out.parent) == []


def _backup_child_killed_after_copy(db: str, out: str) -> None:
    from audit.store import backup as module

    real = module.copy_database

    def copy_then_die(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGKILL)

    module.copy_database = copy_then_die
    os._exit(run(["--db", db, "backup", out]))


def test_a_backup_killed_after_its_copy_leaves_only_a_staging_folder_the_next_removes(
        saved: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = saved
    out = tmp_path / "nightly" / "copy.db"
    out.parent.mkdir()
    proc = multiprocessing.get_context("fork").Process(
        target=_backup_child_killed_after_copy, args=(str(db), str(out)))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL
    assert not out.exists()
    assert leftovers(out.parent)  # the whole copy, under a temporary name only
    assert run(["--db", str(db), "backup", str(out)]) == 0
    assert leftovers(out.parent) == [] and check_file(out).inspections == 2
