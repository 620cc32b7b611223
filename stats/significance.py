"""Tests on group x (yes, no) tables, effect sizes, and multiple-testing correction.

Tables have one row per group (in level order) and two columns: yes, no. Each figure is
the one scipy/statsmodels gives (named in each docstring; tests/stats/test_significance.py
checks them against those functions, to the last bit where the arithmetic allows): this
module only chooses between them and says which one was used.

What every comparison needs loads light: the chi-square p-value is scipy.special's
chi-square survival function (`chdtrc`, what `scipy.stats.chi2.sf` calls) of Pearson's
statistic, and the normal quantiles of the intervals are `scipy.special.ndtri` (what
`scipy.stats.norm.ppf` calls); the intervals, ratios and corrections are the libraries'
closed forms, written out in the libraries' own order of operations. `scipy.stats`
(about 0.6 s to import) loads only when a test needs it: Fisher's exact test or a Monte
Carlo p-value (an expected count below 5); statsmodels never loads here (issue 19).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

Interval = tuple[float, float]

TESTS = ("auto", "chi2", "fisher")
CORRECTIONS = {"holm": "holm", "bh": "fdr_bh", "none": None}
MIN_EXPECTED = 5.0
MONTE_CARLO_RESAMPLES = 9999


@dataclass(frozen=True)
class SignificanceResult:
    """Which test ran and what it gave; ``test`` is None when no test is possible."""

    test: str | None
    statistic: float | None
    p_value: float | None
    small_expected: bool
    status: str
    note: str = ""
    # Monte Carlo p-values only: how many random tables, and the binomial standard error
    # of p as an estimate of the exact p, sqrt(p (1 - p) / resamples).
    resamples: int | None = None
    p_se: float | None = None


def monte_carlo_se(p: float, resamples: int) -> float:
    """Standard error of a Monte Carlo p-value from ``resamples`` random tables."""
    return math.sqrt(p * (1.0 - p) / resamples)


def untestable_reason(table: np.ndarray) -> tuple[str, str] | None:
    """(status, note) when the table cannot be tested, else None."""
    if table.shape[0] < 2:
        return "single_group", "fewer than two groups"
    if (table.sum(axis=1) == 0).any():
        return "empty_group", "a group has no applicable answers"
    yes, no = table.sum(axis=0)
    if no == 0:
        return "no_variation", "every applicable answer is yes"
    if yes == 0:
        return "no_variation", "every applicable answer is no"
    return None


def expected_counts(table: np.ndarray) -> np.ndarray:
    """Expected counts under independence: ``scipy.stats.contingency.expected_freq``
    (row total x column total / total, in floating point as scipy computes them)."""
    observed = np.asarray(table, dtype=np.float64)
    rows = observed.sum(axis=1, keepdims=True)
    columns = observed.sum(axis=0, keepdims=True)
    expected: np.ndarray = rows * columns / observed.sum()
    return expected


def pearson_chi2(table: np.ndarray, yates: bool = False) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value of a testable table: what
    ``scipy.stats.chi2_contingency(table, correction=yates)`` returns, computed as it
    does (Yates' continuity correction only with one degree of freedom, each cell moved
    at most half way to its expected count), the p-value from ``scipy.special.chdtrc``."""
    observed = np.asarray(table)
    expected = expected_counts(observed)
    dof = expected.size - sum(expected.shape) + expected.ndim - 1
    if dof == 1 and yates:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    terms = (np.asarray(observed, dtype=np.float64) - expected) ** 2 / expected
    statistic = np.sum(terms.ravel())
    return float(statistic), float(special.chdtrc(float(dof), statistic))


def choose_test(table: np.ndarray, test: str = "auto", yates: bool = False) -> str:
    """Name the test for a testable table.

    2 x 2: Pearson chi-square ("chi2", or "chi2_yates" with ``yates``) when every expected
    count is at least 5, else Fisher's exact.  r x 2: "chi2", or "chi2_monte_carlo" when an
    expected count is below 5.  ``test="chi2"``/``"fisher"`` forces the family (r x 2
    Fisher is "fisher_monte_carlo": scipy has no exact r x c Fisher p-value).
    """
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, not {test!r}")
    two_by_two = table.shape[0] == 2
    small = bool(expected_counts(table).min() < MIN_EXPECTED)
    if test == "fisher" and not two_by_two:
        return "fisher_monte_carlo"
    if test == "fisher" or (test == "auto" and two_by_two and small):
        return "fisher"
    if not two_by_two:
        return "chi2_monte_carlo" if (test == "auto" and small) else "chi2"
    return "chi2_yates" if yates else "chi2"


def significance_test(table: np.ndarray, *, test: str = "auto", yates: bool = False,
               seed: int = 0) -> SignificanceResult:
    """Test independence of group and answer on a groups x (yes, no) table.

    For Fisher's exact test ``statistic`` is None (scipy's statistic is the sample odds
    ratio for 2 x 2, reported separately).  Monte Carlo p-values (r x 2 only) use 9,999
    random tables with the observed margins and a fixed ``seed`` so that results repeat.
    """
    table = np.asarray(table, dtype=np.int64)
    reason = untestable_reason(table)
    if reason is not None:
        return SignificanceResult(None, None, None, False, *reason)
    small = bool(expected_counts(table).min() < MIN_EXPECTED)
    name = choose_test(table, test, yates)
    note = "an expected count is below 5" if small else ""
    if name in ("chi2", "chi2_yates"):
        statistic, p = pearson_chi2(table, yates=name == "chi2_yates")
        return SignificanceResult(name, statistic, p, small, "ok", note)
    # Fisher's exact test and Monte Carlo p-values: only here does scipy.stats load.
    from scipy import stats as sps

    monte_carlo = sps.MonteCarloMethod(n_resamples=MONTE_CARLO_RESAMPLES,
                                       rng=np.random.default_rng(seed))
    if name == "fisher":
        p = float(sps.fisher_exact(table).pvalue)
        return SignificanceResult(name, None, p, small, "ok", note)
    if name == "fisher_monte_carlo":
        p = float(sps.fisher_exact(table, method=monte_carlo).pvalue)
        return SignificanceResult(name, None, p, small, "ok", note, MONTE_CARLO_RESAMPLES,
                                  monte_carlo_se(p, MONTE_CARLO_RESAMPLES))
    res = sps.chi2_contingency(table, correction=False, method=monte_carlo)
    p = float(res.pvalue)
    return SignificanceResult(name, float(res.statistic), p, small, "ok", note,
                              MONTE_CARLO_RESAMPLES, monte_carlo_se(p, MONTE_CARLO_RESAMPLES))


def sample_odds_ratio(table: np.ndarray,
                      confidence: float = 0.95) -> tuple[float | None, Interval | None, str]:
    """Sample odds ratio of a 2 x 2 table (row 0 vs row 1, odds of yes) with Woolf CI.

    ``scipy.stats.contingency.odds_ratio(table, kind="sample")`` and its
    ``confidence_interval``: ad / bc, and exp(log OR -/+ z sqrt(1/a + 1/b + 1/c + 1/d)).
    With a zero cell the estimate is 0.0 or inf (None when 0/0) and the interval is None,
    because the log-scale standard error is infinite; the note says so.
    """
    table = np.asarray(table, dtype=np.int64)
    if 0 in table.sum(axis=0) or 0 in table.sum(axis=1) or (
            (table[1, 0] == 0 or table[0, 1] == 0)
            and (table[0, 0] == 0 or table[1, 1] == 0)):
        return None, None, "odds ratio undefined (0/0)"
    if table[1, 0] == 0 or table[0, 1] == 0:
        return math.inf, None, "zero cell: no confidence interval for the odds ratio"
    estimate = table[0, 0] * table[1, 1] / (table[1, 0] * table[0, 1])
    if (table == 0).any():
        return float(estimate), None, "zero cell: no confidence interval for the odds ratio"
    log_or = np.log(estimate)
    se = np.sqrt((1 / table).sum())
    z = special.ndtri(0.5 * confidence + 0.5)
    return float(estimate), (float(np.exp(log_or - z * se)),
                             float(np.exp(log_or + z * se))), ""


def risk_ratio(table: np.ndarray,
               confidence: float = 0.95) -> tuple[float | None, Interval | None, str]:
    """Risk ratio p1 / p2 of "yes" (row 0 vs row 1) with its log-scale (Katz) interval.

    statsmodels ``Table2x2(table, shift_zeros=False)``: ``riskratio`` and
    ``riskratio_confint``, exp(log RR -/+ z sqrt(sum (1 - p) / (n p))), so the estimate is
    the plain ratio of proportions.  With no "yes" in a row the ratio is 0.0 or inf (None
    when both are 0, or a row is empty) and there is no interval; the note says so.  When
    both rows are all "yes" the ratio is 1 and the interval is None (its standard error
    is 0).
    """
    table = np.asarray(table, dtype=np.int64)
    n = table.sum(axis=1)
    if (n == 0).any():
        return None, None, "risk ratio undefined (a group has no answers)"
    yes = table[:, 0]
    if (yes == 0).all():
        return None, None, "risk ratio undefined (no yes in either group)"
    if (yes == 0).any():
        estimate = 0.0 if yes[0] == 0 else math.inf
        return estimate, None, "no yes in a group: no confidence interval for the risk ratio"
    counts = np.asarray(table, dtype=np.float64)
    total = counts.sum(1)
    p = counts[:, 0] / total
    ratio = p[0] / p[1]
    if (table[:, 1] == 0).all():
        return float(ratio), None, ""
    se = np.sqrt(np.sum((1 - p) / (total * p)))
    z = -special.ndtri((1.0 - confidence) / 2)
    log_rr = np.log(ratio)
    return float(ratio), (float(np.exp(log_rr - z * se)), float(np.exp(log_rr + z * se))), ""


def cohens_h(yes1: int, n1: int, yes2: int, n2: int) -> float | None:
    """Cohen's h = 2 asin(sqrt p1) - 2 asin(sqrt p2), as statsmodels'
    ``proportion_effectsize``; None if a group is empty."""
    if not n1 or not n2:
        return None
    return float(2 * (np.arcsin(np.sqrt(yes1 / n1)) - np.arcsin(np.sqrt(yes2 / n2))))


def wilson_interval(yes: Sequence[int], n: Sequence[int],
                    alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score intervals of yes/n, one per pair: statsmodels
    ``proportion_confint(yes, n, alpha, method="wilson")``."""
    count = np.asarray(yes, dtype=np.float64)
    nobs = np.asarray(n, dtype=np.float64)
    q = count / nobs
    crit = -special.ndtri(alpha / 2.0)
    crit2 = crit**2
    denom = 1 + crit2 / nobs
    center = (q + crit2 / (2 * nobs)) / denom
    dist = crit * np.sqrt(q * (1.0 - q) / nobs + crit2 / (4.0 * nobs**2))
    dist /= denom
    return np.clip(center - dist, 0, 1), np.clip(center + dist, 0, 1)


def newcombe_diff(yes1: int, n1: int, yes2: int, n2: int,
                  alpha: float = 0.05) -> tuple[float, Interval]:
    """Difference p1 - p2 in percentage points with Newcombe's hybrid score interval.

    Newcombe (1998) method 10: the two Wilson score intervals combined by the
    square-and-add rule.  Equals statsmodels ``confint_proportions_2indep(count1,
    nobs1, count2, nobs2, method="newcomb")``, whose difference is also p1 - p2.
    """
    low, high = wilson_interval([yes1, yes2], [n1, n2], alpha=alpha)
    p1, p2 = yes1 / n1, yes2 / n2
    diff = p1 - p2
    lower = diff - math.sqrt((p1 - low[0]) ** 2 + (high[1] - p2) ** 2)
    upper = diff + math.sqrt((high[0] - p1) ** 2 + (p2 - low[1]) ** 2)
    return 100.0 * diff, (100.0 * lower, 100.0 * upper)


def adjust_pvalues(pvalues: Sequence[float], correction: str = "holm",
                   alpha: float = 0.05) -> np.ndarray:
    """Adjusted p-values: "holm", "bh" (Benjamini-Hochberg) or "none" (raw)."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {tuple(CORRECTIONS)}, not {correction!r}")
    raw = np.asarray(pvalues, dtype=float)
    method = CORRECTIONS[correction]
    if method is None or raw.size == 0:
        return raw.copy()
    # statsmodels' `multipletests(raw, method=...)[1]`, step for step (it also runs
    # gc.collect() on every Holm call: 0.2-1.4 s in the app's heap).
    order = np.argsort(raw)
    ordered = np.take(raw, order)
    m = len(ordered)
    if method == "holm":
        adjusted = np.maximum.accumulate(ordered * np.arange(m, 0, -1))
    else:  # Benjamini-Hochberg
        adjusted = np.minimum.accumulate((ordered / (np.arange(1, m + 1) / float(m)))[::-1])[::-1]
    adjusted[adjusted > 1] = 1
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out
