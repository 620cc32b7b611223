"""What the table builders share: the chosen samples, the question set and the options.

The answer counts are read on first use and then kept, so that a report of a few tables
reads only what those tables need, and tables on the same sample read it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import pandas as pd

from audit.report.model import ReportTable
from audit.store.engine import Database
from audit.store.models import Inspection
from audit.views.report_data import unit_counts
from audit.views.samples import Sample, answer_counts, sample_cases
from question_sets import QuestionSet
from question_sets.model import Ratings


def report_samples(inspections: Sequence[Inspection]) -> tuple[Sample | None, list[Sample]]:
    """The thematic sample, and the samples shown side by side in Figures 4.3 and 4.6."""
    thematic = [i for i in inspections if i.kind == "thematic"]
    core = [i for i in inspections if i.kind == "core"]
    theme = (Sample("thematic", "Thematic IOM sample",
                    tuple(i.id for i in thematic if i.id is not None))
             if thematic else None)
    side = [theme] if theme else []
    if core:
        side.append(Sample("core_iom", "Core programme IOM cases",
                           tuple(i.id for i in core if i.id is not None), iom_only=True))
    return theme, side


class ReportContext:
    """The inputs of every table of one report."""

    def __init__(self, db: Database, qs: QuestionSet, inspections: Sequence[Inspection], *,
                 names: Sequence[str], ratings: Ratings, alpha: float,
                 correction: str) -> None:
        self.db = db
        self.qs = qs
        self.theme, self.side = report_samples(inspections)
        self.inspection_ids = [i.id for i in inspections if i.id is not None]
        # The inspections as named by the user; none lets the comparison choose its own.
        self.names = list(names)
        self.ratings = ratings  # the question set's rules, thresholds as asked
        self.alpha = alpha
        self.correction = correction
        # Tables another table is built from (the ratings, for the rating gaps), by entry id.
        self.made: dict[str, ReportTable | None] = {}

    @property
    def theme_sample(self) -> Sample:
        """The thematic sample (only asked for by entries marked thematic)."""
        if self.theme is None:
            raise LookupError("no thematic inspection is among those chosen")
        return self.theme

    @cached_property
    def theme_cases(self) -> pd.DataFrame:
        """The thematic sample's cases and their profile."""
        return sample_cases(self.db, self.theme_sample)

    @cached_property
    def theme_counts(self) -> pd.DataFrame:
        """The thematic sample's answers to every question, counted per question and code."""
        return answer_counts(self.db, self.theme_sample, [q.id for q in self.qs.questions])

    @cached_property
    def side_counts(self) -> dict[str, pd.DataFrame]:
        """Answer counts of each side-by-side sample (by sample id), factors at least."""
        factors = [q.id for q in self.qs.questions if q.factor]
        return {s.id: self.theme_counts if s is self.theme else answer_counts(self.db, s, factors)
                for s in self.side}

    @property
    def key_questions(self) -> list[str]:
        """Ids of the key questions, in question-set order."""
        return [q.id for q in self.qs.key_questions]

    @cached_property
    def key_unit_counts(self) -> pd.DataFrame:
        """The key questions' answers counted per site and per lead agency (the standards'
        ratings and the yes answers each needs read the same counts)."""
        return unit_counts(self.db, self.inspection_ids, self.key_questions)
