"""Compare yes rates per question between the levels of a grouping field (Figure 5.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from stats.counting import NO, YES, count_answers, group_counts, group_index
from stats.regression import DEFAULT_COVARIATES, independent_effects
from stats.results import Comparison, ComparisonRow, EffectResult, QuestionInfo, Summary
from stats.significance import (
    CORRECTIONS,
    TESTS,
    adjust_pvalues,
    newcombe_diff,
    sample_odds_ratio,
    significance_test,
)


def _compare_one(question: str, info: QuestionInfo, levels: tuple[str, ...],
                 counts: np.ndarray, test: str, yates: bool) -> ComparisonRow:
    """Everything for one question except the adjusted p-value and the regression."""
    groups = {level: group_counts(counts[i]) for i, level in enumerate(levels)}
    table = np.column_stack([counts[:, YES], counts[:, NO]])
    result = significance_test(table, test=test, yates=yates)
    notes = [result.note] if result.note else []
    if result.status == "empty_group":
        notes = ["no applicable answers in " + ", ".join(lv for lv, c in groups.items()
                                                         if c.n == 0)]
    row: dict = {"test": result.test, "statistic": result.statistic,
                 "p_value": result.p_value, "small_expected": result.small_expected,
                 "status": result.status}
    if len(levels) == 2:
        first, second = groups[levels[0]], groups[levels[1]]
        if first.n and second.n:
            row["diff_pp"], row["diff_ci"] = newcombe_diff(first.yes, first.n,
                                                           second.yes, second.n)
        if result.test is not None:
            row["odds_ratio"], row["or_ci"], or_note = sample_odds_ratio(table)
            if or_note:
                notes.append(or_note)
    return ComparisonRow(question_id=question, label=info.label, section=info.section,
                         key=info.key, groups=groups, note="; ".join(notes), **row)


def _summary(rows: Sequence[ComparisonRow], levels: tuple[str, ...]) -> Summary:
    """Mean difference and pooled/mean percentages over key questions (else all)."""
    key = [r for r in rows if r.key]
    basis, chosen = ("key", key) if key else ("all", list(rows))
    pooled: dict[str, float | None] = {}
    mean_pct: dict[str, float | None] = {}
    for level in levels:
        yes = sum(r.groups[level].yes for r in chosen)
        n = sum(r.groups[level].n for r in chosen)
        pooled[level] = 100.0 * yes / n if n else None
        pcts = [pct for r in chosen if (pct := r.groups[level].pct) is not None]
        mean_pct[level] = float(np.mean(pcts)) if pcts else None
    diffs = [r.diff_pp for r in chosen if r.diff_pp is not None]
    mean_diff = float(np.mean(diffs)) if diffs and len(levels) == 2 else None
    return Summary(mean_diff, pooled, mean_pct, tuple(r.question_id for r in chosen), basis)


def compare_groups(
    df: pd.DataFrame,
    by: str,
    questions: Sequence[str] | None = None,
    info: Mapping[str, QuestionInfo] | None = None,
    *,
    levels: Sequence[str] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    test: str = "auto",
    yates: bool = False,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    independent_effect: bool = True,
) -> Comparison:
    """Compare each question's yes rate between the levels of ``by``.

    ``questions`` are answer columns (default: every column except ``by`` and the
    covariates).  ``levels`` fixes the groups and their order (default: observed levels,
    category order or sorted); differences and odds ratios are first level vs second.
    Rows with a missing group, or a group outside ``levels``, are dropped and counted.
    ``correction`` ("holm", "bh", "none") adjusts p-values across the testable
    questions; ``significant`` is ``p_adjusted < alpha``.  With exactly two levels and
    ``independent_effect``, each row gets a logistic-regression ``EffectResult``.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {tuple(CORRECTIONS)}, not {correction!r}")
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    if questions is None:
        questions = [c for c in df.columns if c != by and c not in set(covariates)]
    info = info or {}
    groups = group_index(df[by], levels)
    counts = count_answers(df, questions, groups)
    effects = None
    if independent_effect and len(groups.levels) == 2:
        effects = independent_effects(df, questions, by, covariates, groups.levels)
    return assemble(by, questions, info, groups.levels, counts, alpha=alpha,
                    correction=correction, test=test, yates=yates, covariates=covariates,
                    effects=effects, dropped_missing_group=groups.n_missing,
                    dropped_other_level=groups.n_other)


def assemble(by: str, questions: Sequence[str], info: Mapping[str, QuestionInfo],
             levels: tuple[str, ...], counts: np.ndarray, *, alpha: float, correction: str,
             test: str, yates: bool, covariates: Sequence[str],
             effects: Mapping[str, EffectResult] | None,
             dropped_missing_group: int = 0, dropped_other_level: int = 0) -> Comparison:
    """Tests, adjustment and summary from counts of shape (questions, levels, classes).

    Shared by `compare_groups` (counts from rows) and `stats.aggregate.compare_counts`
    (counts from a SQL GROUP BY), so both give the same table.
    """
    rows = [_compare_one(q, info.get(q, QuestionInfo(label=str(q))), levels, counts[i],
                         test, yates) for i, q in enumerate(questions)]
    tested = {i: r.p_value for i, r in enumerate(rows) if r.p_value is not None}
    adjusted = adjust_pvalues(list(tested.values()), correction, alpha)
    updates: dict[int, dict] = {i: {"p_adjusted": float(p), "significant": bool(p < alpha)}
                                for i, p in zip(tested, adjusted, strict=True)}
    if effects is not None:
        for i, q in enumerate(questions):
            if q in effects:
                updates.setdefault(i, {})["independent_effect"] = effects[q]
    rows = [replace(r, **updates.get(i, {})) for i, r in enumerate(rows)]
    return Comparison(by=by, levels=levels, rows=tuple(rows),
                      summary=_summary(rows, levels), alpha=alpha,
                      correction=correction, covariates=tuple(covariates),
                      dropped_missing_group=dropped_missing_group,
                      dropped_other_level=dropped_other_level)

