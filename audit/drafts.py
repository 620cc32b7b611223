"""Notes being typed: kept every few seconds so a crash never loses them.

A draft is offered back when its case is next opened and is deleted once its note is
saved (`audit.cases.save_note`) or the person discards it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit.people import person_id
from audit.permissions import Actor, rating_action, require
from audit.store.engine import Database
from audit.store.models import Inspector, NoteDraft, utcnow
from audit.text_rules import check_note


def save_draft(db: Database, case_id: int, question_id: str, text: str, *, actor: Actor,
               rater: str = "primary") -> None:
    """Keep a note being typed, so a crash or a killed terminal never loses it.

    A draft obeys the rules of the note it may become (`text_rules.check_note`)."""
    check_note(text)
    with db.write_session() as session:
        require(session, actor, rating_action(rater))
        inspector = person_id(session, actor.name)
        draft = session.exec(select(NoteDraft).where(
            NoteDraft.case_id == case_id, NoteDraft.question_id == question_id,
            NoteDraft.rater == rater, NoteDraft.inspector_id == inspector)).first()
        if draft is None:
            draft = NoteDraft(case_id=case_id, question_id=question_id, rater=rater,
                              inspector_id=inspector)
        draft.text = text
        draft.updated_at = utcnow()
        session.add(draft)


def drafts(db: Database, case_id: int, *, actor: Actor,
           rater: str = "primary") -> dict[str, str]:
    """Unsaved note drafts of this person on this case: question id -> text."""
    with db.session() as session:
        rows = session.execute(
            sa.select(col(NoteDraft.question_id), col(NoteDraft.text))
            .join(Inspector, col(NoteDraft.inspector_id) == Inspector.id)
            .where(col(NoteDraft.case_id) == case_id, col(NoteDraft.rater) == rater,
                   col(Inspector.name) == actor.name)).all()
    return {qid: text for qid, text in rows}


def discard_in_session(session: Session, case_id: int, question_id: str, rater: str,
                       who: str) -> None:
    """Delete a draft inside the caller's transaction (its note was just saved)."""
    session.execute(sa.delete(NoteDraft).where(
        col(NoteDraft.case_id) == case_id, col(NoteDraft.question_id) == question_id,
        col(NoteDraft.rater) == rater,
        col(NoteDraft.inspector_id).in_(
            sa.select(col(Inspector.id)).where(col(Inspector.name) == who))))


def discard_draft(db: Database, case_id: int, question_id: str, *, actor: Actor,
                  rater: str = "primary") -> None:
    """Drop a draft the person chose not to keep."""
    with db.write_session() as session:
        discard_in_session(session, case_id, question_id, rater, actor.name)
