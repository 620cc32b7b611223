"""The samples a report describes, and their answers counted in SQL.

A thematic report shows the thematic fieldwork sample and, side by side where the
figure does (Figures 4.3, 4.6), the IOM cases of the core programme. Each sample is a set
of inspections, optionally narrowed to its IOM cases.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from audit.final_record import COUNTED
from audit.store.engine import Database
from audit.views.frames import case_frame
from audit.views.groups import IOM_LEVELS, group_expression
from audit.views.tally import CasePatterns, case_keys, case_patterns, tally, tally_patterns

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
    if sample.iom_only:
        # A whole programme's IOM cases (half of a national set): their ids as a few
        # lists, one per IOM status, rather than a row read per case; inside a report,
        # regrouped from its shared grouping (`tally.share_case_grouping`).
        by_status = case_patterns(db, sample.inspection_ids, {"iom": group_expression("iom")})
        ids = [i for level, i in zip(by_status.keys["iom"], by_status.ids, strict=True)
               if level == IOM_LEVELS[0]]
        lists = [np.sort(np.concatenate(ids))] if ids else []
        cases = CasePatterns(pd.DataFrame(index=range(len(lists))), lists)
        return tally_patterns(db, cases, questions, inspection_ids=sample.inspection_ids,
                              rater=REPORT_RATER)
    return tally(db, case_keys(db, sample.inspection_ids, {}), questions,
                 inspection_ids=sample.inspection_ids, rater=REPORT_RATER)


def sample_cases(db: Database, sample: Sample) -> pd.DataFrame:
    """The sample's cases with their profile, one row a case (index: case id; no answers)."""
    cases = case_frame(db, sample.inspection_ids, questions=[])
    if sample.iom_only:
        cases = cases[cases["iom"].fillna(False).astype(bool)]
    return cases


# `count_of` and `answered` are asked hundreds of times of the same few frames (a report's
# tables read each sample's counts question by question), and each pandas filter costs
# milliseconds: a frame's counts are summed per (question, value) once, on first ask. The
# sums are kept for as long as the frame lives (a weak reference drops them with it);
# counts frames (`tally`) are never changed after they are made.
_SUMS: dict[int, tuple[weakref.ref[pd.DataFrame], dict[tuple[Any, Any], int]]] = {}


def _sums(counts: pd.DataFrame) -> dict[tuple[Any, Any], int]:
    key = id(counts)
    kept = _SUMS.get(key)
    if kept is not None and kept[0]() is counts:
        return kept[1]
    sums: dict[tuple[Any, Any], int] = {}
    for qid, value, n in zip(counts["question_id"].tolist(), counts["value"].tolist(),
                             counts["count"].tolist(), strict=True):
        sums[(qid, value)] = sums.get((qid, value), 0) + int(n)
    _SUMS[key] = (weakref.ref(counts, lambda _: _SUMS.pop(key, None)), sums)
    return sums


def count_of(counts: pd.DataFrame, question_id: str, value: str) -> int:
    """How many answers of `value` a question got (0 when none)."""
    return _sums(counts).get((question_id, value), 0)


def answered(counts: pd.DataFrame, question_id: str, values: Sequence[str]) -> int:
    """How many answers among `values` a question got (the base of its percentages)."""
    sums = _sums(counts)
    return sum(sums.get((question_id, v), 0) for v in set(values))
