"""The light path of `stats.significance` gives exactly what scipy.stats and statsmodels
give: the chi-square test (scipy.special's `chdtrc` of Pearson's statistic), the odds
and risk ratios with their intervals, Cohen's h, the Wilson intervals, Holm and
Benjamini-Hochberg. Equal to the last bit, on small and national-size tables, so
that no reported number moved when those libraries stopped loading for a comparison
(issue 19)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.stats.contingency import expected_freq, odds_ratio
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import proportion_confint, proportion_effectsize

from stats.significance import (
    adjust_pvalues,
    cohens_h,
    expected_counts,
    pearson_chi2,
    risk_ratio,
    sample_odds_ratio,
    untestable_reason,
    wilson_interval,
)
from tests.stats.multitest import multipletests

cells = st.one_of(st.integers(0, 12), st.integers(0, 400), st.integers(0, 120_000))
tables = st.integers(2, 5).flatmap(
    lambda rows: st.lists(st.tuples(cells, cells), min_size=rows, max_size=rows)
).map(np.array)
two_by_two = st.lists(st.tuples(cells, cells), min_size=2, max_size=2).map(np.array)


@given(tables, st.booleans())
@settings(max_examples=400, deadline=None)
def test_chi_square_is_scipys(table: np.ndarray, yates: bool) -> None:
    if untestable_reason(table) is not None:
        return
    assert expected_counts(table).tolist() == expected_freq(table).tolist()
    ref = sps.chi2_contingency(table, correction=yates)
    assert pearson_chi2(table, yates) == (float(ref.statistic), float(ref.pvalue))


@given(two_by_two)
@settings(max_examples=400, deadline=None)
def test_ratios_and_intervals_are_the_libraries(table: np.ndarray) -> None:
    estimate, ci, _ = sample_odds_ratio(table)
    if ci is not None:
        ref = odds_ratio(table, kind="sample")
        low_high = ref.confidence_interval(0.95)
        assert (estimate, ci) == (float(ref.statistic),
                                  (float(low_high.low), float(low_high.high)))
    rr, rr_ci, _ = risk_ratio(table)
    if rr_ci is not None:
        fitted = Table2x2(table, shift_zeros=False)
        low, high = fitted.riskratio_confint(alpha=1.0 - 0.95)
        assert (rr, rr_ci) == (float(fitted.riskratio), (float(low), float(high)))
    (y1, no1), (y2, no2) = table.tolist()
    n1, n2 = y1 + no1, y2 + no2
    if n1 and n2:
        assert cohens_h(y1, n1, y2, n2) == float(proportion_effectsize(y1 / n1, y2 / n2))
        low_ref, high_ref = proportion_confint([y1, y2], [n1, n2], alpha=0.05,
                                               method="wilson")
        low, high = wilson_interval([y1, y2], [n1, n2])
        assert (low.tolist(), high.tolist()) == (list(low_ref), list(high_ref))


@given(two_by_two, st.integers(0, 3))
@settings(max_examples=200, deadline=None)
def test_zero_cells_keep_scipys_estimate(table: np.ndarray, zero: int) -> None:
    """With a zero cell there is no interval; the estimate is scipy's (0, inf), or None
    where scipy's is undefined."""
    table = table.copy()
    table.flat[zero] = 0
    estimate, ci, note = sample_odds_ratio(table)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = float(odds_ratio(table, kind="sample").statistic)
    assert estimate is None if math.isnan(ref) else estimate == ref
    if (table == 0).any():
        assert ci is None and note


pvalues = st.lists(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 0.01, 0.05, 1.0])),
                   min_size=1, max_size=60)


@given(pvalues)
# multipletests runs gc.collect() on every Holm call (why it is no longer used); the
# reference here skips it (tests/stats/multitest.py).
@settings(max_examples=200, deadline=None)
def test_corrections_are_multipletests(values: list[float]) -> None:
    raw = np.array(values)
    assert adjust_pvalues(raw, "holm").tolist() == multipletests(raw, method="holm")[1].tolist()
    assert adjust_pvalues(raw, "bh").tolist() == multipletests(raw, method="fdr_bh")[1].tolist()
