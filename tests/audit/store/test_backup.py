"""`backup` and `restore`: consistent copies while others write, checked restores."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from audit.store.backup import check_file
from audit.store.engine import open_database
from cli.app import run
from tests.audit import workers
from tests.databases import fresh_sqlite
from tests.helpers import integrity, make_inspection


def _notes_match_trail(path: Path) -> int:
    """Every stored note equals the newest 'note' event for it (a torn copy would not)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("""
            SELECT c.case_ref || '/' || a.question_id || '/' || a.rater, a.note,
                   (SELECT e.new_value FROM audit_event e WHERE e.entity = 'note'
                     AND e.key = c.case_ref || '/' || a.question_id || '/' || a.rater
                     ORDER BY e.id DESC LIMIT 1)
            FROM answer a JOIN "case" c ON c.id = a.case_id""").fetchall()
    finally:
        conn.close()
    assert all(note == last for _, note, last in rows), rows
    return len(rows)


@pytest.mark.slow
def test_backup_while_another_process_writes_is_consistent(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    db = fresh_sqlite(path)
    cases = make_inspection(db, cases=5)
    db.dispose()
    writer = multiprocessing.get_context("fork").Process(
        target=workers.note_writer, args=(str(path), cases, time.time() + 3.0))
    writer.start()
    try:
        time.sleep(0.3)
        copies = []
        for i in range(4):
            out = tmp_path / f"copy{i}.db"
            assert run(["--db", str(path), "backup", str(out)]) == 0
            copies.append(out)
            time.sleep(0.4)
    finally:
        writer.join(10)
    assert writer.exitcode == 0
    notes = []
    for copy in copies:
        assert integrity(copy) == "ok"
        assert not Path(f"{copy}-wal").exists()  # one self-contained file
        notes.append(_notes_match_trail(copy))
        opened = open_database(str(copy))  # and the app opens it
        opened.dispose()
    assert notes[-1] > 0  # the writer was really writing while we copied


def test_backup_refuses_to_overwrite_without_force(sqlite_db, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    make_inspection(sqlite_db)
    db = str(sqlite_db.location.path)
    out = tmp_path / "b.db"
    out.write_text("precious")
    assert run(["--db", db, "backup", str(out)]) == 1
    assert "exists" in capsys.readouterr().err and out.read_text() == "precious"
    assert run(["--db", db, "backup", str(out), "--force"]) == 0
    assert check_file(out).cases == 3


@pytest.mark.postgres
def test_backup_of_postgres_points_to_pg_dump(postgres_url: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", postgres_url, "backup", str(tmp_path / "x.db")]) == 1
    assert run(["--db", postgres_url, "restore", str(tmp_path / "x.db")]) == 1
    err = capsys.readouterr().err
    assert err.count("is backed up with pg_dump") == 2 and not (tmp_path / "x.db").exists()


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A database led by Lee Lead with one inspection, and a backup of it."""
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    db = str(tmp_path / "main.db")
    assert run(["--db", db, "init", "-i", "first"]) == 0
    backup = tmp_path / "saved.db"
    assert run(["--db", db, "backup", str(backup)]) == 0
    assert run(["--db", db, "init", "-i", "second"]) == 0
    return db, backup


def _inspections(db: str) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM inspection ORDER BY id")]
    finally:
        conn.close()


def test_restore_needs_force_and_keeps_the_replaced_database(
        saved: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    db, backup = saved
    assert run(["--db", db, "restore", str(backup)]) == 1
    assert "add --force" in capsys.readouterr().err
    assert _inspections(db) == ["first", "second"]
    assert run(["--db", db, "restore", str(backup), "--force"]) == 0
    out = capsys.readouterr().out
    assert _inspections(db) == ["first"]
    kept = list(Path(db).parent.glob("main.db.replaced-*.bak"))
    assert len(kept) == 1 and _inspections(str(kept[0])) == ["first", "second"]
    assert str(kept[0]) in out
    conn = sqlite3.connect(db)
    who, what = conn.execute(
        "SELECT who, key FROM audit_event WHERE entity = 'restore'").fetchone()
    conn.close()
    assert who == "Lee Lead" and what.endswith("saved.db")


def test_restore_into_a_new_file_needs_no_force(saved: tuple[str, Path], tmp_path: Path) -> None:
    _, backup = saved
    fresh = tmp_path / "new" / "fresh.db"
    fresh.parent.mkdir()
    assert run(["--db", str(fresh), "restore", str(backup)]) == 0
    assert _inspections(str(fresh)) == ["first"]


def test_restore_refuses_a_corrupt_file(saved: tuple[str, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    db, backup = saved
    data = bytearray(backup.read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # scribble over every b-tree page header
        data[start:start + 12] = b"\xff" * 12
    backup.write_bytes(bytes(data))
    assert run(["--db", db, "restore", str(backup), "--force"]) == 1
    err = capsys.readouterr().err
    assert "integrity" in err or "not a readable" in err or "malformed" in err
    assert _inspections(db) == ["first", "second"]  # nothing touched


def test_restore_refuses_a_foreign_database_or_unknown_revision(
        saved: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, backup = saved
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert run(["--db", db, "restore", str(other), "--force"]) == 1
    assert "not an iom-audit database" in capsys.readouterr().err
    conn = sqlite3.connect(backup)
    conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    conn.commit()
    conn.close()
    assert run(["--db", db, "restore", str(backup), "--force"]) == 1
    assert "does not know" in capsys.readouterr().err
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 100)
    assert run(["--db", db, "restore", str(text), "--force"]) == 1
    assert _inspections(db) == ["first", "second"]
