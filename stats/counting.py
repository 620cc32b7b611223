"""Vectorised coding and counting: group levels and answer classes as integer arrays.

Everything here works on whole columns (pandas/numpy), never row by row, so that
100,000 cases x 40 questions count in milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stats.results import GroupCounts

# Answer classes, in the order of the last axis of ``count_answers``.
YES, NO, NA, OTHER, MISSING = range(5)
N_CLASSES = 5
ANSWER_CODES = ("yes", "no", "na")


def codes_for(column: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Position of each value in ``categories``; -1 for missing or unlisted values.

    Values are compared as strings, so a ``category`` column whose categories are not
    strings (or a bool column) still matches its string levels.
    """
    # Factorise (hash once, fast for arrow strings too) and map only the few uniques.
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    position = {c: i for i, c in enumerate(categories)}
    lookup = np.array([position.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) hits the last slot


def answer_classes(column: pd.Series) -> np.ndarray:
    """Classify each answer as YES, NO, NA, OTHER (any other code) or MISSING."""
    codes = codes_for(column, ANSWER_CODES)
    unmatched = codes == -1
    present = column.notna().to_numpy()
    codes[unmatched & present] = OTHER
    codes[unmatched & ~present] = MISSING
    return codes


def observed_levels(column: pd.Series) -> tuple[str, ...]:
    """Levels present in a grouping column: category order for ``category``, else sorted."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        used = column.cat.remove_unused_categories().cat.categories
        return tuple(str(c) for c in used)
    return tuple(sorted({str(v) for v in pd.unique(column.dropna())}))


@dataclass(frozen=True)
class GroupIndex:
    """Each row's group as an index into ``levels``: -1 missing group, -2 another level."""

    levels: tuple[str, ...]
    codes: np.ndarray
    n_missing: int
    n_other: int


def group_index(column: pd.Series, levels: Sequence[str] | None = None) -> GroupIndex:
    """Code a grouping column against ``levels`` (default: the observed levels)."""
    chosen = observed_levels(column) if levels is None else tuple(str(lv) for lv in levels)
    codes = codes_for(column, chosen)
    missing = column.isna().to_numpy()
    other = (codes == -1) & ~missing
    codes[other] = -2
    return GroupIndex(chosen, codes, int(missing.sum()), int(other.sum()))


def count_answers(df: pd.DataFrame, questions: Sequence[str], groups: GroupIndex) -> np.ndarray:
    """Counts of shape (questions, levels, N_CLASSES) for rows with a known group."""
    n_levels = len(groups.levels)
    valid = groups.codes >= 0
    base = groups.codes[valid] * N_CLASSES
    out = np.zeros((len(questions), n_levels, N_CLASSES), dtype=np.int64)
    if n_levels == 0:
        return out
    for i, question in enumerate(questions):
        classes = answer_classes(df[question])[valid]
        out[i] = np.bincount(base + classes, minlength=n_levels * N_CLASSES).reshape(
            n_levels, N_CLASSES)
    return out


def group_counts(counts: np.ndarray) -> GroupCounts:
    """One (N_CLASSES,) slice of ``count_answers`` as a ``GroupCounts``."""
    return GroupCounts(yes=int(counts[YES]), no=int(counts[NO]), na=int(counts[NA]),
                       other=int(counts[OTHER]), missing=int(counts[MISSING]))
