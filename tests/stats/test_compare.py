"""compare_groups: counting rules, options, edge cases and the JSON shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from stats import QuestionInfo, compare_groups
from tests.stats.multitest import multipletests


def frame(**columns: list) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.fixture
def small() -> pd.DataFrame:
    group = ["a"] * 10 + ["b"] * 10 + [None, None]
    q1 = (["yes"] * 7 + ["no", "na", None]  # a: 7 yes, 1 no, 1 na, 1 missing
          + ["yes"] * 2 + ["no"] * 6 + ["na", "other"]  # b: 2 yes, 6 no, 1 na, 1 other
          + ["yes", "no"])  # missing group
    q2 = ["yes"] * 10 + ["yes"] * 10 + ["yes", "yes"]
    return frame(g=group, q1=q1, q2=q2)


def test_counts_exclude_na_and_missing(small: pd.DataFrame) -> None:
    result = compare_groups(small, "g", ["q1"], independent_effect=False)
    a, b = result.row("q1").groups["a"], result.row("q1").groups["b"]
    assert (a.yes, a.no, a.n, a.na, a.missing, a.other) == (7, 1, 8, 1, 1, 0)
    assert (b.yes, b.no, b.n, b.na, b.missing, b.other) == (2, 6, 8, 1, 0, 1)
    assert a.pct == pytest.approx(87.5) and b.pct == pytest.approx(25.0)
    assert result.dropped_missing_group == 2
    row = result.row("q1")
    assert row.diff_pp == pytest.approx(62.5)
    assert row.test == "fisher" and row.statistic is None
    assert row.odds_ratio == pytest.approx((7 * 6) / (1 * 2))


def test_untestable_question_is_reported_not_raised(small: pd.DataFrame) -> None:
    result = compare_groups(small, "g", ["q1", "q2"], independent_effect=False)
    row = result.row("q2")
    assert row.test is None and row.p_value is None and row.p_adjusted is None
    assert row.status == "no_variation" and row.significant is None
    assert row.diff_pp == 0.0
    # Only q1 is corrected, so its Holm p equals its raw p.
    assert result.row("q1").p_adjusted == result.row("q1").p_value


def test_levels_order_sets_the_sign(small: pd.DataFrame) -> None:
    ab = compare_groups(small, "g", ["q1"], levels=("a", "b"), independent_effect=False)
    ba = compare_groups(small, "g", ["q1"], levels=("b", "a"), independent_effect=False)
    assert ab.row("q1").diff_pp == pytest.approx(-ba.row("q1").diff_pp)
    lo, hi = ab.row("q1").diff_ci
    assert ba.row("q1").diff_ci == pytest.approx((-hi, -lo))
    assert ab.row("q1").odds_ratio == pytest.approx(1 / ba.row("q1").odds_ratio)


def test_rows_outside_levels_are_counted() -> None:
    df = frame(g=["a", "b", "c", "c"], q=["yes", "no", "yes", "no"])
    result = compare_groups(df, "g", ["q"], levels=("a", "b"), independent_effect=False)
    assert result.levels == ("a", "b")
    assert result.dropped_other_level == 2


def test_empty_group() -> None:
    df = frame(g=["a", "a", "b", "b"], q=["yes", "no", "na", None])
    row = compare_groups(df, "g", ["q"], independent_effect=False).row("q")
    assert row.status == "empty_group" and "b" in row.note
    assert row.groups["b"].n == 0 and row.groups["b"].pct is None
    assert row.diff_pp is None and row.test is None


def test_level_with_no_rows_at_all() -> None:
    df = frame(g=["a", "a"], q=["yes", "no"])
    result = compare_groups(df, "g", ["q"], levels=("a", "b"))
    row = result.row("q")
    assert row.status == "empty_group"
    assert row.independent_effect.status == "failed"  # default covariates absent
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_categorical_dtype_input(small: pd.DataFrame) -> None:
    plain = compare_groups(small, "g", ["q1"], independent_effect=False)
    cat = small.astype({"g": "category", "q1": "category"})
    result = compare_groups(cat, "g", ["q1"], independent_effect=False)
    assert result.to_dict() == plain.to_dict()


def test_categorical_group_keeps_category_order() -> None:
    g = pd.Categorical(["x", "y"] * 10, categories=["y", "x", "unused"])
    df = pd.DataFrame({"g": g, "q": ["yes", "no", "yes", "yes"] * 5})
    assert compare_groups(df, "g", ["q"], independent_effect=False).levels == ("y", "x")


def test_more_than_two_levels() -> None:
    rng = np.random.default_rng(3)
    df = frame(g=list(rng.choice(["a", "b", "c"], 600)),
               q=list(rng.choice(["yes", "no"], 600)),
               r=["yes"] * 3 + ["no"] * 597)
    result = compare_groups(df, "g", ["q", "r"])
    assert result.levels == ("a", "b", "c")
    q = result.row("q")
    assert q.test == "chi2" and q.diff_pp is None and q.odds_ratio is None
    assert q.independent_effect is None
    r = result.row("r")
    assert r.test == "chi2_monte_carlo" and r.small_expected
    assert result.summary.mean_diff_pp is None
    assert set(result.summary.pooled) == {"a", "b", "c"}


def test_corrections_match_multipletests() -> None:
    rng = np.random.default_rng(5)
    g = rng.choice(["a", "b"], 400)
    data = {"g": g}
    for i in range(6):
        p = 0.5 + 0.04 * i * (g == "a")
        data[f"q{i}"] = np.where(rng.random(400) < p, "yes", "no")
    df = pd.DataFrame(data)
    questions = [f"q{i}" for i in range(6)]
    for correction, method in (("holm", "holm"), ("bh", "fdr_bh")):
        result = compare_groups(df, "g", questions, correction=correction,
                                independent_effect=False)
        raw = [r.p_value for r in result.rows]
        np.testing.assert_allclose([r.p_adjusted for r in result.rows],
                                   multipletests(raw, method=method)[1])
        assert [r.significant for r in result.rows] == [r.p_adjusted < 0.05
                                                        for r in result.rows]
    none = compare_groups(df, "g", questions, correction="none", independent_effect=False)
    assert [r.p_adjusted for r in none.rows] == [r.p_value for r in none.rows]


def test_forced_and_yates(small: pd.DataFrame) -> None:
    df = pd.concat([small] * 10, ignore_index=True)
    assert compare_groups(df, "g", ["q1"], independent_effect=False).row("q1").test == "chi2"
    yates = compare_groups(df, "g", ["q1"], yates=True, independent_effect=False)
    assert yates.row("q1").test == "chi2_yates"
    forced = compare_groups(df, "g", ["q1"], test="fisher", independent_effect=False)
    assert forced.row("q1").test == "fisher"
    with pytest.raises(ValueError):
        compare_groups(df, "g", ["q1"], correction="bonferroni")


def test_summary_uses_key_questions_else_all(small: pd.DataFrame) -> None:
    info = {"q1": QuestionInfo("Q one", "S", key=True), "q2": QuestionInfo("Q two")}
    keyed = compare_groups(small, "g", ["q1", "q2"], info, independent_effect=False)
    assert keyed.summary.basis == "key" and keyed.summary.questions == ("q1",)
    assert keyed.summary.mean_diff_pp == pytest.approx(62.5)
    assert keyed.summary.pooled == {"a": pytest.approx(87.5), "b": pytest.approx(25.0)}
    unkeyed = compare_groups(small, "g", ["q1", "q2"], independent_effect=False)
    assert unkeyed.summary.basis == "all"
    assert unkeyed.summary.pooled["a"] == pytest.approx(100 * 17 / 18)
    assert unkeyed.summary.mean_diff_pp == pytest.approx((62.5 + 0) / 2)


def test_to_dict_shape(small: pd.DataFrame) -> None:
    info = {"q1": QuestionInfo("Q one", "Assessment", key=True)}
    d = compare_groups(small, "g", ["q1", "q2"], info, covariates=()).to_dict()
    json.dumps(d, allow_nan=False)
    assert d["by"] == "g" and d["levels"] == ["a", "b"]
    row = d["rows"][0]
    for key in ("question_id", "label", "section", "groups", "diff_pp", "diff_ci", "test",
                "statistic", "p_value", "p_adjusted", "odds_ratio", "or_ci", "significant",
                "independent_effect"):
        assert key in row
    assert (row["label"], row["section"]) == ("Q one", "Assessment")
    assert set(row["groups"]["a"]) >= {"yes", "n", "na", "missing", "pct"}
    assert isinstance(row["diff_ci"], list) and len(row["diff_ci"]) == 2
    assert set(row["independent_effect"]) >= {"odds_ratio", "ci", "p", "n", "status"}
    assert set(d["summary"]) >= {"mean_diff_pp", "pooled"}
    assert set(d["summary"]["pooled"]) == {"a", "b"}
    no_effect = compare_groups(small, "g", ["q1"], independent_effect=False).to_dict()
    assert no_effect["rows"][0]["independent_effect"] is None


def test_infinite_odds_ratio_becomes_null_in_json() -> None:
    df = frame(g=["a"] * 6 + ["b"] * 6, q=["yes"] * 6 + ["yes", "no"] * 3)
    result = compare_groups(df, "g", ["q"], independent_effect=False)
    row = result.row("q")
    assert row.odds_ratio == float("inf") and row.or_ci is None and "zero cell" in row.note
    assert result.to_dict()["rows"][0]["odds_ratio"] is None


def test_to_frame(small: pd.DataFrame) -> None:
    f = compare_groups(small, "g", ["q1", "q2"], covariates=()).to_frame()
    assert list(f.question_id) == ["q1", "q2"]
    assert {"a_pct", "b_n", "diff_ci_low", "p_adjusted", "ie_status"} <= set(f.columns)


def test_questions_default_to_all_other_columns(small: pd.DataFrame) -> None:
    result = compare_groups(small, "g", independent_effect=False)
    assert [r.question_id for r in result.rows] == ["q1", "q2"]
