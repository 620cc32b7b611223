"""The moderated final record: what the published tables count.

For each case and question the final record holds the **moderated** answer where one was
recorded (a double-rated case whose primary and blind QA answers disagreed, reconciled by
a moderator), and otherwise the **primary** answer. Nothing is stored for it: it is read
from the two ratings, so it follows every moderation at once.

Agreement statistics never read it: they compare the two independent ratings, primary
against blind QA (`audit.views.report_data.rating_pairs`), because a moderated answer is
made after seeing both and would count the moderator's agreement as the raters'.

Moderated answers are few (a QA sample, and only where the ratings disagreed), so the
final record is counted as the primary tally corrected by them (`overrides`): each
moderated answer takes its case's primary answer out of the count and puts its own in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col

from audit.store.models import RATERS, Answer, Case

if TYPE_CHECKING:  # pandas loads where a frame is built: the constants below are light
    import pandas as pd

PRIMARY, MODERATED = "primary", "moderated"
FINAL = "final"
"""The final record where a rater is named (tallies, `export --rater final`)."""

FINAL_LABEL = ("Final record: the moderated answer where the case was reconciled, "
               "otherwise the primary answer")

COUNTED = FINAL
"""Whose answers the published tables (report, `tables`, `compare`) count."""

ANSWER_SOURCES = {**RATERS, FINAL: FINAL_LABEL}
"""Every rater a wide export or a tally may be filled from, with its label."""

METHODS_TEXT = (
    "Answers counted in the tables are the moderated final record: for a case rated twice "
    "(primary and blind quality-assurance rating) whose disagreements were reconciled, the "
    "moderated answer; otherwise the primary rating. Agreement statistics (the inter-rater "
    "reliability table) compare the two independent ratings, primary against blind QA, "
    "never the moderated answers, and never where the QA rater had also given or changed "
    "primary answers of the case (a self-pair).")
"""What the report's methods say about the answers counted (one home for the words)."""


def overrides(conn: sa.Connection, questions: Sequence[str],
              inspection_ids: Sequence[int]) -> pd.DataFrame:
    """The moderated answers (with a value) of these inspections' cases to `questions`,
    beside the primary answer each replaces in the final record.

    Columns: case_id (int64), question_id, primary (None where there is no primary answer,
    or one without a value), final. Few rows: read through the answer index's `rater`
    prefix, each primary answer by the unique (case, question, rater) key.
    """
    moderated = aliased(Answer, name="m")
    primary = aliased(Answer, name="p")
    stmt = (sa.select(col(moderated.case_id), col(moderated.question_id),
                      col(primary.value), col(moderated.value))
            .select_from(moderated)
            .join(Case, sa.and_(col(Case.id) == col(moderated.case_id),
                                col(Case.inspection_id).in_(list(inspection_ids))))
            .outerjoin(primary, sa.and_(col(primary.case_id) == col(moderated.case_id),
                                        col(primary.question_id) == col(moderated.question_id),
                                        col(primary.rater) == PRIMARY))
            .where(col(moderated.rater) == MODERATED,
                   col(moderated.question_id).in_(list(questions)),
                   col(moderated.value).is_not(None)))
    import pandas as pd

    rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows],
                         columns=["case_id", "question_id", "primary", "final"], dtype=object)
    frame["case_id"] = frame["case_id"].astype("int64")
    return frame


def final_answers(answers: pd.DataFrame) -> pd.DataFrame:
    """The final record of long answers of any raters (columns case_id, question_id,
    value, rater; answers without a value left out beforehand): case_id, question_id,
    value, one row per case and question that has a primary or a moderated answer."""
    mine = answers[answers["rater"].isin([PRIMARY, MODERATED])]
    # Moderated rows sort first, so each case and question keeps its moderated answer.
    ordered = mine.assign(_first=(mine["rater"] != MODERATED).astype("int8")).sort_values(
        ["case_id", "question_id", "_first"], kind="stable")
    kept = ordered.drop_duplicates(["case_id", "question_id"], keep="first")
    return kept[["case_id", "question_id", "value"]].reset_index(drop=True)


@dataclass(frozen=True)
class FinalJoin:
    """One question's final-record answer, for a query over `Case`: `apply` outer-joins
    the case's primary and moderated answers to it, `value` is the final answer and
    `given` holds where the case has either answer."""

    question_id: str
    primary: Any  # aliases of Answer
    moderated: Any
    value: sa.ColumnElement[Any]
    given: sa.ColumnElement[bool]

    def apply(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        """`stmt` (selecting from `Case`) with the two answers outer-joined."""
        p, m, qid = self.primary, self.moderated, self.question_id
        return (stmt.outerjoin(p, sa.and_(p.case_id == Case.id, p.rater == PRIMARY,
                                          p.question_id == qid))
                .outerjoin(m, sa.and_(m.case_id == Case.id, m.rater == MODERATED,
                                      m.question_id == qid, m.value.is_not(None))))


def final_join(question_id: str) -> FinalJoin:
    """The joins and expressions of one question's final-record answer (`FinalJoin`)."""
    p: Any = aliased(Answer, name="final_p")
    m: Any = aliased(Answer, name="final_m")
    return FinalJoin(question_id, p, m, sa.func.coalesce(m.value, p.value),
                     sa.or_(p.id.is_not(None), m.id.is_not(None)))
