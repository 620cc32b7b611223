"""Red team, messages: what opening a database may do, and what it says when it may not.

Why: a database from a newer version gave `CommandError: Can't locate revision` and a
pointless backup; `info` on another application's SQLite file silently added our nine
tables to it. Now only `init` and `demo` create a database; commands that read (info,
history, compare, tables, report, export, backup, inspectors list) never create or
migrate one; and no command - nor the app - touches another application's database or
a newer iom-audit's: each is refused in one line, before anything is copied or written.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.store.engine import open_database
from audit.store.errors import DatabaseError
from audit.store.migrate import head_revision, upgrade_to_head
from cli.app import run
from tests.databases import copy_template
from tests.helpers import make_inspection
from tests.security.messages import assert_plain, listing, sha256

READ = [["info"], ["history", "C-0001"], ["compare"], ["tables", "--json", "-"],
        ["export", "--format", "csv", "--out", "OUT"], ["inspectors", "list"],
        ["backup", "OUT/copy.db"]]
WRITE = [["import", "cases", "FILE"], ["inspectors", "add", "Ann Lee", "--role", "lead"],
         ["purge", "--inspection", "t", "--yes"]]
EVERY = READ + WRITE + [["init"], ["demo", "--cases", "5"]]


def _cli(db: Path, args: list[str], tmp_path: Path,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    args = [a.replace("OUT", str(tmp_path / "out")).replace("FILE", str(tmp_path / "c.csv"))
            for a in args]
    (tmp_path / "c.csv").write_text("case_ref,iom\nC1,yes\n", encoding="utf-8")
    code = run(["--db", str(db), *args])
    return code, capsys.readouterr().err


def _foreign(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT);"
                       "INSERT INTO contact (name) VALUES ('Someone');"
                       "CREATE TABLE invoice (id INTEGER PRIMARY KEY, total REAL);")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("args", READ + WRITE, ids=lambda a: " ".join(a[:2]))
def test_a_missing_database_is_refused_and_nothing_is_created(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    db = tmp_path / "not" / "there" / "iom.db"
    before = listing(tmp_path)
    code, err = _cli(db, args, tmp_path, capsys)
    assert code == 1
    line = assert_plain(err)
    assert "no iom-audit database at" in line and "run `iom-audit init` first" in line
    assert not (tmp_path / "not").exists()
    assert listing(tmp_path) == sorted({*before, "c.csv"})


@pytest.mark.parametrize("args", EVERY, ids=lambda a: " ".join(a[:2]))
def test_another_applications_file_is_left_byte_identical(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    db = _foreign(tmp_path / "contacts.db")
    digest, before = sha256(db), listing(tmp_path)
    code, err = _cli(db, args, tmp_path, capsys)
    assert code == 1
    line = assert_plain(err)
    assert "is not an iom-audit database" in line and "contact, invoice" in line
    assert sha256(db) == digest
    assert listing(tmp_path) == sorted({*before, "c.csv"})  # no -wal, no .bak
    conn = sqlite3.connect(db)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["contact", "invoice"]


def test_the_app_refuses_another_applications_file_and_a_missing_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.app import run_app

    db = _foreign(tmp_path / "contacts.db")
    digest = sha256(db)
    with pytest.raises(DatabaseError) as refused:
        run_app(str(db))
    assert_plain(str(refused.value))
    assert sha256(db) == digest
    with pytest.raises(DatabaseError, match="run `iom-audit init` first"):
        run_app(str(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()


def _newer(path: Path) -> Path:
    db = open_database(str(copy_template(path)))
    make_inspection(db, "t", cases=2)
    db.dispose()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("args", EVERY, ids=lambda a: " ".join(a[:2]))
def test_a_database_from_a_newer_version_says_so_and_nothing_is_copied(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    db = _newer(tmp_path / "new.db")
    digest, before = sha256(db), listing(tmp_path)
    code, err = _cli(db, args, tmp_path, capsys)
    assert code == 1
    line = assert_plain(err)
    assert "written by a newer version of iom-audit (revision f00dfeed9999)" in line
    assert "upgrade iom-audit" in line
    assert sha256(db) == digest
    assert not list(tmp_path.glob("*.bak"))
    # Only what SQLite itself keeps beside a WAL-mode file when it is read.
    assert set(listing(tmp_path)) - {*before, "c.csv"} <= {"new.db-wal", "new.db-shm"}


def test_migrating_a_newer_database_directly_copies_nothing(tmp_path: Path) -> None:
    path = _newer(tmp_path / "new.db")
    db = open_database(str(path), migrate=False)
    try:
        with pytest.raises(DatabaseError, match="newer version"):
            upgrade_to_head(db.engine, path)
    finally:
        db.dispose()
    assert not list(tmp_path.glob("*.bak"))


def _older(path: Path) -> Path:
    db = open_database(str(path), migrate=False)
    upgrade_to_head(db.engine, path, "0001")
    # Written as that version would have: plain SQL (today's code writes today's schema).
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO inspection (name, kind, question_set_id, question_set_version, "
            "created_at) VALUES ('t', 'thematic', 'iom-thematic-2019', '1.0', :at)"),
            {"at": "2024-05-01 09:00:00"})
        for ref in ("C-1", "C-2"):
            conn.execute(sa.text(
                'INSERT INTO "case" (inspection_id, case_ref, status, version, updated_at) '
                "VALUES (1, :ref, 'not_started', 1, :at)"), {"ref": ref, "at": "2024-05-01"})
    db.dispose()
    return path


@pytest.mark.skipif(head_revision() == "0001", reason="no revision older than the head")
def test_a_read_command_never_migrates_an_older_database_a_write_does_with_a_copy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _older(tmp_path / "old.db")
    digest = sha256(db)
    for args in READ:
        code, err = _cli(db, args, tmp_path, capsys)
        assert code == 1
        line = assert_plain(err)
        assert "older version of iom-audit (schema revision 0001" in line
        assert "run a command that writes" in line
    assert sha256(db) == digest and not list(tmp_path.glob("*.bak"))
    opened = open_database(str(db), purpose="write")  # what a writing command does
    with opened.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() \
            == head_revision()
    opened.dispose()
    assert len(list(tmp_path.glob("old.db.pre-*.bak"))) == 1
    code, _ = _cli(db, ["info"], tmp_path, capsys)
    assert code == 0


def test_an_empty_file_is_not_a_database_to_read(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    code, err = _cli(db, ["info"], tmp_path, capsys)
    assert code == 1 and "run `iom-audit init` first" in assert_plain(err)
    assert db.stat().st_size == 0
    code, _ = _cli(db, ["init"], tmp_path, capsys)  # init creates it
    assert code == 0
    code, _ = _cli(db, ["info"], tmp_path, capsys)
    assert code == 0
