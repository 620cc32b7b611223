"""Seed 002, Figure 5.2 rebuilt from case-level data (published marginals).

Published: IOM cases about 10 points higher on average; positive judgements 62%
(non-IOM) vs 72% (IOM); differences significant for all twelve standards questions
except 2.3.2; both RO survey questions significantly better for IOM cases.

What rounding allows: the published percentages are whole numbers, so each yes count is
known only to a range (e.g. IOM 72% of 267 is any of 191..193).  For every question we
compute the range of chi-square p-values over all yes counts consistent with both
rounded percentages.  For eleven standards questions (and ro.agencies_harm) the whole
range is below 0.05 and for 2.3.2 above it, so those verdicts are implied by the
published inputs and asserted outright.  For 2.2.1 (range about 0.025-0.094) and
ro.agencies_desistance (about 0.031-0.090) the range straddles 0.05: the published
verdict ("significant") is attainable but not implied, so we assert only that the
tool's p lies in the range and that the range contains values below 0.05.  With the
nearest counts (round(pct * n)) the tool gives p = 0.0498 for 2.2.1 (significant) and
p = 0.069 for ro.agencies_desistance (not significant at 0.05).

The report's "62 per cent ... 72 per cent" is the unweighted mean of the twelve
percentages (61.8 and 71.75); pooling all answers (sum yes / sum n) gives 62.6 and
72.1, so ``summary.pooled`` rounds to 63% for non-IOM.  Both are asserted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stats import QuestionInfo, compare_groups

STANDARDS_NOT_SIGNIFICANT = {"2.3.2"}
STRADDLING = {"2.2.1", "ro.agencies_desistance"}


def consistent_yes(pct: int, n: int) -> range:
    """Every yes count whose percentage of n rounds (half up) to pct."""
    return range(int(np.ceil((pct - 0.5) * n / 100)), int(np.floor((pct + 0.5) * n / 100)) + 1)


def p_range(row: pd.Series) -> tuple[float, float]:
    ps = [sps.chi2_contingency([[a, row.iom_n - a], [b, row.non_iom_n - b]],
                               correction=False).pvalue
          for a in consistent_yes(row.iom_pct, row.iom_n)
          for b in consistent_yes(row.non_iom_pct, row.non_iom_n)]
    return min(ps), max(ps)


@pytest.fixture(scope="module")
def comparison(figure_5_2: pd.DataFrame, figure_5_2_cases: pd.DataFrame):
    info = {r.question_id: QuestionInfo(r.question, r.standard, key=not r.question_id
                                        .startswith("ro.")) for r in figure_5_2.itertuples()}
    return compare_groups(figure_5_2_cases, "iom", list(figure_5_2.question_id), info,
                          levels=("iom", "non_iom"))


def test_every_published_percentage_and_n(figure_5_2: pd.DataFrame, comparison) -> None:
    for ref in figure_5_2.itertuples():
        row = comparison.row(ref.question_id)
        for level, pct, n in (("iom", ref.iom_pct, ref.iom_n),
                              ("non_iom", ref.non_iom_pct, ref.non_iom_n)):
            assert row.groups[level].n == n
            assert round(row.groups[level].pct) == pct, (ref.question_id, level)
        assert row.test == "chi2"


def test_mean_difference_about_ten_points(comparison) -> None:
    assert comparison.summary.basis == "key"
    assert len(comparison.summary.questions) == 12
    assert comparison.summary.mean_diff_pp == pytest.approx(9.9, abs=0.5)
    assert round(comparison.summary.mean_diff_pp) == 10


def test_positive_judgements_62_vs_72(comparison) -> None:
    mean_pct = comparison.summary.mean_pct
    assert round(mean_pct["non_iom"]) == 62
    assert round(mean_pct["iom"]) == 72
    pooled = comparison.summary.pooled
    assert pooled["non_iom"] == pytest.approx(62.6, abs=0.1)  # pooled answers: 63% rounded
    assert round(pooled["iom"]) == 72


def test_published_significance_pattern(figure_5_2: pd.DataFrame, comparison) -> None:
    for ref in figure_5_2.itertuples():
        row = comparison.row(ref.question_id)
        low, high = p_range(pd.Series(ref._asdict()))
        assert low - 1e-12 <= row.p_value <= high + 1e-12, ref.question_id
        if ref.question_id in STRADDLING:
            assert low < 0.05 < high  # published "significant" is attainable, not implied
        elif ref.question_id in STANDARDS_NOT_SIGNIFICANT:
            assert low > 0.05 and not row.p_value < 0.05
        else:
            assert high < 0.05 and row.p_value < 0.05, ref.question_id


def test_nearest_counts_verdicts_documented(comparison) -> None:
    assert comparison.row("2.2.1").p_value == pytest.approx(0.0498, abs=1e-4)
    assert comparison.row("ro.agencies_desistance").p_value == pytest.approx(0.069, abs=1e-3)


def test_holm_across_the_table(comparison) -> None:
    # Holm over all 14 questions keeps 9 significant: 2.1.1, 2.2.1 and 2.3.1 drop out
    # with 2.3.2 and ro.agencies_desistance.  The report's wording uses raw p-values.
    not_significant = {r.question_id for r in comparison.rows if not r.significant}
    assert not_significant == {"2.1.1", "2.2.1", "2.3.1", "2.3.2", "ro.agencies_desistance"}


def test_independent_effect_attached(comparison) -> None:
    effect = comparison.row("2.1.2").independent_effect
    assert effect is not None and effect.status == "ok"
    assert effect.n == 268 + 2978
    assert effect.odds_ratio > 1
