"""Editing from a stale view of a case: conflicts only where the very item moved elsewhere."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit.cases import record_answer, save_note, update_profile
from audit.errors import ConflictError
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import AuditEvent
from tests.helpers import make_inspection

ANN, BO = Actor("Ann"), Actor("Bo")


def _events(db: Database) -> list[tuple[str, str | None, str | None]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            sa.select(AuditEvent.who, AuditEvent.field, AuditEvent.new_value)
            .where(AuditEvent.entity.in_(["answer", "note", "case"]))  # type: ignore[attr-defined]
            .order_by(AuditEvent.id))]


def test_two_inspectors_giving_the_same_answer_is_no_conflict(any_db: Database) -> None:
    case_id = make_inspection(any_db, cases=1)[0]
    record_answer(any_db, case_id, "2.1.1", "yes", actor=ANN, expected_version=1, seen=None)
    # Bo opened the case at version 1 too, and reaches the same judgement.
    change = record_answer(any_db, case_id, "2.1.1", "yes", actor=BO, expected_version=1,
                           seen=None)
    assert change.rebased
    assert [e for e in _events(any_db) if e[1] == "2.1.1"] == [("Ann", "2.1.1", "yes")]


def test_a_different_answer_from_a_stale_view_is_a_conflict(any_db: Database) -> None:
    case_id = make_inspection(any_db, cases=1)[0]
    record_answer(any_db, case_id, "2.1.1", "yes", actor=ANN, expected_version=1, seen=None)
    with pytest.raises(ConflictError):
        record_answer(any_db, case_id, "2.1.1", "no", actor=BO, expected_version=1, seen=None)


def test_same_note_and_same_profile_value_are_no_conflict(any_db: Database) -> None:
    case_id = make_inspection(any_db, cases=1)[0]
    v = save_note(any_db, case_id, "2.1.1", "seen at home", actor=ANN, expected_version=1,
                  seen=None).version
    save_note(any_db, case_id, "2.1.1", "seen at home", actor=BO, expected_version=1, seen=None)
    update_profile(any_db, case_id, {"gender": "female"}, actor=ANN, expected_version=v,
                   seen={"gender": None})
    update_profile(any_db, case_id, {"gender": "female"}, actor=BO, expected_version=v,
                   seen={"gender": None})
    with pytest.raises(ConflictError):
        update_profile(any_db, case_id, {"gender": "male"}, actor=BO, expected_version=v,
                       seen={"gender": None})
    assert [e[0] for e in _events(any_db)] == ["Ann", "Ann"]
