"""2 x 2 and r x 2 tests, intervals and corrections against scipy/statsmodels directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.stats.contingency import expected_freq, odds_ratio
from statsmodels.stats.proportion import confint_proportions_2indep

from stats.significance import (
    adjust_pvalues,
    choose_test,
    newcombe_diff,
    sample_odds_ratio,
    significance_test,
    untestable_reason,
)
from tests.stats.multitest import multipletests

counts = st.integers(min_value=0, max_value=60)
tables = st.tuples(counts, counts, counts, counts).map(
    lambda t: np.array([[t[0], t[1]], [t[2], t[3]]]))


def _testable(table: np.ndarray) -> bool:
    return untestable_reason(table) is None


@given(tables)
@settings(max_examples=300, deadline=None)
def test_p_value_equals_scipy(table: np.ndarray) -> None:
    result = significance_test(table)
    if not _testable(table):
        assert result.test is None and result.p_value is None
        return
    if expected_freq(table).min() < 5:
        assert result.test == "fisher"
        assert result.statistic is None
        assert result.p_value == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-12)
    else:
        ref = sps.chi2_contingency(table, correction=False)
        assert result.test == "chi2"
        assert result.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert result.p_value == pytest.approx(ref.pvalue, rel=1e-12)


@given(tables)
@settings(max_examples=300, deadline=None)
def test_fisher_exactly_when_an_expected_count_is_below_5(table: np.ndarray) -> None:
    if not _testable(table):
        return
    small = bool((expected_freq(table) < 5).any())
    assert (choose_test(table) == "fisher") is small
    assert significance_test(table).small_expected is small


@given(tables)
@settings(max_examples=100, deadline=None)
def test_forced_tests(table: np.ndarray) -> None:
    if not _testable(table):
        return
    yates = significance_test(table, test="chi2", yates=True)
    assert yates.test == "chi2_yates"
    assert yates.p_value == pytest.approx(
        sps.chi2_contingency(table, correction=True).pvalue, rel=1e-12)
    assert significance_test(table, test="chi2").test == "chi2"
    fisher = significance_test(table, test="fisher")
    assert fisher.test == "fisher"
    assert fisher.p_value == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-12)


@given(st.integers(0, 80), st.integers(1, 80), st.integers(0, 80), st.integers(1, 80))
@settings(max_examples=300, deadline=None)
def test_newcombe_equals_statsmodels(y1: int, n1: int, y2: int, n2: int) -> None:
    y1, y2 = min(y1, n1), min(y2, n2)
    diff, (low, high) = newcombe_diff(y1, n1, y2, n2)
    ref_low, ref_high = confint_proportions_2indep(y1, n1, y2, n2, method="newcomb")
    assert diff == pytest.approx(100 * (y1 / n1 - y2 / n2), abs=1e-12)
    assert low == pytest.approx(100 * ref_low, abs=1e-9)
    assert high == pytest.approx(100 * ref_high, abs=1e-9)
    assert low <= diff + 1e-9 and diff <= high + 1e-9


def test_newcombe_worked_example() -> None:
    # Newcombe (1998) Table II example (e): 56/70 vs 48/80 -> 0.0524 to 0.3339.
    _, (low, high) = newcombe_diff(56, 70, 48, 80)
    assert low == pytest.approx(5.24, abs=0.01)
    assert high == pytest.approx(33.39, abs=0.01)


@given(tables)
@settings(max_examples=300, deadline=None)
def test_odds_ratio_equals_scipy(table: np.ndarray) -> None:
    estimate, ci, note = sample_odds_ratio(table)
    a, b, c, d = table.ravel()
    if (a * d == 0) and (b * c == 0):
        assert estimate is None and ci is None and note
    elif (table == 0).any():
        assert estimate in (0.0, math.inf)
        assert ci is None and "zero cell" in note
    else:
        ref = odds_ratio(table, kind="sample")
        assert estimate == pytest.approx(ref.statistic, rel=1e-12)
        ref_ci = ref.confidence_interval(0.95)
        assert ci == pytest.approx((ref_ci.low, ref_ci.high), rel=1e-12)
        assert estimate == pytest.approx(a * d / (b * c), rel=1e-12)


def test_untestable_tables() -> None:
    assert untestable_reason(np.array([[0, 0], [3, 4]]))[0] == "empty_group"
    assert untestable_reason(np.array([[5, 0], [3, 0]]))[0] == "no_variation"
    assert untestable_reason(np.array([[0, 5], [0, 3]]))[0] == "no_variation"
    assert untestable_reason(np.array([[1, 5]]))[0] == "single_group"


def test_r_by_2_tables() -> None:
    big = np.array([[50, 50], [60, 40], [70, 30]])
    result = significance_test(big)
    assert result.test == "chi2"
    assert result.p_value == pytest.approx(sps.chi2_contingency(big).pvalue)
    small = np.array([[3, 1], [2, 2], [40, 30]])
    mc = significance_test(small)
    assert mc.test == "chi2_monte_carlo" and mc.small_expected
    assert mc.statistic == pytest.approx(sps.chi2_contingency(small).statistic)
    assert significance_test(small).p_value == mc.p_value  # seeded: repeatable
    forced = significance_test(small, test="fisher")
    assert forced.test == "fisher_monte_carlo"
    mc_fisher = sps.fisher_exact(small, method=sps.MonteCarloMethod(
        n_resamples=9999, rng=np.random.default_rng(0)))
    assert forced.p_value == pytest.approx(mc_fisher.pvalue)


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError):
        choose_test(np.array([[5, 5], [5, 5]]), test="wilcoxon")
    with pytest.raises(ValueError):
        adjust_pvalues([0.1], "bonferroni-ish")


pvalue_lists = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30)


@given(pvalue_lists)
# 40 examples (~1 ms each) as before (tests/stats/multitest.py skips multipletests' gc).
@settings(max_examples=40, deadline=None)
def test_corrections_equal_multipletests(pvalues: list[float]) -> None:
    np.testing.assert_allclose(adjust_pvalues(pvalues, "holm"),
                               multipletests(pvalues, method="holm")[1])
    np.testing.assert_allclose(adjust_pvalues(pvalues, "bh"),
                               multipletests(pvalues, method="fdr_bh")[1])
    np.testing.assert_allclose(adjust_pvalues(pvalues, "none"), pvalues)


def test_corrections_of_nothing() -> None:
    assert adjust_pvalues([], "holm").size == 0
