"""Data queries on answers (REDCap's data resolution workflow): the use cases and their rules.

A query is about one answer (case, question, rater) and has a status, an assignee and a
thread (`query`, `query_message`):

    open --respond / change--> answered --close--> closed
      ^                          |                   |
      +-------- reopen ----------+------ reopen -----+

Who may do what (checked inside each step's own transaction, like every use case):

* **open**: a lead, or a QA rater of the case (someone named on one of its QA answers,
  `audit.qa_rules`), with a comment. Nobody opens a query on an answer they gave
  themselves, and a QA rater still rating the case blind cannot query its primary
  rating (they may not see it yet). The answer must exist; a query on a question
  without an answer is allowed only when the question is required and applies to the
  case (a missing answer is a data problem too). One query at a time per answer: while
  one is not closed, a second is refused. No query is opened on a locked case.
* The **assignee** is who gave the answer (`Answer.inspector_id`), else the inspector the
  case is allocated to (`case.allocated_to`, primary answers only), else nobody (then a
  lead answers it).
* **respond** (with a text) and **change** (the answer, through `audit.cases.record_answer`,
  with a mandatory reason that also reopens a signed-off case): the assignee, whoever
  gave the answer now, the inspector the case is allocated to, or a lead. Both move an
  open query to answered; a closed one must be re-opened first.
* **close**: a lead or a QA rater of the case; an answered query closes with or without a
  comment, an open one (nobody responded) only with a comment saying why.
* **reopen**: a lead or a QA rater of the case, with a comment, from answered or closed;
  not on a locked case.

An open or answered query blocks locking the case (`audit.lifecycle.queries_refusal`).
Every step writes its message and its audit events (entity `query`, keyed
`case_ref/question/rater#id`) in one transaction, so `iom-audit history` shows the thread:
a status event (field: the question; old → new status), then the text (field
`comment`, `response` or `reason`), and on opening the assignee.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session, col, select

from audit import cases, lifecycle, qa_rules, rules, trail, workflow
from audit.cases import UNSEEN, Change
from audit.errors import AuditError, NotFoundError, PermissionDenied, UsageError
from audit.inspections import inspection_for_writing, question_set_of
from audit.people import person_id
from audit.permissions import Actor, rating_action, require
from audit.store.engine import Database
from audit.store.models import (
    QUERY_STATUSES,
    Answer,
    Case,
    Inspection,
    Inspector,
    Query,
    QueryMessage,
    utcnow,
)
from audit.text_rules import clean_comment, normal
from question_sets import QuestionSet

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"
TEXT_FIELDS = {"open": "comment", "respond": "response", "change": "reason",
               "close": "comment", "reopen": "comment"}
"""The trail field each step's text is recorded under."""


@dataclass(frozen=True)
class QueryStep:
    """Where a query stands after a step (and, for a change, what the edit did)."""

    id: int
    case_id: int
    case_ref: str
    question_id: str
    rater: str
    status: str
    assignee: str | None
    change: Change | None = None
    reopened_from: str | None = None  # a change that reopened a signed-off case: its status

    @property
    def status_label(self) -> str:
        return QUERY_STATUSES.get(self.status, self.status)


def trail_key(case_ref: str, question_id: str, rater: str, query_id: int) -> str:
    """How the trail keys a query's events: the answer's key, then '#' and the query."""
    return f"{case_ref}/{question_id}/{rater}#{query_id}"


# ------------------------------------------------------------------------ who may

def _name_of(session: Session, person: int | None) -> str | None:
    if person is None:
        return None
    found = session.get(Inspector, person)
    return found.name if found is not None else None


def _answer(session: Session, case_id: int, question_id: str, rater: str) -> Answer | None:
    return session.exec(select(Answer).where(Answer.case_id == case_id,
                                             Answer.question_id == question_id,
                                             Answer.rater == rater)).first()


def _is_qa_rater(session: Session, name: str, case_id: int) -> bool:
    return name in qa_rules.raters(session, [case_id], only=(qa_rules.QA,)).get(
        case_id, qa_rules.Raters()).qa


def _require_sighted(session: Session, name: str, case_id: int, rater: str) -> None:
    """A query on a primary or moderated answer shows that rating: not to someone still
    rating the case's QA blind (`audit.qa_rules`)."""
    if rater != qa_rules.QA:
        qa_rules.require_sighted(session, name, case_id)


def _require_qa_or_lead(session: Session, actor: Actor, role: str, case: Case,
                        what: str) -> None:
    assert case.id is not None
    if role != "lead" and not _is_qa_rater(session, actor.name, case.id):
        raise PermissionDenied(f"only a lead or a QA rater of case {case.case_ref} may {what} "
                               f"({actor.name} is neither)")


def _responders(session: Session, query: Query, case: Case) -> set[str]:
    """Who may respond to or change the answer of a query, besides leads."""
    answer = _answer(session, query.case_id, query.question_id, query.rater)
    people = {query.assignee_id, answer.inspector_id if answer else None}
    if query.rater == qa_rules.PRIMARY:
        people.add(case.allocated_to)
    return {n for n in (_name_of(session, p) for p in people) if n}


def _authors(session: Session, query: Query) -> set[str]:
    """Whose answer the query questions: its assignee and whoever gave the answer now."""
    answer = _answer(session, query.case_id, query.question_id, query.rater)
    people = (query.assignee_id, answer.inspector_id if answer else None)
    return {n for n in (_name_of(session, p) for p in people) if n}


# ------------------------------------------------------------------------ steps

@dataclass
class _Step:
    session: Session
    actor: Actor
    role: str
    query: Query
    case: Case

    @property
    def ref(self) -> str:
        return f"query #{self.query.id}"

    def write(self, action: str, text: str, status: str, *, old_value: str | None = None,
              new_value: str | None = None, assignee: str | None = None) -> None:
        """The message, the status and their trail events."""
        query, case = self.query, self.case
        assert query.id is not None
        now = utcnow()
        self.session.add(QueryMessage(query_id=query.id, at=now, action=action, text=text,
                                      author_id=person_id(self.session, self.actor.name),
                                      old_value=old_value, new_value=new_value))
        key = trail_key(case.case_ref, query.question_id, query.rater, query.id)
        was = None if action == "open" else query.status
        if was != status:  # a second response to an answered query moves nothing
            trail.record(self.session, who=self.actor.name, entity="query", case_id=case.id,
                         key=key, field=query.question_id, old=was, new=status, at=now)
        if text:  # closing an answered query needs no comment
            trail.record(self.session, who=self.actor.name, entity="query", case_id=case.id,
                         key=key, field=TEXT_FIELDS[action], old=None, new=text, at=now)
        if assignee is not None:
            trail.record(self.session, who=self.actor.name, entity="query", case_id=case.id,
                         key=key, field="assignee", old=None, new=assignee, at=now)
        query.status = status
        query.updated_at = now
        self.session.add(query)
        self.session.flush()

    def result(self, change: Change | None = None) -> QueryStep:
        query = self.query
        assert query.id is not None and self.case.id is not None
        return QueryStep(query.id, self.case.id, self.case.case_ref, query.question_id,
                         query.rater, query.status, _name_of(self.session, query.assignee_id),
                         change)

    def refused(self, action: str) -> AuditError | None:
        """Why the actor may not take this step (respond, change, close, reopen) on the
        query as it stands, or None."""
        status, name = self.query.status, self.actor.name
        if action in ("respond", "change"):
            if self.role != "lead" and name not in _responders(self.session, self.query,
                                                               self.case):
                assignee = _name_of(self.session, self.query.assignee_id)
                who = (f"the assignee ({assignee})" if assignee
                       else "the inspector the case is allocated to")
                return PermissionDenied(f"only {who}, the person who gave the answer or a "
                                        f"lead may answer {self.ref} ({name} may not)")
            if status == CLOSED:
                return UsageError(f"{self.ref} is closed: a lead or QA rater re-opens it "
                                  "(with a comment) before anything more is added")
            return None
        verb = {"close": "close", "reopen": "re-open"}[action]
        assert self.case.id is not None
        if self.role != "lead" and not _is_qa_rater(self.session, name, self.case.id):
            return PermissionDenied(f"only a lead or a QA rater of case {self.case.case_ref} "
                                    f"may {verb} {self.ref} ({name} is neither)")
        if status == (CLOSED if action == "close" else OPEN):
            return UsageError(f"{self.ref} is already {status}")
        if action == "close" and name in _authors(self.session, self.query):
            # As nobody queries their own answer, nobody settles a query on it either.
            return PermissionDenied(f"{name} gave the {self.query.rater} answer to "
                                    f"{self.query.question_id} of case {self.case.case_ref}: "
                                    f"another lead or QA rater closes {self.ref}")
        if action == "reopen" and self.case.status == lifecycle.LOCKED:
            return PermissionDenied(lifecycle.locked_refusal(self.case.case_ref))
        return None

    def check(self, action: str) -> None:
        refused = self.refused(action)
        if refused is not None:
            raise refused


def _begin(session: Session, actor: Actor, query_id: int, *, lock: bool = True) -> _Step:
    """Lock the query's case, then the query (the order locking a case takes too)."""
    role = require(session, actor, "query")
    found = session.get(Query, query_id)
    if found is None:
        raise NotFoundError(f"no query #{query_id}")
    # The case row first, as every edit and status move locks it: a lock and a
    # re-opening never pass each other (SQLite's BEGIN IMMEDIATE serialises anyway).
    case = session.get(Case, found.case_id, with_for_update=lock)
    query = session.get(Query, query_id, with_for_update=lock, populate_existing=lock)
    assert case is not None and query is not None
    _require_sighted(session, actor.name, found.case_id, query.rater)
    return _Step(session, actor, role, query, case)


@contextmanager
def _stepping(db: Database, actor: Actor, query_id: int) -> Iterator[_Step]:
    with db.write_session() as session:
        yield _begin(session, actor, query_id)


def find_case(db: Database, case_ref: str, *, actor: Actor,
              inspection: str | None = None) -> int:
    """The id of the case with this reference in the named inspection (else the only
    one), for those who may read case records."""
    with db.session() as session:
        require(session, actor, "read_cases")
        found = inspection_for_writing(session, inspection)
        ref = normal(case_ref)
        case_id = session.exec(select(Case.id).where(Case.inspection_id == found.id,
                                                     Case.case_ref == ref)).first()
        if case_id is None:
            raise NotFoundError(f"no case {ref!r} in inspection {found.name!r}")
        return case_id


def open_query(db: Database, case_id: int, question_id: str, comment: str, *, actor: Actor,
               rater: str = "primary") -> QueryStep:
    """Open a query on one answer of a case, with a comment (see the module's rules)."""
    text = clean_comment(comment, "a comment opening a query")
    rating_action(rater)  # refuses an unknown rater in words
    with db.write_session() as session:
        role = require(session, actor, "query")
        case = session.get(Case, case_id, with_for_update=True)
        if case is None:
            raise NotFoundError(f"no case with id {case_id}")
        assert case.id is not None
        inspection = session.get(Inspection, case.inspection_id)
        assert inspection is not None
        qs = question_set_of(inspection)
        if question_id not in qs:
            raise NotFoundError(f"no question {question_id!r} in {qs.id}")
        _require_qa_or_lead(session, actor, role, case, "open a query on it")
        _require_sighted(session, actor.name, case.id, rater)
        if case.status == lifecycle.LOCKED:
            raise PermissionDenied(lifecycle.locked_refusal(case.case_ref))
        answer = _answer(session, case.id, question_id, rater)
        author = _name_of(session, answer.inspector_id) if answer else None
        if author == actor.name:
            raise PermissionDenied(f"{actor.name} gave the {rater} answer to {question_id} of "
                                   f"case {case.case_ref}: a query on it must come from "
                                   "someone else")
        if answer is None or answer.value is None:
            _require_missing_matters(session, qs, case, question_id, rater)
        pending = session.exec(select(Query).where(
            Query.case_id == case.id, Query.question_id == question_id, Query.rater == rater,
            col(Query.status).in_(lifecycle.UNCLOSED_QUERIES))).first()
        if pending is not None:
            raise UsageError(f"query #{pending.id} on {question_id} of case {case.case_ref} "
                             f"is still {pending.status}: add to its thread instead")
        assignee_id = answer.inspector_id if answer and answer.inspector_id else (
            case.allocated_to if rater == qa_rules.PRIMARY else None)
        now = utcnow()
        query = Query(case_id=case.id, question_id=question_id, rater=rater, status=OPEN,
                      opened_by=person_id(session, actor.name), assignee_id=assignee_id,
                      opened_at=now, updated_at=now)
        session.add(query)
        session.flush()
        step = _Step(session, actor, role, query, case)
        step.write("open", text, OPEN, old_value=answer.value if answer else None,
                   assignee=_name_of(session, assignee_id))
        return step.result()


def _require_missing_matters(session: Session, qs: QuestionSet, case: Case, question_id: str,
                             rater: str) -> None:
    """A question without an answer may be queried only when it is required and applies
    to the case (judged as the rules judge it, with that rating's answers)."""
    question = qs.question(question_id)
    values = {a.question_id: a.value for a in session.exec(
        select(Answer).where(Answer.case_id == case.id, Answer.rater == rater))}
    applies = rules.applies(qs, question_id, workflow.rule_case(session, case), values)
    if not (question.required and applies):
        raise UsageError(f"{question_id} of case {case.case_ref} has no {rater} answer to "
                         "query (a query on a missing answer is for a required question "
                         "that applies to the case)")


def respond(db: Database, query_id: int, text: str, *, actor: Actor) -> QueryStep:
    """The assignee's (or the answer's author's, or a lead's) response: open -> answered."""
    cleaned = clean_comment(text, "a response")
    with _stepping(db, actor, query_id) as step:
        step.check("respond")
        step.write("respond", cleaned, ANSWERED)
        return step.result()


def change_answer(db: Database, query_id: int, value: str | None, reason: str, *,
                  actor: Actor, expected_version: int | None = None,
                  seen: Any = UNSEEN) -> QueryStep:
    """Change the queried answer, with a reason (open -> answered), through
    `audit.cases.record_answer`: the lifecycle, independence, applicability and conflict
    rules of every edit hold, and a signed-off case is reopened with this reason."""
    cleaned = lifecycle.clean_reason(reason)
    if cleaned is None:
        raise UsageError("changing an answer through a query needs a reason")
    with db.session() as session:
        query = session.get(Query, query_id)
        if query is None:
            raise NotFoundError(f"no query #{query_id}")
        case = session.get(Case, query.case_id)
        assert case is not None
        case_id, question_id, rater, version = (query.case_id, query.question_id,
                                                query.rater, case.version)
    done: list[QueryStep] = []

    def within(session: Session) -> None:
        step = _begin(session, actor, query_id)
        step.check("change")
        answer = _answer(session, case_id, question_id, rater)
        old = answer.value if answer else None
        if old == value:
            raise UsageError(f"the {rater} answer to {question_id} is already "
                             f"{old if old is not None else 'empty'}: respond instead to "
                             "keep it")
        step.write("change", cleaned, ANSWERED, old_value=old, new_value=value)
        done.append(replace(step.result(), reopened_from=step.case.status))

    change = cases.record_answer(
        db, case_id, question_id, value, actor=actor, rater=rater, seen=seen, reason=cleaned,
        expected_version=version if expected_version is None else expected_version,
        within=within)
    before = done[0].reopened_from
    return replace(done[0], change=change,
                   reopened_from=before if change.status != before else None)


def close_query(db: Database, query_id: int, comment: str | None = None, *,
                actor: Actor) -> QueryStep:
    """QA (or a lead) closes a query: an answered one as it is, an open one with a comment."""
    with _stepping(db, actor, query_id) as step:
        step.check("close")
        if step.query.status == OPEN and not (comment or "").strip():
            raise UsageError(f"{step.ref} has no response yet: closing it needs a comment "
                             "saying why")
        text = clean_comment(comment, "a comment") if (comment or "").strip() else ""
        step.write("close", text, CLOSED)
        return step.result()


def reopen_query(db: Database, query_id: int, comment: str, *, actor: Actor) -> QueryStep:
    """QA (or a lead) re-opens an answered or closed query, with a comment."""
    text = clean_comment(comment, "a comment re-opening a query")
    with _stepping(db, actor, query_id) as step:
        step.check("reopen")
        step.write("reopen", text, OPEN)
        return step.result()


STEPS = ("respond", "change", "close", "reopen")


def allowed_steps(db: Database, query_id: int, *, actor: Actor) -> frozenset[str]:
    """The steps (of `STEPS`) the person may take on the query now, judged by the same
    rules as the steps themselves (for a face to offer only those; each step checks again)."""
    with db.session() as session:
        try:
            step = _begin(session, actor, query_id, lock=False)
        except AuditError:
            return frozenset()
        return frozenset(a for a in STEPS if step.refused(a) is None)
