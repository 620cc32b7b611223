"""Comparisons from pre-counted answers, e.g. a SQL `GROUP BY` over a national dataset.

Every statistic of a comparison needs only counts: the tests of proportions need yes/no
per question and group, and the logistic regression (all regressors categorical) needs
yes and n per covariate pattern (`stats.regression.effect_from_patterns`). So a database
can aggregate 4 million answers to a few thousand rows and hand those over, giving the
same `Comparison` as `compare_groups` on the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from stats.compare import assemble
from stats.counting import MISSING, N_CLASSES, NA, NO, OTHER, YES
from stats.regression import effect_from_patterns
from stats.results import DEFAULT_COVARIATES, Comparison, EffectResult, QuestionInfo
from stats.significance import CORRECTIONS, TESTS

CLASS_OF = {"yes": YES, "no": NO, "na": NA}


def count_array(counts: pd.DataFrame, by: str, questions: Sequence[str],
                levels: Sequence[str],
                group_sizes: Mapping[str, int] | None = None) -> np.ndarray:
    """Counts of shape (questions, levels, classes) from a long counts frame.

    `counts` has columns question_id, `by`, value, count (other columns are summed over).
    With `group_sizes` (cases per level), cases with no answer count as missing.
    """
    out = np.zeros((len(questions), len(levels), N_CLASSES), dtype=np.int64)
    q_index = {q: i for i, q in enumerate(questions)}
    l_index = {lv: i for i, lv in enumerate(levels)}
    summed = counts.groupby(["question_id", by, "value"], observed=True)["count"].sum()
    # What .items() yields, with the MultiIndex keys unpacked (typed Hashable there).
    for (qid, level, value), n in zip(summed.index, summed, strict=True):
        qi, li = q_index.get(qid), l_index.get(level)
        if qi is None or li is None:
            continue
        out[qi, li, CLASS_OF.get(value, OTHER)] += int(n)
    if group_sizes:
        for level, li in l_index.items():
            answered = out[:, li, :MISSING].sum(axis=1)
            out[:, li, MISSING] = np.maximum(int(group_sizes.get(level, 0)) - answered, 0)
    return out


def effects_from_counts(counts: pd.DataFrame, by: str, questions: Sequence[str],
                        levels: Sequence[str],
                        covariates: Sequence[str] = DEFAULT_COVARIATES
                        ) -> dict[str, EffectResult]:
    """The independent effect of the group per question, from pattern counts."""
    missing = [c for c in covariates if c not in counts.columns]
    if missing:
        failed = EffectResult(None, None, None, 0, "failed",
                              "covariates not in the data: " + ", ".join(missing))
        return {q: failed for q in questions}
    first, second = str(levels[0]), str(levels[1])
    usable = counts[counts[by].isin([first, second]) & counts["value"].isin(["yes", "no"])]
    usable = usable.dropna(subset=list(covariates))
    # Reference levels as the row-level model picks them: sorted observed levels.
    level_names: list[tuple[str, ...]] = [(second, first)]
    for c in covariates:
        level_names.append(tuple(sorted({str(v) for v in usable[c].unique()})))
    names = (by, *covariates)
    keys = [by, *covariates]
    # One grouping for every question (sorted by question, then as each question's own
    # grouping would sort its patterns), sliced per question below: the same patterns
    # in the same order as grouping each question apart, without 47 filters and groupings.
    yes = usable["count"].where(usable["value"] == "yes", 0)
    grouped = usable.assign(_yes=yes).groupby(["question_id", *keys], observed=True)[
        ["count", "_yes"]].sum()
    index = grouped.index
    codes = [np.asarray(index.get_level_values(1) == first, dtype=np.int64)]
    for j in range(1, len(covariates) + 1):
        found = pd.Index(level_names[j]).get_indexer(index.get_level_values(j + 1).astype(str))
        codes.append(np.asarray(found, dtype=np.int64))
    patterns = np.column_stack(codes) if len(index) else np.zeros((0, len(keys)), np.int64)
    trials, successes = grouped["count"].to_numpy(), grouped["_yes"].to_numpy()
    asked = np.asarray(index.get_level_values(0), dtype=object)
    bounds = [0, *(np.flatnonzero(asked[1:] != asked[:-1]) + 1).tolist(), len(asked)]
    spans = {asked[b]: (b, e) for b, e in zip(bounds[:-1], bounds[1:], strict=True) if e > b}
    out: dict[str, EffectResult] = {}
    for qid in questions:
        if qid not in spans:
            out[qid] = EffectResult(None, None, None, 0, "single_level",
                                    "no yes/no answers among the cases with known covariates")
            continue
        b, e = spans[qid]
        out[qid] = effect_from_patterns(by, names, level_names, patterns[b:e], trials[b:e],
                                        successes[b:e])
    return out


def compare_counts(counts: pd.DataFrame, by: str, questions: Sequence[str],
                   info: Mapping[str, QuestionInfo] | None = None, *,
                   levels: Sequence[str], group_sizes: Mapping[str, int] | None = None,
                   alpha: float = 0.05, correction: str = "holm", test: str = "auto",
                   yates: bool = False, covariates: Sequence[str] = DEFAULT_COVARIATES,
                   independent_effect: bool = True,
                   effect_questions: Sequence[str] | None = None,
                   missing_group: int = 0) -> Comparison:
    """`compare_groups` from counts: columns question_id, `by`, covariates, value, count.

    `effect_questions` limits the regressions (default: every question). The counts hold
    answers, not cases, so the cases left out are counted from what the caller knows:
    `missing_group` cases of unknown group (``dropped_missing_group``), and every case of
    `group_sizes` whose level is not in `levels` (``dropped_other_level``), as
    `compare_groups` counts them from rows.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {tuple(CORRECTIONS)}, not {correction!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    chosen = tuple(str(lv) for lv in levels)
    array = count_array(counts, by, questions, chosen, group_sizes)
    effects = None
    if independent_effect and len(chosen) == 2:
        effects = effects_from_counts(counts, by, list(effect_questions or questions), chosen,
                                      covariates)
    other = sum(int(n) for level, n in (group_sizes or {}).items()
                if str(level) not in chosen)
    return assemble(by, questions, info or {}, chosen, array, alpha=alpha,
                    correction=correction, test=test, yates=yates, covariates=covariates,
                    effects=effects, dropped_missing_group=int(missing_group),
                    dropped_other_level=other)
