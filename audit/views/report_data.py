"""The reads behind the report's tables that are not answer counts of one sample.

Ratings per site and provider, the cases rated twice for the reliability annex, and the
size of each inspection for the title page. The report builds tables from these frames;
it holds no SQL of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlmodel import col

from audit import qa_rules
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Site
from audit.views.frames import case_frame
from audit.views.samples import REPORT_RATER
from audit.views.tally import case_patterns, tally_patterns


def unit_counts(db: Database, inspection_ids: Sequence[int],
                questions: Sequence[str]) -> pd.DataFrame:
    """Answers counted per site and per provider, for the standards ratings.

    Columns: unit_type ("site" or "provider"), inspection, unit, question_id, value, count.
    One scan of the answers, counted per inspection, site and provider together; the two
    views are sums of it.
    """
    # The cases grouped by their keys in the database (a few hundred patterns), rather
    # than a row read per case: the same tally (`tally_patterns`).
    cases = case_patterns(db, inspection_ids, {"inspection": col(Inspection.name),
                                               "site": col(Site.name),
                                               "provider": col(Case.provider)})
    both = tally_patterns(db, cases, questions, inspection_ids=inspection_ids,
                          rater=REPORT_RATER)
    frames = []
    for unit_type in ("site", "provider"):
        part = (both.groupby(["inspection", unit_type, "question_id", "value"], dropna=False)
                ["count"].sum().reset_index().rename(columns={unit_type: "unit"}))
        part.insert(0, "unit_type", unit_type)
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def rated_twice(db: Database, inspection_ids: Sequence[int],
                questions: Sequence[str]) -> list[int]:
    """Ids of the cases with a QA answer to any of `questions`."""
    # Found on the answer index before any case is read: a national set has few of them.
    with db.engine.connect() as conn:
        return [int(i) for i in conn.execute(
            sa.select(col(Answer.case_id)).distinct()
            .join(Case, col(Answer.case_id) == Case.id)
            .where(col(Answer.rater) == "qa", col(Answer.question_id).in_(list(questions)),
                   col(Case.inspection_id).in_(list(inspection_ids)))).scalars().all()]


@dataclass(frozen=True)
class RatingPairs:
    """The primary and QA answers of the cases rated twice (index: case id, one column
    per question), and how many cases were left out as self-pairs."""

    primary: pd.DataFrame
    qa: pd.DataFrame
    self_pairs: int = 0


def rating_pairs(db: Database, inspection_ids: Sequence[int],
                 questions: Sequence[str]) -> RatingPairs | None:
    """The cases rated twice, or None if none: their primary and blind QA answers, the two
    independent ratings the agreement statistics compare (never the moderated ones).

    Both frames hold the same cases: those with a QA answer, less the self-pairs (a QA
    rater who also gave or changed the case's primary answers: `audit.qa_rules`), which
    never enter the reliability statistics.
    """
    twice = rated_twice(db, inspection_ids, questions)
    if not twice:
        return None
    with db.engine.connect() as conn:
        excluded = qa_rules.self_pairs(conn, twice)
    kept = [c for c in twice if c not in excluded]
    # The two independent ratings, never the moderated answers: a moderator has seen both,
    # so counting their answer would count agreement that is not the raters'.
    qa = case_frame(db, inspection_ids, questions=questions, rater=qa_rules.QA, fields=[],
                    only_answered=True, case_ids=kept)
    if qa.empty and not excluded:
        return None
    primary = case_frame(db, inspection_ids, questions=questions, rater=qa_rules.PRIMARY,
                         fields=[], case_ids=[int(i) for i in qa.index])
    return RatingPairs(primary, qa, len(excluded))


def case_counts(db: Database, inspection_ids: Sequence[int]) -> dict[int, int]:
    """Number of cases in each inspection (0 for one without cases)."""
    with db.engine.connect() as conn:
        found = {i: int(n) for i, n in conn.execute(
            sa.select(col(Case.inspection_id), sa.func.count()).select_from(Case)
            .where(col(Case.inspection_id).in_(list(inspection_ids)))
            .group_by(col(Case.inspection_id)))}
    return {i: found.get(i, 0) for i in inspection_ids}
