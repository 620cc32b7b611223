"""SQLite: the trail refuses UPDATE, DELETE and REPLACE, and `restore` refuses a file whose
triggers were dropped or whose chain is broken (issue 15, "the trail can be rewritten").

Each attack is made the way the issue found it: plain SQL on the file with sqlite3.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from audit.cases import record_answer
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from audit.store.migrate import upgrade_to_head
from audit.trail import verify_trail
from cli.app import run
from tests.helpers import make_inspection, set_role

LEAD = "Lee Lead"
FORGED = ("'2019-01-01 00:00:00.000000', 'Ann', 'answer', 1, 'C-0001/2.1.1/primary', "
          "'2.1.1', NULL, 'no'")


@pytest.fixture
def trail(sqlite_db: Database) -> Path:
    """A database with a lead and a few chained events; its file."""
    set_role(sqlite_db, LEAD, "lead")
    case_id = make_inspection(sqlite_db, cases=2)[0]
    v = record_answer(sqlite_db, case_id, "2.1.1", "yes", actor=Actor("Ann"),
                      expected_version=1).version
    record_answer(sqlite_db, case_id, "2.1.2", "no", actor=Actor("Ann"), expected_version=v)
    assert sqlite_db.location.path is not None
    return sqlite_db.location.path


def _events(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM audit_event ORDER BY id").fetchall()
    finally:
        conn.close()


ATTACKS = {
    # The attack: REPLACE deletes the row in the way without firing the delete
    # trigger, so an event could be swapped for a forged one.
    "replace into": f"REPLACE INTO audit_event (id, at, who, entity, case_id, key, field, "
                    f"old_value, new_value) VALUES (1, {FORGED})",
    "insert or replace": f"INSERT OR REPLACE INTO audit_event (id, at, who, entity, case_id, "
                         f"key, field, old_value, new_value) VALUES (1, {FORGED})",
    "replace over a chain position": f"REPLACE INTO audit_event (at, who, entity, case_id, "
                                     f"key, field, old_value, new_value, seq, hash) VALUES "
                                     f"({FORGED}, 1, '{'0' * 64}')",
    "upsert": f"INSERT INTO audit_event (id, at, who, entity, case_id, key, field, old_value, "
              f"new_value) VALUES (1, {FORGED}) ON CONFLICT (id) DO UPDATE SET "
              "new_value = excluded.new_value",
    "update a value": "UPDATE audit_event SET new_value = 'no' WHERE id = 1",
    "update who": "UPDATE audit_event SET who = 'Someone Else'",
    "re-seal a sealed event": f"UPDATE audit_event SET hash = '{'f' * 64}' WHERE id = 1",
    "renumber the chain": "UPDATE audit_event SET seq = seq + 100",
    "unseal an event": "UPDATE audit_event SET seq = NULL, hash = NULL WHERE id = 2",
    "delete": "DELETE FROM audit_event WHERE id = 1",
    "delete all": "DELETE FROM audit_event",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_the_trail_refuses(trail: Path, attack: str) -> None:
    before = _events(trail)
    conn = sqlite3.connect(trail)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(ATTACKS[attack])
        conn.commit()
    finally:
        conn.close()
    assert _events(trail) == before
    db = open_database(str(trail))
    try:
        assert verify_trail(db, actor=Actor(LEAD)).ok
    finally:
        db.dispose()


def test_a_new_event_can_still_be_written_and_sealed(trail: Path) -> None:
    """The triggers leave the two things the application does: insert, then seal."""
    conn = sqlite3.connect(trail)
    conn.execute(f"INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value, "
                 f"new_value) VALUES ({FORGED})")
    conn.execute("UPDATE audit_event SET seq = 99, hash = 'x' WHERE seq IS NULL")
    conn.rollback()
    conn.close()


# ---------------------------------------------------------------------------- restore

@pytest.fixture
def backed_up(trail: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    backup = tmp_path / "backup.db"
    assert run(["--db", str(trail), "backup", str(backup)]) == 0
    return backup


def _restore_refused(trail: Path, backup: Path, capsys: pytest.CaptureFixture[str],
                     *words: str) -> None:
    capsys.readouterr()
    before = _events(trail)
    assert run(["--db", str(trail), "restore", str(backup), "--force"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "restore refused" in err, err
    for word in words:
        assert word in err, err
    assert _events(trail) == before  # nothing replaced


@pytest.mark.parametrize("trigger", ["audit_event_no_update", "audit_event_no_delete",
                                     "audit_event_no_replace"])
def test_restore_refuses_a_backup_whose_trigger_was_dropped(
        trail: Path, backed_up: Path, trigger: str, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(backed_up)
    conn.execute(f"DROP TRIGGER {trigger}")
    conn.commit()
    conn.close()
    _restore_refused(trail, backed_up, capsys, f"trigger {trigger}")


def test_restore_refuses_a_backup_whose_trigger_no_longer_raises(
        trail: Path, backed_up: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(backed_up)
    conn.execute("DROP TRIGGER audit_event_no_delete")
    conn.execute("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                 "BEGIN SELECT 1; END")
    conn.commit()
    conn.close()
    _restore_refused(trail, backed_up, capsys, "audit_event_no_delete")


def test_restore_refuses_a_backup_with_an_edited_event(
        trail: Path, backed_up: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(backed_up)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_update'"
                       ).fetchone()[0]
    conn.execute("DROP TRIGGER audit_event_no_update")
    conn.execute("UPDATE audit_event SET new_value = 'no' WHERE id = 1")
    conn.execute(sql)
    conn.commit()
    conn.close()
    _restore_refused(trail, backed_up, capsys, "broken at event 1 (seq 1")


def test_restore_refuses_an_unchained_backup_whose_triggers_were_dropped(
        tmp_path: Path, trail: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A backup from before the chain (revision 0002) is checked for its triggers."""
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    old = tmp_path / "old.db"
    db = open_database(str(old), migrate=False)
    upgrade_to_head(db.engine, old, "0002")
    db.dispose()
    conn = sqlite3.connect(old)
    conn.execute("DROP TRIGGER audit_event_no_update")
    conn.commit()
    conn.close()
    _restore_refused(trail, old, capsys, "trigger audit_event_no_update")


def test_restore_accepts_an_intact_backup(trail: Path, backed_up: Path) -> None:
    assert run(["--db", str(trail), "restore", str(backed_up), "--force"]) == 0
    db = open_database(str(trail))
    try:
        assert verify_trail(db, actor=Actor(LEAD)).ok
    finally:
        db.dispose()
