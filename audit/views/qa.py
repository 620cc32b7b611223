"""Blind QA and moderation: the primary and QA ratings of a case side by side.

The QA rater's answers are stored as rater 'qa' and the agreed answers as rater
'moderated' (through `audit.cases.record_answer(rater=...)`); this module only lines
them up for the disagreements view.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.cases import CaseView
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


def side_by_side(qs: QuestionSet, case: CaseView, *, only_disagreements: bool = False
                 ) -> list[Comparison]:
    """Every question either rater answered, in set order (or only the disagreements)."""
    primary, qa, moderated = (case.values(r) for r in ("primary", "qa", "moderated"))
    out = []
    for q in qs.questions:
        row = Comparison(q.id, q.label, q.section_title, primary.get(q.id), qa.get(q.id),
                         moderated.get(q.id))
        if row.primary is None and row.qa is None and row.moderated is None:
            continue
        if only_disagreements and not row.disagrees:
            continue
        out.append(row)
    return out


def has_qa(case: CaseView) -> bool:
    """Whether a blind QA rating has been started on the case."""
    return any(a.value is not None for a in case.answers.get("qa", {}).values())
