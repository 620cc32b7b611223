"""Blind QA and moderation: the blind QA rater's view of a case, and the primary and QA
ratings of a case side by side.

The QA rater's answers are stored as rater 'qa' and the agreed answers as rater
'moderated' (through `audit.cases.record_answer(rater=...)`). What may be shown to whom
is decided in `audit.qa_rules`: these use cases only ask it, inside their own read.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit import lifecycle, qa_rules
from audit.cases import AnswerView, CaseView, load_blind, load_case
from audit.errors import PermissionDenied
from audit.inspections import question_set_of
from audit.permissions import Actor, rating_action, refusal, role_of
from audit.store.engine import Database
from audit.store.models import Inspection
from question_sets import QuestionSet


@dataclass(frozen=True)
class Comparison:
    """One question's primary, QA and moderated answers, their notes and who gave them."""

    question_id: str
    label: str
    section: str
    primary: str | None
    qa: str | None
    moderated: str | None
    primary_note: str | None = None
    qa_note: str | None = None
    moderated_note: str | None = None  # the moderator's comment
    codes: tuple[tuple[str, str], ...] = ()  # (code, label) of the question's answers
    primary_by: str | None = None
    qa_by: str | None = None
    moderated_by: str | None = None
    text: str = ""  # the question in full

    @property
    def disagrees(self) -> bool:
        """Both raters answered and the answers differ."""
        return qa_rules.disagree(self.primary, self.qa)

    @property
    def resolved(self) -> bool:
        return self.moderated is not None

    @property
    def decision(self) -> str | None:
        """How the moderated answer was reached: "primary", "qa", "both" (they agree),
        "third" (neither rating's answer) or None (no moderated answer)."""
        if self.moderated is None:
            return None
        if qa_rules.is_third_answer(self.moderated, self.primary, self.qa):
            return "third"
        if self.primary == self.qa:
            return "both"
        return "primary" if self.moderated == self.primary else "qa"

    @property
    def final(self) -> str | None:
        """The final record's answer (`audit.final_record`): moderated, else primary."""
        return self.moderated if self.moderated is not None else self.primary

    def code_label(self, code: str | None) -> str:
        """An answer code as people read it ("Not applicable")."""
        return dict(self.codes).get(code, code) if code is not None else "unanswered"


@dataclass(frozen=True)
class SideBySide:
    """A case's ratings side by side: every question either rater answered, in set order,
    with where its reconciliation stands and whether the reader may moderate it."""

    case_id: int
    case_ref: str
    version: int
    rows: tuple[Comparison, ...]
    status: str = "in_progress"
    refusal: str | None = None  # why the reader may not moderate (None: they may)

    def disagreements(self) -> tuple[Comparison, ...]:
        """Only the questions where both answered and the answers differ."""
        return tuple(r for r in self.rows if r.disagrees)

    @property
    def reconciled(self) -> int:
        """Disagreements with a moderated answer (k of `len(disagreements())`)."""
        return sum(r.resolved for r in self.disagreements())

    @property
    def all_reconciled(self) -> bool:
        return self.reconciled == len(self.disagreements())

    @property
    def may_mark_moderated(self) -> bool:
        """Whether the case waits only for the move to moderated (its lead still needs the
        permission, which the use case checks)."""
        return self.status == lifecycle.QA_CHECKED and self.all_reconciled \
            and self.refusal is None


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
    return SideBySide(view.id, view.case_ref, view.version, tuple(_rows(qs, view)),
                      view.status, moderation_refusal(db, view, actor))


def moderation_refusal(db: Database, view: CaseView, actor: Actor) -> str | None:
    """Why `actor` may not record the case's moderated answers (their role, or rule 1 of
    `audit.qa_rules`: they gave or changed its primary answers), or None. For the face to
    say so before anything is typed; `audit.cases.moderate` checks again."""
    with db.engine.connect() as conn:
        role = role_of(conn, actor.name)
        refused = refusal(actor.name, role, rating_action(qa_rules.MODERATED))
        if refused:
            return refused
        people = qa_rules.raters(conn, [view.id], only=(qa_rules.PRIMARY,)).get(
            view.id, qa_rules.Raters())
    return qa_rules.refusal(actor.name, view.case_ref, qa_rules.MODERATED, people)


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


def _parts(answer: AnswerView | None) -> tuple[str | None, str | None, str | None]:
    """An answer's value, note and inspector (None each when there is no answer)."""
    return (answer.value, answer.note, answer.inspector) if answer else (None, None, None)


def _rows(qs: QuestionSet, case: CaseView) -> list[Comparison]:
    primary, qa, moderated = (case.answers.get(r, {}) for r in ("primary", "qa", "moderated"))
    out = []
    for q in qs.questions:
        (p, p_note, p_by), (a, a_note, a_by), (m, m_note, m_by) = (
            _parts(primary.get(q.id)), _parts(qa.get(q.id)), _parts(moderated.get(q.id)))
        row = Comparison(q.id, q.label, q.section_title, p, a, m, p_note, a_note, m_note,
                         tuple(q.codes.items()), p_by, a_by, m_by, q.text)
        if row.primary is None and row.qa is None and row.moderated is None:
            continue
        out.append(row)
    return out


def has_qa(case: CaseView) -> bool:
    """Whether a blind QA rating has been started on the case."""
    return any(a.value is not None for a in case.answers.get("qa", {}).values())
