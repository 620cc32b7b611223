"""The lifecycle carried out on a stored case: status moves, hidden answers, withdrawal.

`audit.lifecycle` decides which moves are allowed and `audit.rules` which questions
apply; this module writes the consequences, each with its trail events, inside the
caller's transaction:

* `record_move`: a status change, and the reason given for it;
* `settle_case`: after any change to a case, answers whose question stopped applying
  move to `hidden_answer` (nothing is deleted), hidden answers whose question applies
  again come back, and a signed-off case missing a required answer is withdrawn to in
  progress.

The app's edits (`audit.cases`) and the importers (`audit.imports`) both call it, so a
file and a keystroke leave the same rows and the same events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit import lifecycle, rules, trail
from audit.errors import UsageError
from audit.store.models import RATERS, Answer, Case, HiddenAnswer, Query, Site, utcnow
from question_sets import QuestionSet
from question_sets.profile import PROFILE

SHOWN, HIDDEN = "shown", "hidden"
"""The old and new values of a 'rule' event: the answer left or came back into view."""


@dataclass
class Settled:
    """What settling a case did: (rater, question id) pairs hidden and restored, and the
    required questions whose absence withdrew the case's sign-off (empty: none)."""

    hidden: list[tuple[str, str]] = field(default_factory=list)
    restored: list[tuple[str, str]] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.hidden or self.restored or self.withdrawn)


def rule_case(session: Session, case: Case, status: str | None = None) -> dict[str, Any]:
    """What question rules read as `case.*` for a stored case (`status` to judge it as if
    it had another one, e.g. the status it is about to move to)."""
    site = session.get(Site, case.site_id) if case.site_id else None
    return rules.rule_case({code: getattr(case, code) for code in PROFILE},
                           site.name if site else None, status or case.status)


def record_move(session: Session, case: Case, target: str, who: str,
                reason: str | None = None) -> None:
    """Move a case to `target`: the status event, then the reason (if any) as its own
    event right after it. Permission and reason checks are the caller's."""
    trail.record(session, who=who, entity="case", case_id=case.id, key=case.case_ref,
                 field="status", old=case.status, new=target)
    if reason:
        trail.record(session, who=who, entity="case", case_id=case.id, key=case.case_ref,
                     field="reason", old=None, new=reason)
    case.status = target
    session.add(case)


def unclosed_queries(where: sa.Connection | Session,
                     case_ids: Iterable[int]) -> dict[int, int]:
    """How many data queries not yet closed each of these cases has (cases without any
    are left out): what refuses locking them (`lifecycle.queries_refusal`)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    conn = where.connection() if isinstance(where, Session) else where
    found: dict[int, int] = {}
    for start in range(0, len(ids), 5_000):  # far below either backend's parameter limit
        rows = conn.execute(
            sa.select(col(Query.case_id), sa.func.count())
            .where(col(Query.case_id).in_(ids[start:start + 5_000]),
                   col(Query.status).in_(lifecycle.UNCLOSED_QUERIES))
            .group_by(col(Query.case_id)))
        found.update({int(c): int(n) for c, n in rows})
    return found


def refuse_unclosed_queries(session: Session, case: Case) -> None:
    """UsageError when the case has a data query not yet closed (before locking it)."""
    assert case.id is not None
    unclosed = unclosed_queries(session, [case.id]).get(case.id, 0)
    if unclosed:
        raise UsageError(lifecycle.queries_refusal(case.case_ref, unclosed))


def settle_case(session: Session, qs: QuestionSet, case: Case, who: str,
                raters: Iterable[str] = RATERS, *, withdraw: bool = True) -> Settled:
    """Hide what no longer applies, restore what applies again and (unless `withdraw` is
    False) withdraw a sign-off that lost a required answer. Flushes the session."""
    session.flush()
    done = Settled()
    judged = rule_case(session, case)
    shown_rows = session.exec(select(Answer).where(Answer.case_id == case.id)).all()
    hidden_rows = session.exec(select(HiddenAnswer).where(HiddenAnswer.case_id == case.id)
                               .order_by(col(HiddenAnswer.id))).all()
    for rater in raters:
        shown = {a.question_id: a for a in shown_rows if a.rater == rater}
        hidden = {h.question_id: h for h in hidden_rows if h.rater == rater}  # newest wins
        if not shown and not hidden:
            continue
        to_hide, to_restore = rules.settle(qs, judged, {q: a.value for q, a in shown.items()},
                                           {q: h.value for q, h in hidden.items()})
        for qid in to_hide:
            _hide(session, case, shown[qid], who)
            done.hidden.append((rater, qid))
        session.flush()  # the hidden rows leave `answer` before any comes back
        for qid in to_restore:
            _restore(session, case, hidden[qid], who)
            done.restored.append((rater, qid))
        session.flush()
    if withdraw:
        done.withdrawn = withdraw_if_incomplete(session, qs, case, who)
    return done


def missing_required(session: Session, qs: QuestionSet, case: Case) -> list[str]:
    """Required questions without a primary answer, judged as `lifecycle.JUDGED_AS`."""
    rows = session.execute(
        sa.select(col(Answer.question_id), col(Answer.value))
        .where(col(Answer.case_id) == case.id, col(Answer.rater) == "primary")).all()
    return rules.missing_required(qs, rule_case(session, case, lifecycle.JUDGED_AS),
                                  {qid: value for qid, value in rows})


def withdraw_if_incomplete(session: Session, qs: QuestionSet, case: Case, who: str) -> list[str]:
    """Move a complete, QA-checked or moderated case back to in progress when a required
    answer is missing; returns the missing question ids (empty: nothing withdrawn)."""
    if case.status not in (lifecycle.COMPLETE, lifecycle.QA_CHECKED, lifecycle.MODERATED):
        return []
    missing = missing_required(session, qs, case)
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        record_move(session, case, lifecycle.IN_PROGRESS, who,
                    lifecycle.WITHDRAWN_REASON.format(missing=shown))
        session.flush()
    return missing


def _key(case: Case, qid: str, rater: str) -> str:
    return f"{case.case_ref}/{qid}/{rater}"


def _hide(session: Session, case: Case, answer: Answer, who: str) -> None:
    key = _key(case, answer.question_id, answer.rater)
    trail.record(session, who=who, entity="rule", case_id=case.id, key=key,
                 field=answer.question_id, old=SHOWN, new=HIDDEN)
    # The record people see loses the answer: the same events as clearing it, so the
    # trail alone still explains every stored (shown) answer.
    if answer.value is not None:
        trail.record(session, who=who, entity="answer", case_id=case.id, key=key,
                     field=answer.question_id, old=answer.value, new=None)
    if answer.note is not None:
        trail.record(session, who=who, entity="note", case_id=case.id, key=key,
                     field=answer.question_id, old=answer.note, new=None)
    session.add(HiddenAnswer(case_id=answer.case_id, question_id=answer.question_id,
                             question_set_version=answer.question_set_version,
                             value=answer.value, note=answer.note,
                             inspector_id=answer.inspector_id, rater=answer.rater,
                             updated_at=answer.updated_at, hidden_at=utcnow()))
    session.delete(answer)


def _restore(session: Session, case: Case, hidden: HiddenAnswer, who: str) -> None:
    key = _key(case, hidden.question_id, hidden.rater)
    trail.record(session, who=who, entity="rule", case_id=case.id, key=key,
                 field=hidden.question_id, old=HIDDEN, new=SHOWN)
    if hidden.value is not None:
        trail.record(session, who=who, entity="answer", case_id=case.id, key=key,
                     field=hidden.question_id, old=None, new=hidden.value)
    if hidden.note is not None:
        trail.record(session, who=who, entity="note", case_id=case.id, key=key,
                     field=hidden.question_id, old=None, new=hidden.note)
    session.add(Answer(case_id=hidden.case_id, question_id=hidden.question_id,
                       question_set_version=hidden.question_set_version, value=hidden.value,
                       note=hidden.note, inspector_id=hidden.inspector_id, rater=hidden.rater,
                       updated_at=hidden.updated_at))
    session.delete(hidden)
