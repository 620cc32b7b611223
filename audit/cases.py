"""Editing one case: its profile, its answers, its notes and its status.

Every edit runs in one write transaction that also writes its audit events. Each edit
says which case version the editor last saw and what it believed the edited items held:
if someone else changed the case meanwhile, an edit touching what they changed raises
`ConflictError` (nothing is overwritten); an edit of something else is applied on top
of theirs.

The lifecycle (`audit.lifecycle`) holds for every edit: changing a signed-off case first
reopens it, which needs a reason (`ReasonRequired` without one), and a locked case is
read-only. The primary rating of a case allocated to someone is theirs alone
(`audit.allocation`). After every edit `audit.workflow` settles the case: answers whose
`applies_when` rule stopped holding are hidden (kept, with trail events, never deleted),
hidden answers whose question applies again come back, and a signed-off case that lost
a required answer is withdrawn to in progress. The last answer or note change of a case
can be undone by the person who made it (`undo_last_change`) until anything else changes
the case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit import allocation, lifecycle, qa_rules, rules, trail, workflow
from audit.drafts import discard_in_session
from audit.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from audit.inspections import question_set_of
from audit.lifecycle import ReasonRequired
from audit.people import person_id
from audit.permissions import Actor, rating_action, require
from audit.profile import parse_profile_value
from audit.store.engine import Database
from audit.store.models import (
    Answer,
    Case,
    Inspection,
    Inspector,
    LastChange,
    Site,
    utcnow,
)
from audit.text_rules import check_note
from question_sets import QuestionSet
from question_sets.profile import PROFILE

__all__ = ["ReasonRequired"]  # where the faces catch it

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
    allocated_to: str | None = None  # the inspector the case is allocated to
    due_date: date | None = None
    # Why the reader may not change the primary rating (allocated to someone else;
    # `audit.allocation.primary_refusal`), None when they may.
    primary_refusal: str | None = None

    def values(self, rater: str = "primary") -> dict[str, str | None]:
        """Question id -> answer code for one rater."""
        return {q: a.value for q, a in self.answers.get(rater, {}).items()}

    def rule_case(self) -> dict[str, Any]:
        """What question rules read as `case.*`: the profile, site and status."""
        return rules.rule_case(self.profile, self.site, self.status)


@dataclass(frozen=True)
class Change:
    """What an edit did: the case's new version and status, the answers a rule hid
    (`cleared`) or brought back (`restored`), and whether a sign-off was withdrawn."""

    version: int
    cleared: tuple[str, ...] = ()
    rebased: bool = False
    status: str | None = None
    restored: tuple[str, ...] = ()
    withdrawn: bool = False


def profile_of(case: Case) -> dict[str, Any]:
    """The profile fields of a case as a plain dict."""
    return {code: getattr(case, code) for code in PROFILE}


def _rule_case(session: Session, case: Case) -> dict[str, Any]:
    """What question rules read as `case.*` for a stored case (see `rules.rule_case`)."""
    return workflow.rule_case(session, case)


def load_case(db: Database, case_id: int, *, actor: Actor) -> CaseView:
    """A snapshot of a case with all its answers (for those who may read case records)."""
    with db.session() as session:
        require(session, actor, "read_cases")
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"no case with id {case_id}")
        _require_sighted(session, actor, case)
        return _view(session, case, actor)


def find_case(db: Database, inspection: str, case_ref: str, *, actor: Actor) -> CaseView:
    """A snapshot of the case with this reference in the named inspection."""
    with db.session() as session:
        require(session, actor, "read_cases")
        case = session.exec(select(Case).join(Inspection).where(
            Inspection.name == inspection, Case.case_ref == case_ref)).first()
        if case is None:
            raise NotFoundError(f"no case {case_ref!r} in inspection {inspection!r}")
        _require_sighted(session, actor, case)
        return _view(session, case, actor)


def _view(session: Session, case: Case, reader: Actor | None = None) -> CaseView:
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
    refusal = None if reader is None else allocation.primary_refusal(
        session, reader.name, case.case_ref, case.allocated_to)
    return CaseView(case.id, case.case_ref, case.inspection_id, inspection.name,
                    site.name if site else None, case.status, case.version, profile_of(case),
                    answers, allocation.allocated_name(session, case.allocated_to),
                    case.due_date, refusal)


@dataclass
class _Edit:
    session: Session
    case: Case
    qs: QuestionSet
    actor: Actor
    stale: bool
    reason: str | None = None
    unchanged: bool = False  # a no-op edit must not bump the version
    settled: workflow.Settled | None = None
    # What an undo would put back: (rater, question id, "answer"/"note", old, new).
    undo: tuple[str, str, str, str | None, str | None] | None = None

    @property
    def who(self) -> str:
        return self.actor.name

    def answers(self, rater: str) -> dict[str, Answer]:
        return {a.question_id: a for a in self.session.exec(
            select(Answer).where(Answer.case_id == self.case.id, Answer.rater == rater))}

    def check_seen(self, item: str, current: Any, seen: Any, new: Any = UNSEEN) -> None:
        # A stale edit is fine unless the very item it edits moved under it, and moved to
        # something else than this edit wants (two inspectors agreeing is no conflict).
        if self.stale and current != new and (seen is UNSEEN or current != seen):
            raise ConflictError(self.case.case_ref, -1, self.case.version,
                                {item: trail.as_text(current)})

    def reopen_for(self, rater: str | None) -> None:
        """Before changing `rater`'s answers or notes (None: the profile): move a signed-off
        case back first, with the reason the editor gave (`lifecycle.reopen_target`)."""
        current = self.case.status
        target = lifecycle.reopen_target(current, rater)
        if target is None:
            return
        if self.reason is None:
            raise ReasonRequired(self.case.case_ref, current, target)
        require(self.session, self.actor, lifecycle.move(current, target).action)
        workflow.record_move(self.session, self.case, target, self.who, self.reason)

    def change(self) -> Change:
        settled = self.settled or workflow.Settled()
        return Change(self.case.version, tuple(q for _, q in settled.hidden), self.stale,
                      self.case.status, tuple(q for _, q in settled.restored),
                      bool(settled.withdrawn))


@contextmanager
def _editing(db: Database, case_id: int, expected_version: int, actor: Actor, action: str,
             *, reason: str | None = None, allow_locked: bool = False,
             primary: bool = False) -> Iterator[_Edit]:
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
        if primary:  # the primary rating is its allocated inspector's (audit.allocation)
            allocation.require_primary_editor(session, actor, case)
        inspection = session.get(Inspection, case.inspection_id)
        assert inspection is not None
        edit = _Edit(session, case, question_set_of(inspection), actor,
                     stale=case.version != expected_version,
                     reason=lifecycle.clean_reason(reason))
        try:
            yield edit
        except ConflictError as exc:
            exc.expected_version = expected_version
            raise
        if not edit.unchanged:
            if edit.settled is None:
                edit.settled = workflow.settle_case(session, edit.qs, case, edit.who)
            case.updated_at = utcnow()  # marks the row dirty, so the ORM bumps `version`
            session.add(case)
            session.flush()
            _remember(edit)


def _remember(edit: _Edit) -> None:
    """Keep an answer or note edit as the case's last change, for undo. Other edits leave
    the one before in place: the case's version has moved past it, so undo refuses it
    and says why."""
    if edit.undo is None:
        return
    last = edit.session.get(LastChange, edit.case.id)
    assert edit.case.id is not None
    rater, qid, kind, old, new = edit.undo
    last = last or LastChange(case_id=edit.case.id, case_version=0, inspector_id=0,
                              rater=rater, question_id=qid, kind=kind)
    last.case_version = edit.case.version  # after this edit's bump
    last.inspector_id = person_id(edit.session, edit.who)
    last.rater, last.question_id, last.kind, last.old, last.new = rater, qid, kind, old, new
    edit.session.add(last)
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


def record_answer(db: Database, case_id: int, question_id: str, value: str | None, *,
                  actor: Actor, expected_version: int, rater: str = "primary",
                  seen: Any = UNSEEN, reason: str | None = None,
                  within: Callable[[Session], None] | None = None) -> Change:
    """Store (or, with None, clear) one answer the moment it is given.

    `seen` is the value the editor believed was stored; a concurrent change of this same
    answer raises ConflictError. Changing a signed-off case reopens it first, which
    needs `reason` (ReasonRequired without one). `within` runs in the same transaction,
    once the case row is locked and before the answer is written: a data query's change
    step checks and records itself there (`audit.queries.change_answer`), so the query
    and the answer change together or not at all.
    """
    with _editing(db, case_id, expected_version, actor, rating_action(rater),
                  reason=reason, primary=rater == "primary") as edit:
        if within is not None:
            within(edit.session)
        _require_independent(edit, rater)
        try:
            edit.qs.question(question_id)
        except KeyError as exc:
            raise NotFoundError(f"no question {question_id!r} in {edit.qs.id}") from exc
        existing = edit.answers(rater).get(question_id)
        current = existing.value if existing else None
        edit.check_seen(question_id, current, seen, value)
        if value is not None:
            _check_value(edit, question_id, value, rater)
        if value == current:
            edit.unchanged = True
            return Change(edit.case.version, rebased=edit.stale, status=edit.case.status)
        if rater == qa_rules.MODERATED:  # a keystroke, a query's change: reconciliation's rules
            _require_qa_complete(edit)
            refused = qa_rules.third_answer_refusal(
                edit.case.case_ref, question_id, value, *_ratings(edit, question_id),
                existing.note if existing else None)
            if refused:
                raise UsageError(refused)
        before = edit.case.status
        edit.reopen_for(rater)
        if value is not None and edit.case.status != before:
            _check_value(edit, question_id, value, rater)  # rules may read the status
        _write_answer(edit, question_id, value, rater)
    return edit.change()


def _check_value(edit: _Edit, question_id: str, value: str, rater: str) -> None:
    """Refuse an invalid answer, or one to a question that does not apply."""
    reason = edit.qs.check_answer(question_id, value)
    if reason:
        raise UsageError(f"{question_id}: {reason}")
    values = {q: a.value for q, a in edit.answers(rater).items()}
    if not rules.applies(edit.qs, question_id, _rule_case(edit.session, edit.case), values):
        raise UsageError(f"{question_id} does not apply to case {edit.case.case_ref} "
                         f"({edit.qs.question(question_id).applies_when})")


def _write_answer(edit: _Edit, question_id: str, value: str | None, rater: str) -> None:
    """Store one changed answer with its event; a first answer starts the case."""
    who = edit.who
    existing = edit.answers(rater).get(question_id)
    current = existing.value if existing else None
    trail.record(edit.session, who=who, entity="answer", case_id=edit.case.id,
                 key=f"{edit.case.case_ref}/{question_id}/{rater}", field=question_id,
                 old=current, new=value)
    assert edit.case.id is not None
    if existing is None:
        edit.session.add(Answer(case_id=edit.case.id, question_id=question_id, value=value,
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
    if edit.case.status == lifecycle.NOT_STARTED and value is not None:
        workflow.record_move(edit.session, edit.case, lifecycle.IN_PROGRESS, who)
    edit.undo = (rater, question_id, "answer", current, value)


def save_note(db: Database, case_id: int, question_id: str, note: str | None, *, actor: Actor,
              expected_version: int, rater: str = "primary", seen: Any = UNSEEN,
              reason: str | None = None) -> Change:
    """Store the note on one answer (an answer row without a value is kept for it).

    A note longer than `text_rules.NOTE_MAX` or holding a NUL is refused (UsageError); a
    note on a signed-off case reopens it first, which needs `reason`.
    """
    note = check_note(note)
    with _editing(db, case_id, expected_version, actor, rating_action(rater),
                  reason=reason, primary=rater == "primary") as edit:
        _require_independent(edit, rater)
        edit.qs.question(question_id)
        existing = edit.answers(rater).get(question_id)
        current = existing.note if existing else None
        edit.check_seen(f"{question_id} note", current, seen, note)
        discard_in_session(edit.session, case_id, question_id, rater, edit.who)
        if note == current:
            edit.unchanged = True
            return Change(edit.case.version, rebased=edit.stale, status=edit.case.status)
        edit.reopen_for(rater)
        _write_note(edit, question_id, note, rater)
    return edit.change()


def _write_note(edit: _Edit, question_id: str, note: str | None, rater: str) -> None:
    existing = edit.answers(rater).get(question_id)
    current = existing.note if existing else None
    trail.record(edit.session, who=edit.who, entity="note", case_id=edit.case.id,
                 key=f"{edit.case.case_ref}/{question_id}/{rater}", field=question_id,
                 old=current, new=note)
    assert edit.case.id is not None
    if existing is None:
        edit.session.add(Answer(case_id=edit.case.id, question_id=question_id, value=None,
                                note=note, question_set_version=edit.qs.version, rater=rater,
                                inspector_id=person_id(edit.session, edit.who)))
    elif note is None and existing.value is None:
        edit.session.delete(existing)
    else:
        existing.note = note
        existing.updated_at = utcnow()
        edit.session.add(existing)
    edit.session.flush()
    edit.undo = (rater, question_id, "note", current, note)


def update_profile(db: Database, case_id: int, changes: Mapping[str, Any], *, actor: Actor,
                   expected_version: int, seen: Mapping[str, Any] | None = None,
                   reason: str | None = None) -> Change:
    """Change profile fields; rules are judged again, and answers that no longer apply are
    hidden (those that apply again come back). A signed-off case reopens first, which
    needs `reason`."""
    parsed = {code: parse_profile_value(code, value) for code, value in changes.items()}
    who = actor.name
    with _editing(db, case_id, expected_version, actor, "rate", reason=reason,
                  primary=True) as edit:
        changed = False
        for code, value in parsed.items():
            current = getattr(edit.case, code)
            edit.check_seen(code, current, (seen or {}).get(code, UNSEEN), value)
            if current == value:
                continue
            if not changed:
                edit.reopen_for(None)
                changed = True
            trail.record(edit.session, who=who, entity="case", case_id=edit.case.id,
                         key=edit.case.case_ref, field=code, old=current, new=value)
            setattr(edit.case, code, value)
        edit.session.add(edit.case)
        edit.session.flush()
    return edit.change()


def undo_last_change(db: Database, case_id: int, *, actor: Actor, expected_version: int,
                     rater: str = "primary") -> Change:
    """Put back what the person's last answer or note change of this case replaced.

    Refused (UsageError) when the case's last change was not theirs, was no answer or
    note change (`rater`'s), or anything changed the case since. The trail gets an 'undo'
    event, then the answer or note event of the change itself; answers hidden or
    restored by the undone change follow their rules again. A case the change reopened
    stays in progress.
    """
    with _editing(db, case_id, expected_version, actor, rating_action(rater),
                  primary=rater == "primary") as edit:
        ref = edit.case.case_ref
        last = edit.session.get(LastChange, case_id)
        if last is None or last.rater != rater:
            raise UsageError(f"nothing to undo on case {ref}")
        if last.inspector_id != person_id(edit.session, edit.who):
            raise UsageError(f"the last change of case {ref} was made by someone else: only "
                             "they can undo it")
        if last.case_version != edit.case.version:
            raise UsageError(f"case {ref} has changed since your last change: nothing was "
                             "undone")
        trail.record(edit.session, who=edit.who, entity="undo", case_id=edit.case.id,
                     key=f"{ref}/{last.question_id}/{rater}", field=last.question_id,
                     old=None, new=last.kind)
        edit.reopen_for(rater)
        if last.kind == "answer":
            if last.old is not None:
                _check_value(edit, last.question_id, last.old, rater)
            _write_answer(edit, last.question_id, last.old, rater)
        else:
            _write_note(edit, last.question_id, last.old, rater)
        edit.undo = None  # an undo is not undone in turn
        edit.session.delete(last)
    return edit.change()


class IncompleteError(UsageError):
    """A case cannot be completed: required applicable questions are unanswered."""

    def __init__(self, case_ref: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(lifecycle.incomplete_refusal(case_ref, missing))


def set_status(db: Database, case_id: int, status: str, *, actor: Actor,
               expected_version: int, reason: str | None = None) -> Change:
    """Move a case through its work-flow, as `audit.lifecycle.TRANSITIONS` allows.

    Each move needs its permission (QA-checking, marking moderated and locking are for
    leads), moving back or unlocking needs `reason` (ReasonRequired without one), and
    completing or signing off needs every required answer (IncompleteError).
    """
    with _editing(db, case_id, expected_version, actor, "complete", reason=reason,
                  allow_locked=True) as edit:
        unchanged = _move(edit, status)
        if unchanged is not None:
            return unchanged
    return edit.change()


def _move(edit: _Edit, status: str) -> Change | None:
    """Carry out one status move inside an edit (`set_status`); a Change when the case is
    already there (nothing to do), else None."""
    current = edit.case.status
    edit.check_seen("status", current, current)
    if status == current:
        lifecycle.check_status(status)
        edit.unchanged = True
        return Change(edit.case.version, rebased=edit.stale, status=current)
    lifecycle.check_status(status)
    action = lifecycle.status_action(current, status)
    require(edit.session, edit.actor, action)
    if action == "complete":  # starting, completing, reopening: the primary rating's
        allocation.require_primary_editor(edit.session, edit.actor, edit.case)
    step = lifecycle.move(current, status)
    if step.reason and edit.reason is None:
        raise ReasonRequired(edit.case.case_ref, current, status)
    if status == lifecycle.LOCKED:
        # Read after the case row is locked: a query opened meanwhile waits for us.
        workflow.refuse_unclosed_queries(edit.session, edit.case)
    if status == lifecycle.MODERATED:
        # Moderated means reconciled, by someone independent, however the move is asked
        # for (the reconciliation screen, M, a case file).
        assert edit.case.id is not None
        _require_independent(edit, qa_rules.MODERATED)
        refused = qa_rules.reconciliation_refusal(edit.session, edit.case.id,
                                                  edit.case.case_ref)
        if refused:
            raise UsageError(refused)
    workflow.record_move(edit.session, edit.case, status, edit.who, edit.reason)
    # Rules on `case.status` may hide or restore answers under the new status.
    edit.settled = workflow.settle_case(edit.session, edit.qs, edit.case, edit.who,
                                        withdraw=not step.complete)
    if step.complete:
        missing = workflow.missing_required(edit.session, edit.qs, edit.case)
        if missing:
            raise IncompleteError(edit.case.case_ref, missing)
    return None


# -- reconciliation: the moderated answers of a double-rated case (rules: audit.qa_rules) --

def _ratings(edit: _Edit, question_id: str) -> tuple[str | None, str | None]:
    """The stored primary and QA answers to one question."""
    found = [edit.answers(r).get(question_id) for r in (qa_rules.PRIMARY, qa_rules.QA)]
    return found[0].value if found[0] else None, found[1].value if found[1] else None


def _require_qa_complete(edit: _Edit) -> None:
    """Reconciling needs the whole blind QA rating: before it, there is nothing to settle
    (and the two ratings are shown side by side to nobody)."""
    assert edit.case.id is not None
    refused = qa_rules.side_by_side_refusal(qa_rules.qa_state(edit.session, edit.case.id))
    if refused:
        raise UsageError(refused)


def moderate(db: Database, case_id: int, question_id: str, value: str | None, *,
             comment: str | None, actor: Actor, expected_version: int, seen: Any = UNSEEN,
             seen_comment: Any = UNSEEN, reason: str | None = None) -> Change:
    """Record the moderated answer to one question with its comment, in one transaction.

    Taking the primary or the QA answer needs no comment; a third answer does
    (`qa_rules.third_answer_refusal`, judged on the ratings as stored now, not as the
    moderator last saw them). The comment is kept as the moderated answer's note (None
    removes it); `value` None clears the moderated answer and its comment. The moderator
    is nobody who gave or changed the case's primary answers, and the blind QA rating
    must be complete. A moderated case moves back to QA-checked first, which needs
    `reason` (ReasonRequired without one).
    """
    rater = qa_rules.MODERATED
    comment = check_note(comment.strip() if comment else None)
    with _editing(db, case_id, expected_version, actor, rating_action(rater),
                  reason=reason) as edit:
        _require_independent(edit, rater)
        try:
            edit.qs.question(question_id)
        except KeyError as exc:
            raise NotFoundError(f"no question {question_id!r} in {edit.qs.id}") from exc
        _require_qa_complete(edit)
        primary, qa = _ratings(edit, question_id)
        refused = qa_rules.third_answer_refusal(edit.case.case_ref, question_id, value,
                                                primary, qa, comment)
        if refused:
            raise UsageError(refused)
        if value is None:
            comment = None  # a cleared decision keeps no comment
        existing = edit.answers(rater).get(question_id)
        current = existing.value if existing else None
        current_note = existing.note if existing else None
        edit.check_seen(question_id, current, seen, value)
        edit.check_seen(f"{question_id} note", current_note, seen_comment, comment)
        if value is not None:
            _check_value(edit, question_id, value, rater)
        if value == current and comment == current_note:
            edit.unchanged = True
            return Change(edit.case.version, rebased=edit.stale, status=edit.case.status)
        edit.reopen_for(rater)
        if value != current:
            _write_answer(edit, question_id, value, rater)
        if comment != current_note:
            _write_note(edit, question_id, comment, rater)
        if value != current and comment != current_note:
            edit.undo = None  # one decision, two changes: `undo` takes back single ones
    return edit.change()


def mark_moderated(db: Database, case_id: int, *, actor: Actor,
                   expected_version: int) -> Change:
    """Mark a QA-checked case moderated at the end of its reconciliation: a lead who gave
    or changed none of its primary answers, once every disagreement between its primary
    and blind QA ratings has a moderated answer (the checks of every move to moderated:
    `_move`)."""
    with _editing(db, case_id, expected_version, actor, "complete") as edit:
        unchanged = _move(edit, lifecycle.MODERATED)
        if unchanged is not None:
            return unchanged
    return edit.change()
