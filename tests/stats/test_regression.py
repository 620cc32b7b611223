"""independent_effect against statsmodels' formula API, and its refusal statuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from stats import independent_effect, independent_effects

COVARIATES = ("case_type", "rosh", "likelihood", "provider")


def simulated(n: int = 4000, seed: int = 11, effect: float = 0.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "iom": rng.choice(["iom", "non_iom"], n, p=[0.2, 0.8]),
        "case_type": rng.choice(["community", "licence", "custody"], n),
        "rosh": rng.choice(["low", "medium", "high", "very_high"], n, p=[.3, .4, .2, .1]),
        "likelihood": rng.choice(["low", "medium", "high"], n),
        "provider": rng.choice([f"p{i:02d}" for i in range(8)], n),
    })
    logit = (0.3 + effect * (df.iom == "iom") + 0.4 * (df.rosh == "high")
             - 0.3 * (df.case_type == "licence") + 0.05 * df.provider.str[1:].astype(int))
    yes = rng.random(n) < 1 / (1 + np.exp(-logit))
    df["q"] = np.where(yes, "yes", "no").astype(object)
    df.loc[rng.random(n) < 0.1, "q"] = "na"
    df.loc[rng.random(n) < 0.05, "q"] = None
    df.loc[rng.random(n) < 0.03, "rosh"] = None
    return df


def formula_fit(df: pd.DataFrame):
    used = df[df.q.isin(["yes", "no"])].dropna(subset=list(COVARIATES)).copy()
    used["y"] = (used.q == "yes").astype(float)
    used["g"] = (used.iom == "iom").astype(float)
    model = smf.logit("y ~ g + C(case_type) + C(rosh) + C(likelihood) + C(provider)", used)
    return model.fit(disp=0), len(used)


def test_matches_formula_api() -> None:
    df = simulated()
    ref, n = formula_fit(df)
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "ok" and result.n == n
    assert result.odds_ratio == pytest.approx(np.exp(ref.params["g"]), abs=1e-6)
    low, high = np.exp(ref.conf_int().loc["g"])
    assert result.ci == pytest.approx((low, high), abs=1e-6)
    assert result.p == pytest.approx(ref.pvalues["g"], rel=1e-5)
    assert result.parameters == len(ref.params) - 1
    assert result.odds_ratio > 1.2  # the simulated effect is real (log OR 0.5)


def test_categorical_inputs_give_the_same_answer() -> None:
    df = simulated()
    plain = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    cat = independent_effect(df.astype("category"), "q", "iom", COVARIATES,
                             ("iom", "non_iom"))
    assert cat.odds_ratio == pytest.approx(plain.odds_ratio, rel=1e-9)


def test_reversed_levels_invert_the_odds_ratio() -> None:
    df = simulated()
    a = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    b = independent_effect(df, "q", "iom", COVARIATES, ("non_iom", "iom"))
    assert a.odds_ratio == pytest.approx(1 / b.odds_ratio, rel=1e-8)


def test_separation_gives_no_number() -> None:
    df = simulated()
    df.loc[df.iom == "iom", "q"] = "yes"
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "separation"
    assert result.odds_ratio is None and result.ci is None and result.p is None
    assert "iom=iom" in result.message


def test_separation_within_a_covariate_level() -> None:
    df = simulated()
    df.loc[(df.provider == "p03") & df.q.isin(["yes", "no"]), "q"] = "no"
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "separation" and "provider=p03" in result.message
    assert result.odds_ratio is None


def test_covariate_with_one_level_is_dropped_and_said() -> None:
    df = simulated()
    df["provider"] = "p00"
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "single_level"
    assert result.dropped == ("provider",)
    assert "provider" in result.message
    ref = smf.logit("y ~ g + C(case_type) + C(rosh) + C(likelihood)", df.assign(
        y=(df.q == "yes").astype(float), g=(df.iom == "iom").astype(float))[
        df.q.isin(["yes", "no"]) & df.rosh.notna()]).fit(disp=0)
    assert result.odds_ratio == pytest.approx(np.exp(ref.params["g"]), abs=1e-6)


def test_group_with_one_level_is_refused() -> None:
    df = simulated()
    df["iom"] = "non_iom"
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "single_level" and result.odds_ratio is None


def test_too_few_events_is_fitted_and_flagged() -> None:
    df = simulated(n=300, seed=4)
    result = independent_effect(df, "q", "iom", ("case_type", "rosh"), ("iom", "non_iom"))
    assert result.status == "ok"  # ~90 events for 6 parameters
    rare = simulated(n=300, seed=4)
    rng = np.random.default_rng(0)
    answered = rare.q.isin(["yes", "no"])
    rare.loc[answered, "q"] = np.where(rng.random(answered.sum()) < 0.08, "yes", "no")
    rare.loc[rare.index[:2], ["iom", "q"]] = [["iom", "yes"], ["non_iom", "yes"]]
    flagged = independent_effect(rare, "q", "iom", ("case_type", "rosh"), ("iom", "non_iom"))
    assert flagged.status == "too_few_events", flagged.message
    assert flagged.odds_ratio is not None
    assert flagged.events < 10 * flagged.parameters
    assert "per parameter" in flagged.message


def test_missing_covariate_column_is_a_status() -> None:
    df = simulated().drop(columns=["provider"])
    result = independent_effect(df, "q", "iom", COVARIATES, ("iom", "non_iom"))
    assert result.status == "failed" and "provider" in result.message


def test_collinear_covariates_fail_cleanly() -> None:
    df = simulated()
    df["region"] = df["provider"]  # the same information twice
    result = independent_effect(df, "q", "iom", ("provider", "region"), ("iom", "non_iom"))
    assert result.status == "failed" and "collinear" in result.message


def test_more_than_two_levels_refused() -> None:
    df = simulated()
    df.loc[df.index[:50], "iom"] = "unknown"
    result = independent_effects(df, ["q"], "iom", COVARIATES)["q"]
    assert result.status == "failed" and result.odds_ratio is None


def test_to_dict_is_json_ready() -> None:
    d = independent_effect(simulated(), "q", "iom", COVARIATES, ("iom", "non_iom")).to_dict()
    assert isinstance(d["ci"], list) and isinstance(d["n"], int)
    assert set(d) >= {"odds_ratio", "ci", "p", "n", "status"}
