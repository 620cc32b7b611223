"""Optional SQLCipher encryption: with IOM_AUDIT_DB_KEY the file is unreadable without it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.cases import save_note
from audit.permissions import Actor
from audit.store import encryption
from audit.store.engine import DatabaseError, open_database
from cli.app import run
from tests.helpers import files_containing, make_inspection

pytestmark = pytest.mark.skipif(not encryption.available(),
                                reason="sqlcipher3 is not installed (the encryption extra)")
KEY = "correct horse 'battery' staple"
MARKER = "NOTE-ONLY-THE-KEY-REVEALS"


@pytest.fixture
def encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(encryption.ENV_KEY, KEY)
    path = tmp_path / "secret.db"
    db = open_database(str(path))
    case_id = make_inspection(db, cases=1)[0]
    save_note(db, case_id, "2.1.1", MARKER, actor=Actor("Ann"), expected_version=1)
    db.dispose()
    return path


def test_the_file_is_unreadable_without_the_key(encrypted: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert files_containing(encrypted, MARKER.encode()) == []
    assert not encrypted.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(encrypted).execute("SELECT * FROM answer").fetchall()
    monkeypatch.delenv(encryption.ENV_KEY)
    with pytest.raises(DatabaseError, match="IOM_AUDIT_DB_KEY"):
        open_database(str(encrypted))
    monkeypatch.setenv(encryption.ENV_KEY, "wrong key")
    with pytest.raises(DatabaseError, match="not a database"):
        open_database(str(encrypted))


def test_with_the_key_everything_works(encrypted: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    db = open_database(str(encrypted))
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT note FROM answer").scalar() == MARKER
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()
    assert run(["--db", str(encrypted), "history", "C-0001", "--json", "-"]) == 0
    assert MARKER in capsys.readouterr().out
    # Backups are encrypted with the same key, and restore reads them.
    copy = tmp_path / "copy.db"
    assert run(["--db", str(encrypted), "backup", str(copy)]) == 0
    assert files_containing(copy, MARKER.encode()) == []
    fresh = tmp_path / "restored.db"
    assert run(["--db", str(fresh), "restore", str(copy)]) == 0
    db = open_database(str(fresh))
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT note FROM answer").scalar() == MARKER
    db.dispose()


def test_a_key_without_sqlcipher_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    def missing() -> None:
        raise encryption.EncryptionUnavailable("IOM_AUDIT_DB_KEY is set but SQLCipher is "
                                               "not installed")

    monkeypatch.setenv(encryption.ENV_KEY, KEY)
    monkeypatch.setattr(encryption, "_module", missing)
    with pytest.raises(DatabaseError, match="SQLCipher is not installed"):
        open_database(str(tmp_path / "x.db"))
    assert not (tmp_path / "x.db").exists()


def test_the_background_reads_open_the_file_with_the_key(encrypted: Path) -> None:
    """compare and the report read the answers in threads, each on a connection of its
    own (`answer_lists.prefetch`, `tally.shared_answer_scan`): each must open the
    encrypted file with the key, as the main connection does, and read the same lists."""
    from audit.cases import record_answer
    from audit.views import answer_lists

    db = open_database(str(encrypted))
    try:
        with db.engine.connect() as conn:
            case_id, version = conn.exec_driver_sql(
                'SELECT id, version FROM "case"').one()
            inspection_id = conn.exec_driver_sql("SELECT id FROM inspection").scalar_one()
        record_answer(db, int(case_id), "2.1.1", "yes", actor=Actor("Ann"),
                      expected_version=int(version))
        here = answer_lists.read_lists(db, ["2.1.1"], [int(inspection_id)], "primary")
        assert here == [("2.1.1", "yes", 1, str(case_id))]
        prefetched = answer_lists.prefetch(db, ["2.1.1"], [int(inspection_id)], "primary")
        assert prefetched is not None
        assert prefetched.lists() == here
        assert answer_lists.scan_lists(db, ["2.1.1"], "primary") == here
    finally:
        db.dispose()
