"""Retention: `purge` removes an inspection's case-level data and leaves no trace of it."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.cases import record_answer, save_note
from audit.drafts import save_draft
from audit.permissions import Actor
from audit.purge import REDACTED, purge_inspection, stored_snapshot
from audit.store.engine import Database, open_database
from cli.app import run
from tests.databases import fresh_sqlite
from tests.helpers import (
    FREE_QUESTIONS,
    answers,
    files_containing,
    integrity,
    make_inspection,
    set_role,
)

MARKER = "ZEBRA-7f3a-secret-disclosure"


def _fill(db: Database, name: str, marker: str, cases: int = 6) -> list[int]:
    ids = make_inspection(db, name, cases=cases, prefix=name[:3].upper(), site=f"{name} site")
    for case_id in ids:
        v = 1
        for qid in FREE_QUESTIONS[:5]:
            v = record_answer(db, case_id, qid, "yes" if case_id % 3 else "no", actor=Actor("Ann"),
                              expected_version=v).version
        v = save_note(db, case_id, "2.1.1", f"{marker} case {case_id} was {marker}",
                      actor=Actor("Ann"), expected_version=v).version
        # A note edited twice: the old text is in the trail and in freed pages.
        save_note(db, case_id, "2.1.2", f"first {marker}", actor=Actor("Ann"), expected_version=v)
        save_draft(db, case_id, "2.1.3", f"draft {marker}", actor=Actor("Ann"))
    return ids


def _events(db: Database, case_ids: list[int]) -> list[tuple[str | None, str | None]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT old_value, new_value FROM audit_event WHERE case_id IN "
            f"({', '.join(map(str, case_ids))})")).all()]


@pytest.mark.slow
def test_purge_leaves_no_trace_in_the_database_files(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    path = tmp_path / "retain.db"
    db = fresh_sqlite(path)
    set_role(db, "Lee Lead", "lead")
    gone = _fill(db, "old-inspection", MARKER)
    kept = _fill(db, "current", "KEEP-THIS-NOTE")
    before = {k: v for k, v in answers(db).items() if k[0] in kept}
    db.dispose()
    assert files_containing(path, MARKER.encode())  # the test can see the marker at all

    assert run(["--db", str(path), "purge", "--inspection", "old-inspection", "--yes",
                "--snapshot", str(tmp_path / "aggregate.json")]) == 0
    out = capsys.readouterr().out
    assert "6 case(s)" in out and "6 draft(s)" in out and "1 site(s)" in out

    assert files_containing(path, MARKER.encode()) == []
    assert files_containing(path, MARKER.encode("utf-16-le")) == []
    assert integrity(path) == "ok"
    db = open_database(str(path))
    try:
        assert {k: v for k, v in answers(db).items() if k[0] in kept} == before
        assert not [k for k in answers(db) if k[0] in gone]
        events = _events(db, gone)
        assert events and all(v in (None, REDACTED) for e in events for v in e)
        assert any(v == "KEEP-THIS-NOTE case" or "KEEP-THIS-NOTE" in (v or "")
                   for e in _events(db, kept) for v in e)
        snapshot = stored_snapshot(db, "old-inspection")
        assert snapshot is not None and snapshot["tables"]
        assert snapshot == json.loads((tmp_path / "aggregate.json").read_text())
        with db.engine.connect() as conn:
            who, removed = conn.exec_driver_sql(
                "SELECT who, old_value FROM audit_event WHERE entity = 'purge'").one()
            assert who == "Lee Lead" and json.loads(removed)["notes"] == 12
            # The append-only trigger is back in force.
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                conn.exec_driver_sql("UPDATE audit_event SET new_value = 'x'")
    finally:
        db.dispose()


def test_purge_asks_for_the_inspection_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    path = str(tmp_path / "ask.db")
    assert run(["--db", path, "init", "-i", "insp"]) == 0
    db = open_database(path)
    ids = make_inspection(db, "old", cases=2)
    db.dispose()
    monkeypatch.setattr("sys.stdin", io.StringIO("ol\n"))
    assert run(["--db", path, "purge", "-i", "old"]) == 1
    assert "not confirmed: nothing was purged" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("old\n"))
    assert run(["--db", path, "purge", "-i", "old"]) == 0
    db = open_database(path)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql(
            f'SELECT COUNT(*) FROM "case" WHERE id IN ({ids[0]}, {ids[1]})').scalar() == 0
    db.dispose()


def test_purging_an_unknown_inspection_is_a_clean_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    path = str(tmp_path / "u.db")
    assert run(["--db", path, "init", "-i", "insp"]) == 0
    assert run(["--db", path, "purge", "-i", "nope", "--yes"]) == 1
    assert "no inspection named 'nope'" in capsys.readouterr().err


@pytest.mark.postgres
def test_purge_on_postgres_redacts_and_keeps_the_trail_append_only(postgres_db: Database
                                                                   ) -> None:
    set_role(postgres_db, "Lee Lead", "lead")
    gone = _fill(postgres_db, "old-inspection", MARKER, cases=3)
    kept = _fill(postgres_db, "current", "KEEP", cases=2)
    result = purge_inspection(postgres_db, "old-inspection", actor=Actor("Lee Lead"))
    assert result.removed["cases"] == 3 and result.snapshot["tables"]
    assert not [k for k in answers(postgres_db) if k[0] in gone]
    assert len([k for k in answers(postgres_db) if k[0] in kept]) == 2 * 5
    events = _events(postgres_db, gone)
    assert events and all(v in (None, REDACTED) for e in events for v in e)
    with postgres_db.engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT COUNT(*) FROM audit_event WHERE old_value LIKE %s OR new_value LIKE %s",
            (f"%{MARKER}%", f"%{MARKER}%")).scalar() == 0
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            conn.exec_driver_sql("UPDATE audit_event SET new_value = 'x'")
