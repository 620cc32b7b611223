"""QA independence: who may give a case's QA and moderated answers, when its primary
rating may be shown, and which double ratings the reliability statistics count.

Who rated a case is read from the stored answers and the trail, so the app, the command
line and every import reach the same verdict:

* its **primary raters**: everyone named on one of its primary answers or notes (whose
  judgement the answer records: the person rating in the app, a ratings file's
  `inspector` column or `--inspector`), and everyone the trail shows giving, changing or
  clearing one (the trail's `who`: in the app the person rating; for a ratings file the
  person who imported it, who had the primary rating in hand);
* its **QA raters** and **moderators**: everyone named on one of its QA, or moderated,
  answers or notes.

The rules:

1. *Independence.* A primary rater gives no QA or moderated answer on the case, and a
   QA rater or moderator gives it no primary answer (in either order one person would
   be both).
2. *Blindness.* While a person's QA rating of a case is incomplete, nothing of the
   case's primary or moderated rating is shown to them (the case itself, its trail, the
   cases behind a comparison cell), and the two ratings are shown side by side to
   nobody. The QA rating is complete when every key question of the set (every question
   of a set that marks none as key) that is required and applies to the case - by its
   profile and the QA answers - has a QA answer.
3. *Self-pairs.* A case one of whose QA raters is among its primary raters never enters
   the reliability statistics, and the table's note says how many were left out.
4. *Reconciliation.* Where both ratings answered a question and differ, the moderator
   accepts one side or gives a third answer, which needs a comment (kept as the moderated
   answer's note): the final record (`audit.final_record`) must say why it departs from
   both raters. A case is marked moderated from the reconciliation once every
   disagreement has a moderated answer.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from audit import rules
from audit.errors import NotFoundError, PermissionDenied
from audit.formatting import format_count
from audit.store.models import Answer, AuditEvent, Case, Inspection, Inspector, Site, table_of
from question_sets import QuestionSet, load_set
from question_sets.profile import PROFILE

PRIMARY, QA, MODERATED = "primary", "qa", "moderated"
_CHUNK = 5_000  # ids per IN list: far below SQLite's and PostgreSQL's parameter limits

Where = sa.Connection | Session


def _conn(where: Where) -> sa.Connection:
    return where.connection() if isinstance(where, Session) else where


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


# ------------------------------------------------------------------------ who rated

@dataclass(frozen=True)
class Raters:
    """The people of one case's three ratings (see the module docstring)."""

    primary: frozenset[str] = frozenset()
    qa: frozenset[str] = frozenset()
    moderated: frozenset[str] = frozenset()

    def of(self, rater: str) -> frozenset[str]:
        """The people of one rating: "primary", "qa" or "moderated"."""
        return {PRIMARY: self.primary, QA: self.qa, MODERATED: self.moderated}[rater]

    def with_(self, rater: str, names: Iterable[str]) -> Raters:
        """These people, plus `names` on the `rater` rating (a file about to be stored)."""
        more = {r: self.of(r) | (frozenset(names) if r == rater else frozenset())
                for r in (PRIMARY, QA, MODERATED)}
        return Raters(more[PRIMARY], more[QA], more[MODERATED])

    @property
    def self_pair(self) -> bool:
        """One of the QA raters is also a primary rater."""
        return bool(self.qa & self.primary)


def raters(where: Where, case_ids: Iterable[int], *,
           only: Collection[str] = (PRIMARY, QA, MODERATED)) -> dict[int, Raters]:
    """The people of each case's ratings (cases without any are left out); `only` limits
    the look-up to some ratings (the trail is read only for the primary one)."""
    conn = _conn(where)
    people_t = table_of(Inspector)
    answer, inspector, event = table_of(Answer).c, people_t.c, table_of(AuditEvent).c
    found: dict[int, dict[str, set[str]]] = {}
    for ids in _chunks(case_ids):
        # The raters are picked out here, not in SQL: asked for two of the three, SQLite's
        # planner (no statistics) walks every answer of those raters on the tally index
        # instead of seeking these cases' answers (2.4 s against 20 ms at 100,000 cases).
        named = (sa.select(answer.case_id, answer.rater, inspector.name).distinct()
                 .join(people_t, inspector.id == answer.inspector_id)
                 .where(answer.case_id.in_(ids)))
        rows: list[tuple[Any, ...]] = [tuple(r) for r in conn.execute(named)
                                       if r[1] in only]
        if PRIMARY in only:
            # The trail keys an answer or note event 'case_ref/question/rater'.
            rows += [(c, PRIMARY, who) for c, who in conn.execute(
                sa.select(event.case_id, event.who).distinct()
                .where(event.case_id.in_(ids), event.entity.in_(("answer", "note")),
                       event.key.like(f"%/{PRIMARY}")))]
        for case_id, rater, name in rows:
            found.setdefault(int(case_id), {}).setdefault(rater, set()).add(name)
    return {c: Raters(*(frozenset(by.get(r, ())) for r in (PRIMARY, QA, MODERATED)))
            for c, by in found.items()}


def raters_of(where: Where, case_id: int) -> Raters:
    """The people of one case's ratings."""
    return raters(where, [case_id]).get(case_id, Raters())


def refusal(name: str, case_ref: str, rater: str, people: Raters) -> str | None:
    """Why `name` may not give a `rater` answer on this case (the words every face and
    every import shows), or None."""
    if rater in (QA, MODERATED) and name in people.primary:
        what = "its blind QA rating" if rater == QA else "its moderated answers"
        return (f"{name} gave or changed primary answers of case {case_ref}: {what} must "
                "come from someone else")
    if rater == PRIMARY and name in people.qa:
        return (f"{name} rated the blind QA of case {case_ref}: its primary answers must come "
                "from someone else")
    if rater == PRIMARY and name in people.moderated:
        return (f"{name} moderated case {case_ref}: its primary answers must come from "
                "someone else")
    return None


def require_independent(where: Where, name: str, case_id: int, case_ref: str,
                        rater: str) -> None:
    """Raise PermissionDenied unless `name` may give a `rater` answer on the case.

    Call it in the transaction that stores the answer."""
    # Only the other side's people matter (and only the primary side reads the trail).
    other = (PRIMARY,) if rater in (QA, MODERATED) else (QA, MODERATED)
    people = raters(where, [case_id], only=other).get(case_id, Raters())
    refused = refusal(name, case_ref, rater, people)
    if refused:
        raise PermissionDenied(refused)


# ------------------------------------------------------------------------ blindness

def qa_questions(qs: QuestionSet) -> list[str]:
    """The questions a QA rating covers: the key questions (all, if none is key)."""
    return [q.id for q in (qs.key_questions or qs.questions)]


def qa_missing(qs: QuestionSet, case: Mapping[str, Any],
               qa_answers: Mapping[str, str | None]) -> list[str]:
    """The QA questions still to answer: required, applying (by `case`, what rules read
    as `case.*`, and the QA answers) and unanswered, in set order."""
    covered = set(qa_questions(qs))
    return [q for q in rules.missing_required(qs, case, qa_answers) if q in covered]


@dataclass(frozen=True)
class QaState:
    """Where one case's QA rating stands."""

    case_ref: str
    qa_answers: dict[str, str | None] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def started(self) -> bool:
        return any(v is not None for v in self.qa_answers.values())

    @property
    def complete(self) -> bool:
        return self.started and not self.missing


def qa_states(where: Where, case_ids: Iterable[int]) -> dict[int, QaState]:
    """Where the QA rating of each case stands (an unknown id is left out)."""
    conn = _conn(where)
    case_t, site_t, inspection_t = table_of(Case), table_of(Site), table_of(Inspection)
    answer = table_of(Answer).c
    case, site, inspection = case_t.c, site_t.c, inspection_t.c
    profile = [case[code] for code in PROFILE]
    out: dict[int, QaState] = {}
    for ids in _chunks(case_ids):
        given: dict[int, dict[str, str | None]] = {}
        for case_id, qid, value in conn.execute(
                sa.select(answer.case_id, answer.question_id, answer.value)
                .where(answer.case_id.in_(ids), answer.rater == QA)):
            given.setdefault(int(case_id), {})[qid] = value
        stmt = (sa.select(case.id, case.case_ref, case.status, site.name,
                          inspection.question_set_id, inspection.question_set_version, *profile)
                .select_from(case_t).join(inspection_t, inspection.id == case.inspection_id)
                .outerjoin(site_t, site.id == case.site_id).where(case.id.in_(ids)))
        for row in conn.execute(stmt):
            case_id, ref, status, site_name, set_id, version, *values = row
            # The set the inspection is rated on; its digest is checked by every edit.
            qs = load_set(set_id, version)
            rule_case = rules.rule_case(dict(zip(PROFILE, values, strict=True)), site_name,
                                        status)
            mine = given.get(int(case_id), {})
            out[int(case_id)] = QaState(ref, mine, tuple(qa_missing(qs, rule_case, mine)))
    return out


def qa_state(where: Where, case_id: int) -> QaState:
    """Where one case's QA rating stands (NotFoundError for an unknown case)."""
    found = qa_states(where, [case_id]).get(case_id)
    if found is None:
        raise NotFoundError(f"no case with id {case_id}")
    return found


def _unanswered(state: QaState) -> str:
    return f"{len(state.missing)} QA question(s) unanswered"


def blind_cases(where: Where, name: str, case_ids: Iterable[int] | None = None) -> set[int]:
    """The cases (of `case_ids`, or all) whose QA `name` is rating and has not completed."""
    conn = _conn(where)
    people_t = table_of(Inspector)
    answer, inspector = table_of(Answer).c, people_t.c
    stmt = (sa.select(answer.case_id).distinct()
            .join(people_t, inspector.id == answer.inspector_id)
            .where(answer.rater == QA, inspector.name == name))
    if case_ids is None:
        mine = {int(c) for c in conn.execute(stmt).scalars()}
    else:
        mine = {int(c) for ids in _chunks(case_ids)
                for c in conn.execute(stmt.where(answer.case_id.in_(ids))).scalars()}
    return {c for c, state in qa_states(conn, mine).items() if not state.complete}


def blind_refusal(where: Where, name: str, case_id: int) -> str | None:
    """Why the primary rating of a case is hidden from `name` (rating its blind QA and not
    finished), or None."""
    if case_id not in blind_cases(where, name, [case_id]):
        return None
    state = qa_state(where, case_id)
    return (f"case {state.case_ref}: its primary rating stays hidden from {name} until "
            f"their blind QA rating is complete ({_unanswered(state)})")


def require_sighted(where: Where, name: str, case_id: int) -> None:
    """Raise PermissionDenied while `name` is rating the case's QA blind."""
    refused = blind_refusal(where, name, case_id)
    if refused:
        raise PermissionDenied(refused)


def side_by_side_refusal(state: QaState) -> str | None:
    """Why the primary and QA ratings of a case may not be shown side by side yet (to
    anyone), or None: the QA rating is not complete."""
    if not state.started:
        return f"case {state.case_ref} has no blind QA rating yet: there is nothing to compare"
    if state.missing:
        return (f"case {state.case_ref}: its primary and QA ratings are shown side by side "
                f"once the blind QA rating is complete ({_unanswered(state)})")
    return None


# ------------------------------------------------------------------------ statistics

def self_pairs(where: Where, case_ids: Iterable[int]) -> set[int]:
    """The cases (of `case_ids`) one of whose QA raters is also a primary rater."""
    return {c for c, people in raters(where, case_ids, only=(PRIMARY, QA)).items()
            if people.self_pair}


#: The note when some cases were left out, with ``{n}`` for their number (disclosure
#: control rewords a small one: `audit.report.suppression`).
SELF_PAIR_TEMPLATE = ("{n} case(s) rated twice were left out as self-pairs: their QA rater "
                      "had also given or changed primary answers of the case.")


def self_pair_note(excluded: int) -> str:
    """The reliability table's note on the self-pairs it left out."""
    if not excluded:
        return ("No case was left out as a self-pair (a QA rater who had also given or "
                "changed primary answers of the case).")
    return SELF_PAIR_TEMPLATE.format(n=format_count(excluded))


# ------------------------------------------------------------------------ reconciliation

def disagree(primary: str | None, qa: str | None) -> bool:
    """Both ratings answered the question and the answers differ."""
    return primary is not None and qa is not None and primary != qa


def disagreements(primary: Mapping[str, str | None], qa: Mapping[str, str | None]
                  ) -> list[str]:
    """The questions (in the order of `qa`) where the two ratings disagree."""
    return [q for q, v in qa.items() if disagree(primary.get(q), v)]


def unreconciled(primary: Mapping[str, str | None], qa: Mapping[str, str | None],
                 moderated: Mapping[str, str | None]) -> list[str]:
    """The disagreements without a moderated answer yet."""
    return [q for q in disagreements(primary, qa) if moderated.get(q) is None]


def is_third_answer(value: str | None, primary: str | None, qa: str | None) -> bool:
    """A moderated answer that takes neither rating's side (clearing is none)."""
    return value is not None and value not in (primary, qa)


def third_answer_refusal(case_ref: str, question_id: str, value: str | None,
                         primary: str | None, qa: str | None, comment: str | None) -> str | None:
    """Why a moderated answer is refused for want of a comment, or None: a third answer
    (neither the primary nor the QA answer) says why in its comment."""
    if is_third_answer(value, primary, qa) and not (comment or "").strip():
        sides = f"primary {primary or 'unanswered'}, QA {qa or 'unanswered'}"
        return (f"case {case_ref}, {question_id}: the moderated answer {value} is neither "
                f"rating's ({sides}): give a comment saying why")
    return None


def unreconciled_refusal(case_ref: str, left: list[str], total: int) -> str | None:
    """Why a case cannot be marked moderated from its reconciliation yet, or None."""
    if not left:
        return None
    shown = ", ".join(left[:10]) + (" ..." if len(left) > 10 else "")
    return (f"case {case_ref}: {total - len(left)} of {total} disagreement(s) reconciled; "
            f"reconcile {shown} before marking it moderated")


def moderation_refusal(where: Where, name: str, case_id: int, case_ref: str) -> str | None:
    """Why `name` may not mark the case moderated now, or None: the one rule for the app's
    reconciliation, its `M` key, `set_status` and case files.

    Moderated means reconciled (`reconciliation_refusal`), by a moderator who gave or
    changed none of the primary answers."""
    people = raters(where, [case_id], only=(PRIMARY,)).get(case_id, Raters())
    return refusal(name, case_ref, MODERATED, people) or reconciliation_refusal(
        where, case_id, case_ref)


def reconciliation_refusal(where: Where, case_id: int, case_ref: str) -> str | None:
    """Why the case is not reconciled yet, or None: its blind QA rating is complete and
    every disagreement between it and the primary rating has a moderated answer."""
    refused = side_by_side_refusal(qa_state(where, case_id))
    if refused:
        return refused
    answer = table_of(Answer).c
    values: dict[str, dict[str, str | None]] = {PRIMARY: {}, QA: {}, MODERATED: {}}
    for question, rater, value in _conn(where).execute(
            sa.select(answer.question_id, answer.rater, answer.value)
            .where(answer.case_id == case_id).order_by(answer.id)):
        values[rater][question] = value
    left = unreconciled(values[PRIMARY], values[QA], values[MODERATED])
    return unreconciled_refusal(case_ref, left,
                                len(disagreements(values[PRIMARY], values[QA])))
