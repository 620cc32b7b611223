"""The pattern-count fit equals statsmodels' row-level Logit on adversarial data (issue 16).

The three datasets of the issue (a rare outcome with a strong IOM effect, OR about 100;
OR about 400; OR about 0.0009) made the old Newton iteration report "failed: Singular
matrix" or "separation" where Logit fits cleanly. They are rebuilt here with fixed seeds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from stats import independent_effect
from stats.regression import MAX_ABS_COEF, MAX_SE, _fit, build_design

COVARIATES = ("case_type", "rosh", "likelihood", "provider")
Z = sps.norm.ppf(0.975)


def two_groups(seed: int, n_iom: int, yes_iom: int, n_non: int, yes_non: int) -> pd.DataFrame:
    """Fixed yes counts per group; random categorical covariates, as in the issue."""
    rng = np.random.default_rng(seed)
    n = n_iom + n_non
    answers = (["yes"] * yes_iom + ["no"] * (n_iom - yes_iom)
               + ["yes"] * yes_non + ["no"] * (n_non - yes_non))
    return pd.DataFrame({
        "iom": ["iom"] * n_iom + ["non_iom"] * n_non,
        "q": np.array(answers, dtype=object),
        "case_type": rng.choice(["community", "post_release"], n),
        "rosh": rng.choice(["low", "medium", "high"], n),
        "likelihood": rng.choice(["low", "medium", "high"], n),
        "provider": rng.choice(["nps", "crc"], n),
    })


def messy(seed: int, n: int, effect: float, base: float) -> pd.DataFrame:
    """Many provider levels, unbalanced groups, na/missing answers, unknown covariates."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "iom": rng.choice(["iom", "non_iom"], n, p=[0.07, 0.93]),
        "case_type": rng.choice(["community", "licence", "custody"], n, p=[.6, .3, .1]),
        "rosh": rng.choice(["low", "medium", "high", "very_high"], n, p=[.3, .4, .2, .1]),
        "likelihood": rng.choice(["low", "medium", "high"], n),
        "provider": rng.choice([f"p{i:02d}" for i in range(12)], n),
    })
    logit = base + effect * (df.iom == "iom") + 0.8 * (df.rosh == "very_high")
    df["q"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no").astype(object)
    df.loc[rng.random(n) < 0.1, "q"] = "na"
    df.loc[rng.random(n) < 0.05, "q"] = None
    df.loc[rng.random(n) < 0.03, "rosh"] = None
    return df


DATASETS = {
    # The issue's three: IOM 127/219 vs non-IOM 14/1,019 yes; OR ~400; OR ~0.0009.
    "rare_or_100": two_groups(0, 219, 127, 1019, 14),
    "or_400": two_groups(1, 100, 70, 1200, 7),
    "or_0.0009": two_groups(6, 60, 10, 1000, 995),
    "rare_and_unbalanced": messy(5, 6000, 3.0, -4.5),
    "common_and_weak": messy(8, 3000, 0.15, 2.5),
    "no_effect": messy(9, 2500, 0.0, 0.0),
}


def logit_rows(df: pd.DataFrame, covariates: tuple[str, ...] = COVARIATES):
    """statsmodels Logit on the rows used, treatment coding with sorted first level as reference."""
    used = df[df.q.isin(["yes", "no"])].dropna(subset=list(covariates))
    parts = [pd.Series(1.0, index=used.index, name="const"),
             (used.iom == "iom").astype(float).rename("g")]
    for c in covariates:
        levels = sorted(used[c].unique())
        for level in levels[1:]:
            parts.append((used[c] == level).astype(float).rename(f"{c}={level}"))
    x = pd.concat(parts, axis=1)
    return sm.Logit((used.q == "yes").astype(float), x).fit(disp=0, method="newton",
                                                              maxiter=100), x, used


@pytest.mark.parametrize("name", list(DATASETS))
def test_group_effect_equals_row_level_logit(name: str) -> None:
    df = DATASETS[name]
    ref, _, used = logit_rows(df)
    assert ref.mle_retvals["converged"]
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.odds_ratio is not None, result
    assert result.n == len(used)
    beta, se = np.log(result.odds_ratio), None
    assert result.ci is not None and result.p is not None
    se = (np.log(result.ci[1]) - np.log(result.ci[0])) / (2 * Z)
    assert beta == pytest.approx(ref.params["g"], rel=1e-6, abs=1e-9)
    assert se == pytest.approx(ref.bse["g"], rel=1e-6)
    assert result.p == pytest.approx(ref.pvalues["g"], rel=1e-6)
    assert result.ci == pytest.approx(tuple(np.exp(ref.conf_int().loc["g"])), rel=1e-6)
    assert result.used == COVARIATES and result.dropped == ()


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_coefficient_equals_row_level_logit(name: str) -> None:
    """Not only the group's: the whole fit from pattern counts is the row-level fit."""
    df = DATASETS[name]
    ref, x, used = logit_rows(df)
    patterns, inverse = np.unique(x.to_numpy(), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    yes = (used.q == "yes").to_numpy()
    trials = np.bincount(inverse, minlength=len(patterns)).astype(float)
    successes = np.bincount(inverse, weights=yes, minlength=len(patterns))
    res, status, message = _fit(successes, trials, patterns)
    assert res is not None and status == "ok", message
    assert len(patterns) <= 2 * 3 * 4 * 3 * 12  # patterns, not rows
    np.testing.assert_allclose(res.params, ref.params.to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(res.pvalues, ref.pvalues.to_numpy(), rtol=1e-6)
    assert res.llf == pytest.approx(ref.llf, rel=1e-9)


def test_the_issue_datasets_are_strong_effects() -> None:
    """The rebuilt datasets are what the issue describes (so the tests above mean it)."""
    a = independent_effect(DATASETS["rare_or_100"], "q", "iom", COVARIATES, ("iom", "non_iom"))
    b = independent_effect(DATASETS["or_400"], "q", "iom", COVARIATES, ("iom", "non_iom"))
    c = independent_effect(DATASETS["or_0.0009"], "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert a.odds_ratio is not None and 80 < a.odds_ratio < 130 and a.p is not None \
        and a.p < 1e-40
    assert b.odds_ratio is not None and 350 < b.odds_ratio < 500
    assert c.odds_ratio is not None and 0.0005 < c.odds_ratio < 0.0015


def test_a_level_with_one_answer_has_no_finite_estimate() -> None:
    """The per-level check is quasi-complete separation: Logit diverges on the same rows."""
    df = DATASETS["common_and_weak"].copy()
    df.loc[(df.provider == "p04") & df.q.isin(["yes", "no"]), "q"] = "yes"
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "separation" and "provider=p04" in result.message
    assert result.odds_ratio is None and result.p is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref, _, _ = logit_rows(df)
    level = ref.params["provider=p04"]
    diverged = (abs(level) > MAX_ABS_COEF or ref.bse["provider=p04"] > MAX_SE
                or any(w.category is ConvergenceWarning for w in caught))
    assert diverged, (level, ref.bse["provider=p04"])


def test_quasi_separation_across_levels_is_caught_by_the_stated_bounds() -> None:
    """IOM with nps all yes and non-IOM with crc all no: no single level is constant, but
    const - g - nps separates; statsmodels fits to the bound, and we report no number."""
    rng = np.random.default_rng(3)
    n = 800
    df = pd.DataFrame({"iom": rng.choice(["iom", "non_iom"], n),
                       "provider": rng.choice(["crc", "nps"], n)})
    df["q"] = np.where(rng.random(n) < 0.5, "yes", "no").astype(object)
    df.loc[(df.iom == "iom") & (df.provider == "nps"), "q"] = "yes"
    df.loc[(df.iom == "non_iom") & (df.provider == "crc"), "q"] = "no"
    result = independent_effect(df, "q", "iom", ("provider",), ("iom", "non_iom"))
    assert result.status == "separation" and "quasi-separation" in result.message
    assert result.odds_ratio is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref, _, _ = logit_rows(df, ("provider",))
    assert ref.bse["g"] > MAX_SE or any(w.category is ConvergenceWarning for w in caught)


def test_complete_separation_is_statsmodels_own_warning() -> None:
    """Every answer predicted exactly: statsmodels warns; the result is 'separation'."""
    successes = np.array([0.0, 5.0, 0.0, 7.0])
    trials = np.array([4.0, 5.0, 6.0, 7.0])
    x = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1]], dtype=float)
    res, status, message = _fit(successes, trials, x)
    assert res is None and status == "separation", message


def test_one_level_covariate_is_dropped_and_used_names_the_rest() -> None:
    df = DATASETS["rare_or_100"].assign(provider="nps")
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "single_level" and result.dropped == ("provider",)
    assert result.used == ("case_type", "rosh", "likelihood")
    ref, _, _ = logit_rows(df, ("case_type", "rosh", "likelihood"))
    assert np.log(result.odds_ratio) == pytest.approx(ref.params["g"], rel=1e-6)
    assert result.p == pytest.approx(ref.pvalues["g"], rel=1e-6)
    assert result.to_dict()["used"] == ["case_type", "rosh", "likelihood"]


def test_100000_rows_stay_a_few_hundred_patterns() -> None:
    rng = np.random.default_rng(21)
    n = 100_000
    df = two_groups(21, 9000, 5000, n - 9000, 1500)
    df["q"] = df["q"].to_numpy()[rng.permutation(n)]  # still the same covariates
    design = build_design(df, "iom", COVARIATES, ("iom", "non_iom"))
    assert len(design.patterns) <= 2 * 2 * 3 * 3 * 2  # 72 at most, whatever n is
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    ref, _, _ = logit_rows(df)
    assert np.log(result.odds_ratio) == pytest.approx(ref.params["g"], rel=1e-6, abs=1e-9)
    assert result.p == pytest.approx(ref.pvalues["g"], rel=1e-6)
