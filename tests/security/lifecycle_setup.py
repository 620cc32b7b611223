"""Set-up shared by the lifecycle red-team tests: fully answered cases, signed off.

Cases are rated on iom-thematic-2019 (`tests.helpers.make_inspection`: post-release IOM
and non-IOM cases, RoSH high, no domestic abuse recorded). `sign_off` answers every
required question through the use cases, as an inspector in the app would, and moves
the case on as a lead would.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from audit import cases
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import AuditEvent
from audit.views.progress import question_set_for
from tests.helpers import required_answers, set_role

LEAD, INSPECTOR, OTHER = Actor("Lee Lead"), Actor("Ivy Inspector"), Actor("Oli Other")


def people(db: Database) -> None:
    """A lead, an inspector and a second inspector."""
    set_role(db, LEAD.name, "lead")
    set_role(db, INSPECTOR.name, "inspector")
    set_role(db, OTHER.name, "inspector")


def version(db: Database, case_id: int) -> int:
    return cases.load_case(db, case_id, actor=LEAD).version


def status(db: Database, case_id: int) -> str:
    return cases.load_case(db, case_id, actor=LEAD).status


def answer_all(db: Database, case_id: int, actor: Actor = INSPECTOR) -> None:
    """Answer every required question that applies (as judged once complete)."""
    view = cases.load_case(db, case_id, actor=LEAD)
    qs = question_set_for(db, view.inspection_id)
    for qid, value in required_answers(qs, {**view.rule_case(), "status": "complete"}).items():
        cases.record_answer(db, case_id, qid, value, actor=actor,
                            expected_version=version(db, case_id))


def sign_off(db: Database, case_id: int, *through: str) -> None:
    """Answer everything, then move the case through these statuses (the lead)."""
    answer_all(db, case_id)
    move_through(db, case_id, *through)


def move_through(db: Database, case_id: int, *through: str) -> None:
    """Move a case (answered already) through these statuses, as the lead."""
    for target in through:
        cases.set_status(db, case_id, target, actor=LEAD, expected_version=version(db, case_id))


def events(db: Database, case_id: int) -> list[dict[str, Any]]:
    """The case's trail, oldest first."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(table).where(table.c.case_id == case_id)
                            .order_by(table.c.id)).mappings().all()
    return [dict(r) for r in rows]


def status_moves(db: Database, case_id: int) -> list[tuple[str, str | None, str | None]]:
    """(who, old, new) of each status event, and ('reason', who, text) after each reason."""
    out: list[tuple[str, str | None, str | None]] = []
    for e in events(db, case_id):
        if e["entity"] == "case" and e["field"] == "status":
            out.append((e["who"], e["old_value"], e["new_value"]))
        elif e["entity"] == "case" and e["field"] == "reason":
            out.append(("reason", e["who"], e["new_value"]))
    return out
