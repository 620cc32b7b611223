"""Three or more groups: the omnibus test and the pairwise comparisons, against scipy and
statsmodels directly (issue 16, item 3)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.stats.contingency import expected_freq, odds_ratio, relative_risk
from statsmodels.stats.proportion import confint_proportions_2indep

from stats import compare_counts, compare_groups
from stats.results import Comparison, ComparisonRow
from stats.significance import MONTE_CARLO_RESAMPLES
from tests.stats.multitest import multipletests

PAIR_KEYS = {"a", "b", "test", "p_value", "p_adjusted", "diff_pp", "diff_ci", "odds_ratio",
             "cohens_h"}


def frame_from_counts(yes_no: dict[str, tuple[int, int]], question: str = "q") -> pd.DataFrame:
    """Case rows with exactly these (yes, no) counts per level."""
    groups, answers = [], []
    for level, (yes, no) in yes_no.items():
        groups += [level] * (yes + no)
        answers += ["yes"] * yes + ["no"] * no
    return pd.DataFrame({"g": groups, question: answers})


def compare(yes_no: dict[str, tuple[int, int]], **kw: object) -> Comparison:
    df = frame_from_counts(yes_no)
    return compare_groups(df, "g", ["q"], levels=tuple(yes_no), independent_effect=False,
                          **kw)  # type: ignore[arg-type]


def pearson(table: np.ndarray) -> float:
    return float(sps.chi2_contingency(table, correction=False).statistic)


def check_pair_against_libraries(pair: object, ya: int, na: int, yb: int, nb: int,
                                 alpha: float = 0.05) -> None:
    """One pair's test and effect sizes against scipy/statsmodels, computed here."""
    table = np.array([[ya, na - ya], [yb, nb - yb]])
    if expected_freq(table).min() < 5:
        assert pair.test == "fisher"
        assert pair.p_value == pytest.approx(sps.fisher_exact(table).pvalue, rel=1e-12)
    else:
        assert pair.test == "chi2"
        ref = sps.chi2_contingency(table, correction=False)
        assert pair.p_value == pytest.approx(ref.pvalue, rel=1e-12)
        assert pair.statistic == pytest.approx(ref.statistic, rel=1e-12)
    ci = confint_proportions_2indep(ya, na, yb, nb, method="newcomb", alpha=alpha)
    assert pair.diff_pp == pytest.approx(100 * (ya / na - yb / nb), abs=1e-12)
    assert pair.diff_ci == pytest.approx((100 * ci[0], 100 * ci[1]), abs=1e-9)
    scipy_or = odds_ratio(table, kind="sample")
    assert pair.odds_ratio == pytest.approx(scipy_or.statistic, rel=1e-12)
    if (table > 0).all():
        low, high = scipy_or.confidence_interval(0.95)
        assert pair.or_ci == pytest.approx((low, high), rel=1e-12)
    # Risk ratio: statsmodels inside, scipy's relative_risk here (independent code).
    rr = relative_risk(ya, na, yb, nb)
    assert pair.risk_ratio == pytest.approx(rr.relative_risk, rel=1e-12)
    if ya and yb:
        low, high = rr.confidence_interval(0.95)
        assert pair.rr_ci == pytest.approx((low, high), rel=1e-10)
    # Cohen's h by hand.
    hand = 2 * math.asin(math.sqrt(ya / na)) - 2 * math.asin(math.sqrt(yb / nb))
    assert pair.cohens_h == pytest.approx(hand, abs=1e-12)


def check_holm(row: ComparisonRow, alpha: float = 0.05) -> None:
    tested = [p for p in row.pairwise if p.p_value is not None]
    ref = multipletests([p.p_value for p in tested], alpha=alpha, method="holm")[1]
    np.testing.assert_allclose([p.p_adjusted for p in tested], ref, rtol=1e-12)
    assert [p.significant for p in tested] == [bool(p < alpha) for p in ref]
    for p in row.pairwise:
        if p.p_value is None:
            assert p.p_adjusted is None and p.significant is None


THREE = {"Leeds": (160, 40), "Sheffield": (120, 80), "York": (110, 90)}
FIVE = {"a": (50, 50), "b": (65, 35), "c": (40, 60), "d": (58, 42), "e": (70, 30)}


@pytest.mark.parametrize("data", [THREE, FIVE], ids=["three", "five"])
def test_large_expected_counts_use_pearson_and_every_pair(data: dict) -> None:
    row = compare(data).row("q")
    table = np.array([[y, n] for y, n in data.values()])
    ref = sps.chi2_contingency(table, correction=False)
    assert row.test == "chi2" and row.resamples is None and row.p_se is None
    assert row.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert row.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    levels = list(data)
    k = len(levels)
    assert [(p.a, p.b) for p in row.pairwise] == list(itertools.combinations(levels, 2))
    assert len(row.pairwise) == k * (k - 1) // 2
    for pair in row.pairwise:
        (ya, no_a), (yb, no_b) = data[pair.a], data[pair.b]
        check_pair_against_libraries(pair, ya, ya + no_a, yb, yb + no_b)
    check_holm(row)
    # Two-group effect sizes belong to pairs when there are more than two groups.
    assert row.diff_pp is None and row.risk_ratio is None and row.cohens_h is None


def test_three_levels_known_answer() -> None:
    """The closing-note dataset: Leeds 160/200, Sheffield 120/200, York 110/200."""
    row = compare(THREE).row("q")
    # By hand: expected 130 yes and 70 no per site; squared deviations 30^2 + 10^2 + 20^2
    # = 1400 for yes and for no, so X^2 = 1400 / 130 + 1400 / 70 = 30.769...
    assert row.statistic == pytest.approx(1400 / 130 + 1400 / 70, rel=1e-12)
    assert row.p_value == pytest.approx(math.exp(-row.statistic / 2), rel=1e-12)  # chi2, 2 df
    by_pair = {(p.a, p.b): p for p in row.pairwise}
    leeds_york = by_pair[("Leeds", "York")]
    assert leeds_york.diff_pp == pytest.approx(25.0)
    assert leeds_york.risk_ratio == pytest.approx(0.8 / 0.55)
    assert leeds_york.odds_ratio == pytest.approx((160 * 90) / (40 * 110))
    assert by_pair[("Leeds", "Sheffield")].significant
    assert by_pair[("Leeds", "York")].significant
    assert not by_pair[("Sheffield", "York")].significant


def test_small_expected_counts_use_monte_carlo_with_resamples_and_se() -> None:
    data = {"a": (1, 9), "b": (4, 6), "c": (8, 3)}
    row = compare(data).row("q")
    assert row.test == "chi2_monte_carlo" and row.small_expected
    assert row.resamples == MONTE_CARLO_RESAMPLES
    assert row.p_se == pytest.approx(math.sqrt(row.p_value * (1 - row.p_value)
                                               / MONTE_CARLO_RESAMPLES))
    # Seeded: the same data gives the same p.
    assert compare(data).row("q").p_value == row.p_value
    table = np.array([[y, n] for y, n in data.values()])
    assert row.statistic == pytest.approx(pearson(table), rel=1e-12)
    # Against the exact permutation p: every table with these margins, weighted by its
    # multivariate hypergeometric probability (scipy), at least as extreme in Pearson's
    # statistic.  The Monte Carlo p must lie within 4 of its standard errors.
    sizes = table.sum(axis=1)
    total_yes = int(table[:, 0].sum())
    exact = 0.0
    observed = pearson(table)
    expected = expected_freq(table)
    for ya in range(sizes[0] + 1):
        for yb in range(sizes[1] + 1):
            yc = total_yes - ya - yb
            if not 0 <= yc <= sizes[2]:
                continue
            t = np.array([[ya, sizes[0] - ya], [yb, sizes[1] - yb], [yc, sizes[2] - yc]])
            stat = float(((t - expected) ** 2 / expected).sum())
            if stat >= observed * (1 - 1e-12):
                exact += sps.multivariate_hypergeom.pmf([ya, yb, yc], sizes, total_yes)
    assert abs(row.p_value - exact) < 4 * row.p_se
    # The pairs of a small table are 2 x 2 and so use Fisher's exact test.
    for pair in row.pairwise:
        (ya, no_a), (yb, no_b) = data[pair.a], data[pair.b]
        check_pair_against_libraries(pair, ya, ya + no_a, yb, yb + no_b)
    check_holm(row)


def test_monte_carlo_agrees_with_a_long_run() -> None:
    """Five levels, too many tables to enumerate: a 200,000-table run of scipy's
    `random_table` with its own seed stands for the exact p."""
    data = {"a": (2, 8), "b": (5, 5), "c": (7, 3), "d": (1, 9), "e": (6, 6)}
    row = compare(data).row("q")
    table = np.array([[y, n] for y, n in data.values()])
    expected = expected_freq(table)
    draws = sps.random_table(table.sum(axis=1), table.sum(axis=0)).rvs(
        200_000, random_state=np.random.default_rng(12345))
    stats_ = ((draws - expected) ** 2 / expected).sum(axis=(1, 2))
    long_run = float((stats_ >= pearson(table) * (1 - 1e-12)).mean())
    assert row.test == "chi2_monte_carlo"
    assert abs(row.p_value - long_run) < 4 * math.hypot(row.p_se,
                                                        math.sqrt(long_run * (1 - long_run)
                                                                  / 200_000))


def test_a_level_without_answers_is_left_out_of_the_omnibus_test() -> None:
    data = {"a": (30, 20), "b": (0, 0), "c": (10, 40), "d": (25, 25)}
    df = frame_from_counts(data)
    # "b" has cases, but none answered yes or no.
    df = pd.concat([df, pd.DataFrame({"g": ["b"] * 3, "q": ["na", None, "na"]})])
    row = compare_groups(df, "g", ["q"], levels=tuple(data), independent_effect=False).row("q")
    kept = np.array([[30, 20], [10, 40], [25, 25]])
    assert row.test == "chi2" and row.status == "ok"
    assert row.p_value == pytest.approx(sps.chi2_contingency(kept, correction=False).pvalue,
                                        rel=1e-12)
    assert "left out of the test" in row.note and "b" in row.note
    assert row.groups["b"].n == 0 and row.groups["b"].na == 2
    by_pair = {(p.a, p.b): p for p in row.pairwise}
    for pair in ("a", "b"), ("b", "c"), ("b", "d"):
        p = by_pair[pair]
        assert p.test is None and p.status == "empty_group" and p.p_value is None
        assert p.diff_pp is None and p.cohens_h is None and "b" in p.note
    check_holm(row)  # over the three testable pairs only
    assert len([p for p in row.pairwise if p.p_adjusted is not None]) == 3


def test_a_listed_level_with_no_cases_at_all() -> None:
    df = frame_from_counts({"a": (30, 20), "c": (10, 40), "d": (25, 25)})
    result = compare_groups(df, "g", ["q"], levels=("a", "b", "c", "d"),
                            independent_effect=False)
    row = result.row("q")
    assert row.groups["b"].n == 0 and row.test == "chi2"
    assert len(row.pairwise) == 6
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_only_one_level_answered_means_no_test() -> None:
    df = frame_from_counts({"a": (30, 20)})
    row = compare_groups(df, "g", ["q"], levels=("a", "b", "c"),
                         independent_effect=False).row("q")
    assert row.test is None and row.status == "empty_group"
    assert all(p.test is None for p in row.pairwise)


def test_pairwise_json_shape_and_zero_cells() -> None:
    data = {"a": (20, 0), "b": (0, 20), "c": (10, 10)}
    result = compare(data)
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    row = doc["rows"][0]
    assert {"resamples", "p_se", "risk_ratio", "rr_ci", "cohens_h", "pairwise"} <= set(row)
    pairs = {(p["a"], p["b"]): p for p in row["pairwise"]}
    assert all(set(p) >= PAIR_KEYS for p in pairs.values())
    ab = pairs[("a", "b")]
    # a: all yes, b: no yes: odds and risk ratios are infinite (null in JSON), no interval.
    assert ab["odds_ratio"] is None and ab["or_ci"] is None
    assert ab["risk_ratio"] is None and ab["rr_ci"] is None
    assert ab["cohens_h"] == pytest.approx(math.pi)
    assert "risk ratio" in ab["note"]
    bc = pairs[("b", "c")]
    assert bc["risk_ratio"] == 0.0 and bc["rr_ci"] is None


def test_holm_within_the_question_not_across_questions() -> None:
    rng = np.random.default_rng(8)
    g = rng.choice(["a", "b", "c"], 900)
    df = pd.DataFrame({"g": g,
                       "q1": np.where(rng.random(900) < 0.4 + 0.15 * (g == "a"), "yes", "no"),
                       "q2": np.where(rng.random(900) < 0.5 + 0.08 * (g == "c"), "yes", "no")})
    result = compare_groups(df, "g", ["q1", "q2"], independent_effect=False,
                            correction="bh")
    for row in result.rows:
        check_holm(row)
    # Across questions the chosen correction (here BH) applies to the omnibus p only.
    raw = [r.p_value for r in result.rows]
    np.testing.assert_allclose([r.p_adjusted for r in result.rows],
                               multipletests(raw, method="fdr_bh")[1])


def test_forced_tests_carry_to_the_pairs() -> None:
    data = {"a": (60, 40), "b": (45, 55), "c": (50, 50)}
    fisher = compare(data, test="fisher").row("q")
    assert fisher.test == "fisher_monte_carlo" and fisher.resamples == MONTE_CARLO_RESAMPLES
    for pair in fisher.pairwise:
        (ya, no_a), (yb, no_b) = data[pair.a], data[pair.b]
        t = np.array([[ya, no_a], [yb, no_b]])
        assert pair.test == "fisher"
        assert pair.p_value == pytest.approx(sps.fisher_exact(t).pvalue, rel=1e-12)
    yates = compare(data, test="chi2", yates=True).row("q")
    for pair in yates.pairwise:
        (ya, no_a), (yb, no_b) = data[pair.a], data[pair.b]
        t = np.array([[ya, no_a], [yb, no_b]])
        assert pair.test == "chi2_yates"
        assert pair.p_value == pytest.approx(
            sps.chi2_contingency(t, correction=True).pvalue, rel=1e-12)


def test_two_levels_have_effect_sizes_and_no_pairs() -> None:
    row = compare({"iom": (78, 22), "non_iom": (60, 40)}).row("q")
    assert row.pairwise == ()
    check_pair_against_libraries(row, 78, 100, 60, 100)
    assert compare({"iom": (78, 22), "non_iom": (60, 40)}).to_dict()["rows"][0][
        "pairwise"] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_path_gives_the_same_pairs(seed: int) -> None:
    """`compare_counts` (a SQL GROUP BY) and `compare_groups` (rows) agree on everything."""
    rng = np.random.default_rng(seed)
    n = 500
    g = rng.choice(["x", "y", "z", "w"], n, p=[0.4, 0.3, 0.25, 0.05])
    df = pd.DataFrame({"g": g})
    for q in ("q1", "q2"):
        df[q] = rng.choice(["yes", "no", "na"], n, p=[0.6, 0.3, 0.1])
    levels = ("x", "y", "z", "w")
    rows = compare_groups(df, "g", ["q1", "q2"], levels=levels, independent_effect=False)
    long = df.melt(id_vars="g", var_name="question_id", value_name="value")
    counts = long.groupby(["question_id", "g", "value"]).size().rename("count").reset_index()
    sizes = df["g"].value_counts().to_dict()
    from_counts = compare_counts(counts, "g", ["q1", "q2"], levels=levels,
                                 group_sizes=sizes, independent_effect=False)
    assert [r.to_dict() for r in from_counts.rows] == [r.to_dict() for r in rows.rows]
    assert any(r.pairwise for r in rows.rows)
