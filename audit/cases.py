"""Editing one case: its profile, its answers, its notes and its status.

Every edit runs in one write transaction that also writes its audit events. Each edit
says which case version the editor last saw and what it believed the edited items held:
if someone else changed the case meanwhile, an edit touching what they changed raises
`ConflictError` (nothing is overwritten); an edit of something else is applied on top
of theirs. Answers whose `applies_when` rule stops holding after an edit are removed
(and the removal is in the trail), so no stored answer ever contradicts the rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit import lifecycle, qa_rules, rules, trail
from audit.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from audit.inspections import question_set_of
from audit.people import person_id
from audit.permissions import Actor, require
from audit.profile import parse_profile_value
from audit.store.engine import Database
from audit.store.models import (
    RATERS,
    Answer,
    Case,
    Inspection,
    Inspector,
    NoteDraft,
    Site,
    utcnow,
)
from audit.text_rules import check_note
from question_sets import QuestionSet
from question_sets.profile import CASE_STATUS, PROFILE

UNSEEN: Any = object()
"""Marks 'the caller does not say what it saw': any concurrent change is then a conflict."""



@dataclass(frozen=True)
class AnswerView:
    """A stored answer as the app shows it."""

    value: str | None
    note: str | None
    inspector: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class CaseView:
    """A plain snapshot of one case (no ORM object reaches a widget)."""

    id: int
    case_ref: str
    inspection_id: int
    inspection: str
    site: str | None
    status: str
    version: int
    profile: dict[str, Any]
    answers: dict[str, dict[str, AnswerView]] = field(default_factory=dict)

    def values(self, rater: str = "primary") -> dict[str, str | None]:
        """Question id -> answer code for one rater."""
        return {q: a.value for q, a in self.answers.get(rater, {}).items()}

    def rule_case(self) -> dict[str, Any]:
        """What question rules read as `case.*`: the profile, site and status."""
        return rules.rule_case(self.profile, self.site, self.status)


@dataclass(frozen=True)
class Change:
    """What an edit did: the case's new version and the answers it removed by rule."""

    version: int
    cleared: tuple[str, ...] = ()
    rebased: bool = False


def profile_of(case: Case) -> dict[str, Any]:
    """The profile fields of a case as a plain dict."""
    return {code: getattr(case, code) for code in PROFILE}


def _rule_case(session: Session, case: Case) -> dict[str, Any]:
    """What question rules read as `case.*` for a stored case (see `rules.rule_case`)."""
    site = session.get(Site, case.site_id) if case.site_id else None
    return rules.rule_case(profile_of(case), site.name if site else None, case.status)


def load_case(db: Database, case_id: int, *, actor: Actor) -> CaseView:
    """A snapshot of a case with all its answers (for those who may read case records)."""
    with db.session() as session:
        require(session, actor, "read_cases")
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"no case with id {case_id}")
        _require_sighted(session, actor, case)
        return _view(session, case)


def find_case(db: Database, inspection: str, case_ref: str, *, actor: Actor) -> CaseView:
    """A snapshot of the case with this reference in the named inspection."""
    with db.session() as session:
        require(session, actor, "read_cases")
        case = session.exec(select(Case).join(Inspection).where(
            Inspection.name == inspection, Case.case_ref == case_ref)).first()
        if case is None:
            raise NotFoundError(f"no case {case_ref!r} in inspection {inspection!r}")
        _require_sighted(session, actor, case)
        return _view(session, case)


def _view(session: Session, case: Case) -> CaseView:
    inspection = session.get(Inspection, case.inspection_id)
    site = session.get(Site, case.site_id) if case.site_id else None
    rows = session.execute(
        sa.select(col(Answer.rater), col(Answer.question_id), col(Answer.value),
                  col(Answer.note), col(Inspector.name), col(Answer.updated_at))
        .outerjoin(Inspector, col(Answer.inspector_id) == Inspector.id)
        .where(col(Answer.case_id) == case.id)).all()
    answers: dict[str, dict[str, AnswerView]] = {}
    for rater, qid, value, note, who, at in rows:
        answers.setdefault(rater, {})[qid] = AnswerView(value, note, who, at)
    assert case.id is not None and inspection is not None
    return CaseView(case.id, case.case_ref, case.inspection_id, inspection.name,
                    site.name if site else None, case.status, case.version, profile_of(case),
                    answers)


@dataclass
class _Edit:
    session: Session
    case: Case
    qs: QuestionSet
    who: str
    stale: bool
    cleared: list[str] = field(default_factory=list)
    unchanged: bool = False  # a no-op edit must not bump the version

    def answers(self, rater: str) -> dict[str, Answer]:
        return {a.question_id: a for a in self.session.exec(
            select(Answer).where(Answer.case_id == self.case.id, Answer.rater == rater))}

    def check_seen(self, item: str, current: Any, seen: Any, new: Any = UNSEEN) -> None:
        # A stale edit is fine unless the very item it edits moved under it, and moved to
        # something else than this edit wants (two inspectors agreeing is no conflict).
        if self.stale and current != new and (seen is UNSEEN or current != seen):
            raise ConflictError(self.case.case_ref, -1, self.case.version,
                                {item: trail.as_text(current)})


@contextmanager
def _editing(db: Database, case_id: int, expected_version: int, actor: Actor, action: str,
             *, allow_locked: bool = False) -> Iterator[_Edit]:
    with db.write_session() as session:
        require(session, actor, action)
        # Lock the row for the transaction: on PostgreSQL (READ COMMITTED) two editors
        # would otherwise both pass the version check. SQLite's BEGIN IMMEDIATE already
        # serialises writers, and it ignores FOR UPDATE.
        case = session.get(Case, case_id, with_for_update=True)
        if case is None:
            raise NotFoundError(f"no case with id {case_id}")
        if case.status == lifecycle.LOCKED and not allow_locked:
            raise PermissionDenied(lifecycle.locked_refusal(case.case_ref))
        inspection = session.get(Inspection, case.inspection_id)
        assert inspection is not None
        edit = _Edit(session, case, question_set_of(inspection), actor.name,
                     stale=case.version != expected_version)
        try:
            yield edit
        except ConflictError as exc:
            exc.expected_version = expected_version
            raise
        if not edit.unchanged:
            case.updated_at = utcnow()  # marks the row dirty, so the ORM bumps `version`
            session.add(case)
            session.flush()


def _enforce_rules(edit: _Edit) -> None:
    """Remove every answer whose question no longer applies, for every rater."""
    profile = _rule_case(edit.session, edit.case)
    for rater in RATERS:
        answers = edit.answers(rater)
        if not answers:
            continue
        values = {q: a.value for q, a in answers.items()}
        for qid in rules.inapplicable_answers(edit.qs, profile, values):
            answer = answers[qid]
            trail.record(edit.session, who=edit.who, entity="answer", case_id=edit.case.id,
                         key=f"{edit.case.case_ref}/{qid}/{rater}", field=qid,
                         old=answer.value, new=None)
            if answer.note is not None:  # the note goes with the row: the trail says so
                trail.record(edit.session, who=edit.who, entity="note", case_id=edit.case.id,
                             key=f"{edit.case.case_ref}/{qid}/{rater}", field=qid,
                             old=answer.note, new=None)
            edit.session.delete(answer)
            edit.cleared.append(qid)
    edit.session.flush()


# -- QA independence (the rules live in audit/qa_rules.py) --------------------------------

def _require_sighted(session: Session, actor: Actor, case: Case) -> None:
    """A QA rater still rating the case blind is shown nothing of its primary rating."""
    assert case.id is not None
    qa_rules.require_sighted(session, actor.name, case.id)


def _require_independent(edit: _Edit, rater: str) -> None:
    """Nobody rates a case as both its primary rater and its QA rater or moderator."""
    assert edit.case.id is not None
    qa_rules.require_independent(edit.session, edit.who, edit.case.id, edit.case.case_ref,
                                 rater)


def load_blind(db: Database, case_id: int, *, actor: Actor) -> CaseView:
    """The case as its blind QA rater sees it: profile, status and QA answers, nothing of
    its primary or moderated rating. Refused to its primary raters (`audit.qa_rules`)."""
    with db.session() as session:
        require(session, actor, "read_cases")
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"no case with id {case_id}")
        assert case.id is not None
        qa_rules.require_independent(session, actor.name, case.id, case.case_ref, "qa")
        view = _view(session, case)
    return replace(view, answers={"qa": view.answers.get("qa", {})})


def _rating_action(rater: str) -> str:
    if rater not in RATERS:
        raise UsageError(f"rater must be one of {', '.join(RATERS)}, not {rater!r}")
    return "moderate" if rater == "moderated" else "rate"


def record_answer(db: Database, case_id: int, question_id: str, value: str | None, *,
                  actor: Actor, expected_version: int, rater: str = "primary",
                  seen: Any = UNSEEN) -> Change:
    """Store (or, with None, clear) one answer the moment it is given.

    `seen` is the value the editor believed was stored; a concurrent change of this same
    answer raises ConflictError.
    """
    who = actor.name
    with _editing(db, case_id, expected_version, actor, _rating_action(rater)) as edit:
        _require_independent(edit, rater)
        try:
            question = edit.qs.question(question_id)
        except KeyError as exc:
            raise NotFoundError(f"no question {question_id!r} in {edit.qs.id}") from exc
        answers = edit.answers(rater)
        existing = answers.get(question_id)
        current = existing.value if existing else None
        edit.check_seen(question_id, current, seen, value)
        if value is not None:
            reason = edit.qs.check_answer(question_id, value)
            if reason:
                raise UsageError(f"{question_id}: {reason}")
            values = {q: a.value for q, a in answers.items()}
            if not rules.applies(edit.qs, question_id, _rule_case(edit.session, edit.case),
                                 values):
                raise UsageError(f"{question_id} does not apply to case {edit.case.case_ref} "
                                 f"({question.applies_when})")
        if value == current:
            edit.unchanged = True
            return Change(edit.case.version, rebased=edit.stale)
        trail.record(edit.session, who=who, entity="answer", case_id=edit.case.id,
                     key=f"{edit.case.case_ref}/{question_id}/{rater}", field=question_id,
                     old=current, new=value)
        if existing is None:
            edit.session.add(Answer(case_id=case_id, question_id=question_id, value=value,
                                    question_set_version=edit.qs.version, rater=rater,
                                    inspector_id=person_id(edit.session, who)))
        elif value is None and not existing.note:
            edit.session.delete(existing)
        else:
            existing.value = value
            existing.updated_at = utcnow()
            existing.inspector_id = person_id(edit.session, who)
            existing.question_set_version = edit.qs.version
            edit.session.add(existing)
        edit.session.flush()
        if edit.case.status == "not_started" and value is not None:
            trail.record(edit.session, who=who, entity="case", case_id=edit.case.id,
                         key=edit.case.case_ref, field="status", old="not_started",
                         new="in_progress")
            edit.case.status = "in_progress"
        _enforce_rules(edit)
    return Change(edit.case.version, tuple(edit.cleared), edit.stale)


def save_note(db: Database, case_id: int, question_id: str, note: str | None, *, actor: Actor,
              expected_version: int, rater: str = "primary", seen: Any = UNSEEN) -> Change:
    """Store the note on one answer (an answer row without a value is kept for it).

    A note longer than `text_rules.NOTE_MAX` or holding a NUL is refused (UsageError)."""
    note = check_note(note)
    who = actor.name
    with _editing(db, case_id, expected_version, actor, _rating_action(rater)) as edit:
        _require_independent(edit, rater)
        edit.qs.question(question_id)
        existing = edit.answers(rater).get(question_id)
        current = existing.note if existing else None
        edit.check_seen(f"{question_id} note", current, seen, note)
        _discard_draft(edit.session, case_id, question_id, rater, who)
        if note == current:
            edit.unchanged = True
            return Change(edit.case.version, rebased=edit.stale)
        trail.record(edit.session, who=who, entity="note", case_id=edit.case.id,
                     key=f"{edit.case.case_ref}/{question_id}/{rater}", field=question_id,
                     old=current, new=note)
        if existing is None:
            edit.session.add(Answer(case_id=case_id, question_id=question_id, value=None,
                                    note=note, question_set_version=edit.qs.version,
                                    rater=rater, inspector_id=person_id(edit.session, who)))
        elif note is None and existing.value is None:
            edit.session.delete(existing)
        else:
            existing.note = note
            existing.updated_at = utcnow()
            edit.session.add(existing)
    return Change(edit.case.version, rebased=edit.stale)


def update_profile(db: Database, case_id: int, changes: Mapping[str, Any], *, actor: Actor,
                   expected_version: int, seen: Mapping[str, Any] | None = None) -> Change:
    """Change profile fields; rules are re-evaluated and answers that no longer apply go."""
    parsed = {code: parse_profile_value(code, value) for code, value in changes.items()}
    who = actor.name
    with _editing(db, case_id, expected_version, actor, "rate") as edit:
        for code, value in parsed.items():
            current = getattr(edit.case, code)
            edit.check_seen(code, current, (seen or {}).get(code, UNSEEN), value)
            if current == value:
                continue
            trail.record(edit.session, who=who, entity="case", case_id=edit.case.id,
                         key=edit.case.case_ref, field=code, old=current, new=value)
            setattr(edit.case, code, value)
        edit.session.add(edit.case)
        edit.session.flush()
        _enforce_rules(edit)
    return Change(edit.case.version, tuple(edit.cleared), edit.stale)


class IncompleteError(UsageError):
    """A case cannot be completed: required applicable questions are unanswered."""

    def __init__(self, case_ref: str, missing: list[str]) -> None:
        self.missing = missing
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                           if len(missing) > 10 else "")
        super().__init__(f"case {case_ref} cannot be completed: {len(missing)} required "
                         f"question(s) unanswered ({shown})")


def set_status(db: Database, case_id: int, status: str, *, actor: Actor,
               expected_version: int) -> Change:
    """Move a case through its work-flow; QA-checking and locking are for leads."""
    if status not in CASE_STATUS:
        raise UsageError(f"status must be one of {', '.join(CASE_STATUS)}")
    who = actor.name
    with _editing(db, case_id, expected_version, actor, "complete", allow_locked=True) as edit:
        current = edit.case.status
        require(edit.session, actor, lifecycle.status_action(current, status))
        edit.check_seen("status", current, current)
        if status in {"complete", "qa_checked", "locked"}:
            answers = {q: a.value for q, a in edit.answers("primary").items()}
            missing = rules.missing_required(edit.qs, _rule_case(edit.session, edit.case),
                                       answers)
            if missing:
                raise IncompleteError(edit.case.case_ref, missing)
        if status != current:
            trail.record(edit.session, who=who, entity="case", case_id=edit.case.id,
                         key=edit.case.case_ref, field="status", old=current, new=status)
            edit.case.status = status
    return Change(edit.case.version, rebased=edit.stale)


def save_draft(db: Database, case_id: int, question_id: str, text: str, *, actor: Actor,
               rater: str = "primary") -> None:
    """Keep a note being typed, so a crash or a killed terminal never loses it.

    A draft obeys the rules of the note it may become (`text_rules.check_note`)."""
    check_note(text)
    with db.write_session() as session:
        require(session, actor, _rating_action(rater))
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


def _discard_draft(session: Session, case_id: int, question_id: str, rater: str,
                   who: str) -> None:
    session.execute(sa.delete(NoteDraft).where(
        col(NoteDraft.case_id) == case_id, col(NoteDraft.question_id) == question_id,
        col(NoteDraft.rater) == rater,
        col(NoteDraft.inspector_id).in_(
            sa.select(col(Inspector.id)).where(col(Inspector.name) == who))))


def discard_draft(db: Database, case_id: int, question_id: str, *, actor: Actor,
                  rater: str = "primary") -> None:
    """Drop a draft the person chose not to keep."""
    with db.write_session() as session:
        _discard_draft(session, case_id, question_id, rater, actor.name)
