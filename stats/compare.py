"""Compare yes rates per question between the levels of a grouping field (Figure 5.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import combinations

import numpy as np
import pandas as pd

from stats.counting import NO, YES, count_answers, group_counts, group_index
from stats.regression import independent_effects
from stats.results import (
    DEFAULT_COVARIATES,
    Comparison,
    ComparisonRow,
    EffectResult,
    GroupCounts,
    PairwiseResult,
    QuestionInfo,
    Summary,
)
from stats.significance import (
    CORRECTIONS,
    TESTS,
    adjust_pvalues,
    cohens_h,
    newcombe_diff,
    risk_ratio,
    sample_odds_ratio,
    significance_test,
)

# Post-hoc pairs are always Holm-adjusted within their question: the family is "which
# levels differ on this question", whatever correction is chosen across questions.
PAIRWISE_CORRECTION = "holm"


def _two_groups(first: GroupCounts, second: GroupCounts, table: np.ndarray,
                tested: bool) -> tuple[dict, list[str]]:
    """Effect sizes of two groups (first vs second): difference, OR, RR and Cohen's h."""
    out: dict = {}
    notes: list[str] = []
    if first.n and second.n:
        out["diff_pp"], out["diff_ci"] = newcombe_diff(first.yes, first.n,
                                                       second.yes, second.n)
        out["cohens_h"] = cohens_h(first.yes, first.n, second.yes, second.n)
    if tested:
        out["odds_ratio"], out["or_ci"], or_note = sample_odds_ratio(table)
        out["risk_ratio"], out["rr_ci"], rr_note = risk_ratio(table)
        notes += [n for n in (or_note, rr_note) if n]
    return out, notes


def _pairwise(levels: tuple[str, ...], groups: Mapping[str, GroupCounts], table: np.ndarray,
              test: str, yates: bool, alpha: float) -> tuple[PairwiseResult, ...]:
    """Every pair of levels as its own two-group comparison, Holm-adjusted within the question."""
    pairs: list[PairwiseResult] = []
    for i, j in combinations(range(len(levels)), 2):
        a, b = levels[i], levels[j]
        sub = table[[i, j]]
        result = significance_test(sub, test=test, yates=yates)
        effects, notes = _two_groups(groups[a], groups[b], sub, result.test is not None)
        if result.status == "empty_group":
            notes = ["no applicable answers in " + ", ".join(
                lv for lv in (a, b) if groups[lv].n == 0)]
        elif result.note:
            notes.insert(0, result.note)
        pairs.append(PairwiseResult(a=a, b=b, test=result.test, statistic=result.statistic,
                                    p_value=result.p_value, status=result.status,
                                    note="; ".join(notes), **effects))
    tested = [k for k, pair in enumerate(pairs) if pair.p_value is not None]
    adjusted = adjust_pvalues([pairs[k].p_value for k in tested],  # type: ignore[misc]
                              PAIRWISE_CORRECTION, alpha)
    for k, p in zip(tested, adjusted, strict=True):
        pairs[k] = replace(pairs[k], p_adjusted=float(p), significant=bool(p < alpha))
    return tuple(pairs)


def _compare_one(question: str, info: QuestionInfo, levels: tuple[str, ...],
                 counts: np.ndarray, test: str, yates: bool,
                 alpha: float = 0.05) -> ComparisonRow:
    """Everything for one question except the adjusted p-value and the regression."""
    groups = {level: group_counts(counts[i]) for i, level in enumerate(levels)}
    table = np.column_stack([counts[:, YES], counts[:, NO]])
    answered = table.sum(axis=1) > 0
    empty = [lv for lv, c in groups.items() if c.n == 0]
    if len(levels) > 2 and empty and answered.sum() >= 2:
        # With three or more levels an empty one has nothing to say about the others:
        # the omnibus test covers the levels with answers, and the note names the rest.
        result = significance_test(table[answered], test=test, yates=yates)
        notes = ["left out of the test (no applicable answers): " + ", ".join(empty)]
        notes += [result.note] if result.note else []
    else:
        result = significance_test(table, test=test, yates=yates)
        notes = [result.note] if result.note else []
        if result.status == "empty_group":
            notes = ["no applicable answers in " + ", ".join(empty)]
    row: dict = {"test": result.test, "statistic": result.statistic,
                 "p_value": result.p_value, "small_expected": result.small_expected,
                 "status": result.status, "resamples": result.resamples,
                 "p_se": result.p_se}
    if len(levels) == 2:
        effects, effect_notes = _two_groups(groups[levels[0]], groups[levels[1]], table,
                                            result.test is not None)
        row.update(effects)
        notes += effect_notes
    elif len(levels) > 2:
        row["pairwise"] = _pairwise(levels, groups, table, test, yates, alpha)
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
    ``independent_effect``, each row gets a logistic-regression ``EffectResult``.  With
    three or more, each row also lists every pair of levels (``pairwise``), tested as two
    groups would be and Holm-adjusted within the question.
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
                         test, yates, alpha) for i, q in enumerate(questions)]
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

