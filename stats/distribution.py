"""Distribution tables: counts and percentages of a coded field by group (Figures 4.x, 5.1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from stats.counting import (
    NO,
    YES,
    GroupIndex,
    codes_for,
    count_answers,
    group_counts,
    group_index,
)
from stats.results import (
    Distribution,
    DistributionCell,
    GroupBase,
    QuestionInfo,
    YesNoRow,
    YesNoTable,
)

ALL = "all"


def _categories(column: pd.Series, order: Sequence[str] | None,
                unknown: Sequence[str]) -> tuple[str, ...]:
    """``order`` first, then any other observed code (category order, else sorted)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        seen = [str(c) for c in column.cat.categories]
    else:
        seen = sorted({str(v) for v in pd.unique(column.dropna())})
    listed = [str(c) for c in order] if order is not None else []
    rest = [c for c in seen if c not in listed and c not in unknown]
    return tuple(listed + rest)


def distribution(
    df: pd.DataFrame,
    field: str,
    by: str | None = None,
    *,
    suppress_below: int = 5,
    order: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    base: str = "known",
    levels: Sequence[str] | None = None,
    unknown: Sequence[str] = ("unknown",),
) -> Distribution:
    """Counts of each code of ``field`` per level of ``by`` (one level "all" when None).

    Missing values and the ``unknown`` codes are counted apart.  ``base="known"`` takes
    percentages of the known answers; ``base="all"`` of every row in the group.  Cells
    with 0 < count < ``suppress_below`` are flagged ``suppressed`` (the count is kept so
    that the presentation layer decides what to hide).  Rows with a missing group are left
    out.
    """
    if base not in ("known", "all"):
        raise ValueError(f"base must be 'known' or 'all', not {base!r}")
    column = df[field]
    unknown = tuple(str(u) for u in unknown)
    categories = _categories(column, order, unknown)
    if by is None:
        group_levels: tuple[str, ...] = (ALL,)
        group_codes = np.zeros(len(df), dtype=np.int64)
    else:
        groups = group_index(df[by], levels)
        group_levels, group_codes = groups.levels, groups.codes
    # Codes: categories, then unknown, then missing, as one index for a single bincount.
    codes = codes_for(column, categories + unknown)
    n_known, width = len(categories), len(categories) + 2
    codes[(codes >= n_known)] = n_known  # any unknown code
    codes[codes == -1] = n_known + 1  # missing (unlisted codes cannot occur: all are listed)
    valid = group_codes >= 0
    table = np.bincount(group_codes[valid] * width + codes[valid],
                        minlength=len(group_levels) * width).reshape(len(group_levels), width)
    labels = labels or {}
    cells, bases = [], {}
    for i, level in enumerate(group_levels):
        known = int(table[i, :n_known].sum())
        total = int(table[i].sum())
        denominator = known if base == "known" else total
        bases[level] = GroupBase(level, denominator, total, int(table[i, n_known + 1]),
                                 int(table[i, n_known]))
        for j, category in enumerate(categories):
            count = int(table[i, j])
            cells.append(DistributionCell(
                level, category, labels.get(category, category), count,
                100.0 * count / denominator if denominator else None,
                0 < count < suppress_below))
    return Distribution(field, by, group_levels, categories, tuple(cells), bases,
                        suppress_below, base)


def yes_no_by_factor(
    df: pd.DataFrame,
    questions: Sequence[str],
    by: str | None = None,
    info: Mapping[str, QuestionInfo] | None = None,
    *,
    levels: Sequence[str] | None = None,
    suppress_below: int = 5,
) -> YesNoTable:
    """Yes and n (yes + no) per question and group, e.g. factors linked to offending."""
    if by is None:
        groups = GroupIndex((ALL,), np.zeros(len(df), dtype=np.int64), 0, 0)
    else:
        groups = group_index(df[by], levels)
    counts = count_answers(df, questions, groups)
    info = info or {}
    rows = []
    for i, question in enumerate(questions):
        per_level = {lv: group_counts(counts[i, j]) for j, lv in enumerate(groups.levels)}
        flags = {lv: bool(0 < counts[i, j, YES] < suppress_below
                          or 0 < counts[i, j, NO] < suppress_below)
                 for j, lv in enumerate(groups.levels)}
        label = info[question].label if question in info else str(question)
        rows.append(YesNoRow(question, label, per_level, flags))
    return YesNoTable(by, groups.levels, tuple(rows), suppress_below)
