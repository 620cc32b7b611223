"""Blind QA and moderation: the blind QA rater's view of a case, and the primary and QA
ratings of a case side by side.

The QA rater's answers are stored as rater 'qa' and the agreed answers as rater
'moderated' (through `audit.cases.record_answer(rater=...)`). What may be shown to whom
is decided in `audit.qa_rules`: these use cases only ask it, inside their own read.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit import qa_rules
from audit.cases import CaseView, load_blind, load_case
from audit.errors import PermissionDenied
from audit.inspections import question_set_of
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Inspection
from question_sets import QuestionSet


@dataclass(frozen=True)
class Comparison:
    """One question's primary, QA and moderated answers."""

    question_id: str
    label: str
    section: str
    primary: str | None
    qa: str | None
    moderated: str | None

    @property
    def disagrees(self) -> bool:
        """Both raters answered and the answers differ."""
        return self.primary is not None and self.qa is not None and self.primary != self.qa

    @property
    def resolved(self) -> bool:
        return self.moderated is not None


@dataclass(frozen=True)
class SideBySide:
    """A case's ratings side by side: every question either rater answered, in set order."""

    case_id: int
    case_ref: str
    version: int
    rows: tuple[Comparison, ...]

    def disagreements(self) -> tuple[Comparison, ...]:
        """Only the questions where both answered and the answers differ."""
        return tuple(r for r in self.rows if r.disagrees)


@dataclass(frozen=True)
class BlindCase:
    """What the blind QA rater sees: the case with its QA answers only, and the QA
    questions still to answer before the primary rating may be shown."""

    view: CaseView
    missing: tuple[str, ...]


def blind_case(db: Database, case_id: int, *, actor: Actor) -> BlindCase:
    """The case as its blind QA rater sees it (`audit.cases.load_blind`: refused to its
    primary raters), and the QA questions still to answer."""
    view = load_blind(db, case_id, actor=actor)
    return BlindCase(view, _qa_state(db, view).missing)


def side_by_side(db: Database, case_id: int, *, actor: Actor) -> SideBySide:
    """The primary, QA and moderated answers of a case, once its QA rating is complete:
    before that they are shown to nobody (`audit.qa_rules`)."""
    view = load_case(db, case_id, actor=actor)  # refuses a QA rater still rating blind
    qs = _question_set(db, view)
    refused = qa_rules.side_by_side_refusal(_qa_state(db, view, qs))
    if refused:
        raise PermissionDenied(refused)
    return SideBySide(view.id, view.case_ref, view.version, tuple(_rows(qs, view)))


def _question_set(db: Database, view: CaseView) -> QuestionSet:
    with db.session() as session:
        inspection = session.get(Inspection, view.inspection_id)
        assert inspection is not None
        return question_set_of(inspection)


def _qa_state(db: Database, view: CaseView, qs: QuestionSet | None = None) -> qa_rules.QaState:
    """Where the QA rating stands, judged on the same snapshot the view shows."""
    given = view.values(qa_rules.QA)
    missing = qa_rules.qa_missing(qs or _question_set(db, view), view.rule_case(), given)
    return qa_rules.QaState(view.case_ref, given, tuple(missing))


def _rows(qs: QuestionSet, case: CaseView) -> list[Comparison]:
    primary, qa, moderated = (case.values(r) for r in ("primary", "qa", "moderated"))
    out = []
    for q in qs.questions:
        row = Comparison(q.id, q.label, q.section_title, primary.get(q.id), qa.get(q.id),
                         moderated.get(q.id))
        if row.primary is None and row.qa is None and row.moderated is None:
            continue
        out.append(row)
    return out


def has_qa(case: CaseView) -> bool:
    """Whether a blind QA rating has been started on the case."""
    return any(a.value is not None for a in case.answers.get("qa", {}).values())
