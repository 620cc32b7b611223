"""The samples a report describes, and their answers counted in SQL.

A thematic report shows the thematic fieldwork sample and, side by side where the
figure does (Figures 4.3, 4.6), the IOM cases of the core programme. Each sample is a set
of inspections, optionally narrowed to its IOM cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlmodel import col

from audit.final_record import COUNTED
from audit.store.engine import Database
from audit.store.models import Case
from audit.views.frames import case_frame
from audit.views.tally import case_keys, tally

# Whose answers the published tables count: the moderated final record
# (`audit.final_record`).
REPORT_RATER = COUNTED


@dataclass(frozen=True)
class Sample:
    """A group of cases reported together."""

    id: str  # column-id prefix: "thematic", "core_iom"
    label: str  # "Thematic IOM sample"
    inspection_ids: tuple[int, ...]
    iom_only: bool = False


def answer_counts(db: Database, sample: Sample, questions: Sequence[str]) -> pd.DataFrame:
    """Answers of the sample counted per question and code: question_id, value, count."""
    where = [col(Case.iom).is_(True)] if sample.iom_only else []
    cases = case_keys(db, sample.inspection_ids, {}, where=where)
    return tally(db, cases, questions, inspection_ids=sample.inspection_ids,
                 rater=REPORT_RATER)


def sample_cases(db: Database, sample: Sample) -> pd.DataFrame:
    """The sample's cases with their profile, one row a case (index: case id; no answers)."""
    cases = case_frame(db, sample.inspection_ids, questions=[])
    if sample.iom_only:
        cases = cases[cases["iom"].fillna(False).astype(bool)]
    return cases


def count_of(counts: pd.DataFrame, question_id: str, value: str) -> int:
    """How many answers of `value` a question got (0 when none)."""
    hit = counts[(counts["question_id"] == question_id) & (counts["value"] == value)]
    return int(hit["count"].sum())


def answered(counts: pd.DataFrame, question_id: str, values: Sequence[str]) -> int:
    """How many answers among `values` a question got (the base of its percentages)."""
    hit = counts[(counts["question_id"] == question_id) & counts["value"].isin(list(values))]
    return int(hit["count"].sum())
