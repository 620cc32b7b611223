"""Inter-rater reliability against worked examples and statsmodels."""

from __future__ import annotations

import importlib

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from stats import reliability

# The module, not the function that ``stats`` exports under the same name.
reliability_module = importlib.import_module("stats.reliability")


def raters_from_table(table: list[list[int]], categories: list[str],
                      question: str = "q") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Primary and QA frames (index = case id) whose cross-table is ``table``."""
    first, second = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [categories[i]] * count
            second += [categories[j]] * count
    index = pd.Index([f"case{k}" for k in range(len(first))], name="case_id")
    return (pd.DataFrame({question: first}, index=index),
            pd.DataFrame({question: second}, index=index))


def test_cohen_worked_example() -> None:
    # 50 proposals (Cohen's kappa, standard worked example): both yes 20, A yes/B no 5,
    # A no/B yes 10, both no 15 -> agreement 70%, chance 50%, kappa 0.40.
    primary, qa = raters_from_table([[20, 5], [10, 15]], ["yes", "no"])
    row = reliability(primary, qa, ["q"], labels={"q": "Proposal funded?"}).rows[0]
    assert row.label == "Proposal funded?"
    assert row.n_pairs == 50
    assert row.agreement == pytest.approx(70.0)
    assert row.kappa == pytest.approx(0.40, abs=1e-12)


def test_fleiss_psychiatric_diagnosis_example() -> None:
    # Fleiss, Statistical Methods for Rates and Proportions: 100 patients, two raters,
    # psychotic/neurotic/organic; p_o = 0.89, p_e = 0.66, kappa = 0.23 / 0.34 = 0.676.
    table = [[75, 1, 4], [5, 4, 1], [0, 0, 10]]
    primary, qa = raters_from_table(table, ["psychotic", "neurotic", "organic"])
    row = reliability(primary, qa, ["q"]).rows[0]
    assert row.agreement == pytest.approx(89.0)
    assert row.kappa == pytest.approx(0.23 / 0.34, abs=1e-12)


def test_sas_printout_with_standard_error() -> None:
    # SAS PROC FREQ simple kappa printout (used by statsmodels' own tests):
    # kappa 0.4842, ASE 0.1380, 95% CI 0.2137 to 0.7547.
    table = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    primary, qa = raters_from_table(table, ["a", "b", "c"])
    row = reliability(primary, qa, ["q"]).rows[0]
    assert row.kappa == pytest.approx(0.4842, abs=5e-5)
    assert row.kappa_se == pytest.approx(0.1380, abs=5e-5)
    assert row.kappa_ci == pytest.approx((0.2137, 0.7547), abs=5e-5)


def test_matches_statsmodels_and_pools_overall() -> None:
    rng = np.random.default_rng(8)
    n = 300
    index = pd.Index(range(n))
    primary = pd.DataFrame({q: rng.choice(["yes", "no", "na"], n) for q in ("q1", "q2")},
                           index=index)
    qa = primary.copy()
    flip = rng.random((n, 2)) < 0.25
    qa = qa.mask(flip, pd.DataFrame(rng.choice(["yes", "no", "na"], (n, 2)),
                                    index=index, columns=qa.columns))
    primary.loc[3, "q1"] = None  # unanswered: pair dropped
    result = reliability(primary, qa, ["q1", "q2"])
    for row in result.rows:
        a, b = primary[row.question_id], qa[row.question_id]
        both = a.notna() & b.notna()
        table = pd.crosstab(a[both], b[both]).reindex(
            index=row.categories, columns=row.categories, fill_value=0)
        ref = cohens_kappa(table.to_numpy())
        assert row.kappa == pytest.approx(ref.kappa, abs=1e-12)
        assert row.kappa_ci == pytest.approx((ref.kappa_low, ref.kappa_upp), abs=1e-9)
        assert row.n_pairs == both.sum()
    assert result.rows[0].n_pairs == n - 1
    assert result.overall.n_pairs == 2 * n - 1
    stacked_a = pd.concat([primary.q1, primary.q2], ignore_index=True)
    stacked_b = pd.concat([qa.q1, qa.q2], ignore_index=True)
    both = stacked_a.notna() & stacked_b.notna()
    ref = cohens_kappa(pd.crosstab(stacked_a[both], stacked_b[both]).to_numpy())
    assert result.overall.kappa == pytest.approx(ref.kappa, abs=1e-12)


def test_only_cases_rated_by_both() -> None:
    primary = pd.DataFrame({"q": ["yes", "no", "yes", "no"]}, index=[1, 2, 3, 4])
    qa = pd.DataFrame({"q": ["yes", "yes", "no"]}, index=[2, 3, 9])
    result = reliability(primary, qa, ["q"])
    assert result.n_cases == 2 and result.rows[0].n_pairs == 2


def test_kappa_undefined_when_one_category_used() -> None:
    primary = pd.DataFrame({"q": ["yes"] * 5, "r": [None] * 5})
    qa = pd.DataFrame({"q": ["yes"] * 5, "r": ["yes"] * 5})
    result = reliability(primary, qa, ["q", "r"])
    q, r = result.rows
    assert q.status == "undefined" and q.kappa is None and q.agreement == 100.0
    assert r.status == "no_pairs" and r.agreement is None
    d = result.to_dict()
    assert d["rows"][0]["kappa"] is None
    assert list(result.to_frame().question_id) == ["q", "r", "overall"]


def test_duplicate_case_ids_are_refused() -> None:
    frame = pd.DataFrame({"q": ["yes", "no"]}, index=[1, 1])
    with pytest.raises(ValueError):
        reliability(frame, frame, ["q"])


# --- Beyond kappa: PABAK, Gwet's AC1, Krippendorff's alpha, intervals and reasons --------

def _package_alpha(primary: pd.Series, qa: pd.Series) -> float:
    """Krippendorff's alpha by the package on the raw columns, missing ratings as NaN."""
    codes = {c: i for i, c in enumerate(sorted(set(primary.dropna()) | set(qa.dropna())))}
    data = np.vstack([primary.map(codes).to_numpy(dtype=float),
                      qa.map(codes).to_numpy(dtype=float)])
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def test_two_by_two_by_hand() -> None:
    # 50 pairs: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    primary, qa = raters_from_table([[20, 5], [10, 15]], ["yes", "no"])
    row = reliability(primary, qa, ["q"]).rows[0]
    po = (20 + 15) / 50  # 0.70
    pe_cohen = (25 / 50) * (30 / 50) + (25 / 50) * (20 / 50)  # 0.30 + 0.20 = 0.50
    assert row.kappa == pytest.approx((po - pe_cohen) / (1 - pe_cohen), abs=1e-12)  # 0.40
    assert row.pabak == pytest.approx(2 * po - 1, abs=1e-12)  # 0.40
    # Gwet: pi_yes = (25 + 30) / 100 = 0.55, pi_no = 0.45; Pe = (1/(2-1)) * 2 * 0.55 * 0.45
    pe_gwet = 0.55 * 0.45 + 0.45 * 0.55  # 0.495
    assert row.ac1 == pytest.approx((po - pe_gwet) / (1 - pe_gwet), abs=1e-12)  # 0.40594
    # Alpha: N = 100 values, n_yes 55, n_no 45, 15 disagreeing pairs:
    # 1 - (N - 1) * 2 * 15 / (N^2 - 55^2 - 45^2) = 1 - 99 * 30 / 4950 = 0.40
    assert row.alpha == pytest.approx(1 - 99 * 30 / 4950, abs=1e-12)
    assert row.alpha == pytest.approx(_package_alpha(primary.q, qa.q), abs=1e-12)
    low, high = proportion_confint(35, 50, alpha=0.05, method="wilson")
    assert row.agreement_ci == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert row.pabak_ci == pytest.approx((2 * low - 1, 2 * high - 1), abs=1e-12)
    assert row.prevalence == pytest.approx(55.0) and row.prevalence_category == "yes"
    assert row.reasons == {}
    for name in ("ac1", "alpha"):
        lo, hi = getattr(row, f"{name}_ci")
        assert -1 <= lo < getattr(row, name) < hi <= 1


def test_three_categories_by_hand() -> None:
    # Fleiss's table: Po = 0.89; rows 80/10/10, columns 80/5/15.
    table = [[75, 1, 4], [5, 4, 1], [0, 0, 10]]
    primary, qa = raters_from_table(table, ["psychotic", "neurotic", "organic"])
    row = reliability(primary, qa, ["q"]).rows[0]
    po, k = 0.89, 3
    assert row.pabak == pytest.approx((k * po - 1) / (k - 1), abs=1e-12)  # 0.835
    # pi = (160, 15, 25) / 200 = 0.8, 0.075, 0.125
    pe_gwet = (0.8 * 0.2 + 0.075 * 0.925 + 0.125 * 0.875) / (k - 1)  # 0.169375
    assert row.ac1 == pytest.approx((po - pe_gwet) / (1 - pe_gwet), abs=1e-12)  # 0.867570
    # Alpha: N = 200, sum n_c^2 = 160^2 + 15^2 + 25^2 = 26,450, 11 disagreeing pairs.
    assert row.alpha == pytest.approx(1 - 199 * 22 / (200**2 - 26_450), abs=1e-12)  # 0.676900
    assert row.alpha == pytest.approx(_package_alpha(primary.q, qa.q), abs=1e-12)
    low, high = proportion_confint(89, 100, alpha=0.05, method="wilson")
    assert row.pabak_ci == pytest.approx(((3 * low - 1) / 2, (3 * high - 1) / 2), abs=1e-12)
    assert row.prevalence == pytest.approx(80.0) and row.prevalence_category == "psychotic"


def test_prevalence_paradox() -> None:
    # 100 pairs, 97 agree, 97.5% of the ratings are "yes": kappa and alpha collapse,
    # PABAK and AC1 do not.
    primary, qa = raters_from_table([[96, 2], [1, 1]], ["yes", "no"])
    row = reliability(primary, qa, ["q"]).rows[0]
    po = 0.97
    pe_cohen = 0.98 * 0.97 + 0.02 * 0.03  # 0.9512
    assert row.kappa == pytest.approx((po - pe_cohen) / (1 - pe_cohen), abs=1e-12)  # 0.3852
    assert row.pabak == pytest.approx(2 * po - 1, abs=1e-12)  # 0.94
    pe_gwet = 2 * 0.975 * 0.025  # pi_yes = 195 / 200
    assert row.ac1 == pytest.approx((po - pe_gwet) / (1 - pe_gwet), abs=1e-12)  # 0.9685
    assert row.alpha == pytest.approx(1 - 199 * 6 / (200**2 - 195**2 - 5**2), abs=1e-12)
    assert row.alpha == pytest.approx(_package_alpha(primary.q, qa.q), abs=1e-12)
    assert row.prevalence == pytest.approx(97.5) and row.prevalence_category == "yes"
    assert row.kappa < 0.4 and row.alpha < 0.4
    assert row.pabak > 0.9 and row.ac1 > 0.95
    assert row.ac1_ci is not None and row.ac1_ci[0] > 0.85
    # A resample holding only the 96 yes/yes pairs has alpha 0/0: no interval, and why.
    assert row.alpha_ci is None and row.reasons["alpha_ci"] == reliability_module.UNDEFINED_BOOT


def test_perfect_agreement_gives_no_degenerate_interval() -> None:
    primary, qa = raters_from_table([[10, 0], [0, 5]], ["yes", "no"])
    row = reliability(primary, qa, ["q"]).rows[0]
    assert (row.agreement, row.kappa, row.pabak, row.ac1, row.alpha) == (100.0, 1.0, 1.0,
                                                                         1.0, 1.0)
    assert row.alpha == _package_alpha(primary.q, qa.q)
    # No SE 0 and CI [1, 1]: statsmodels' variance is 0 here, so there is no interval.
    assert row.kappa_se is None and row.kappa_ci is None
    assert row.reasons["kappa_ci"] == reliability_module.PERFECT_SE
    assert row.ac1_ci is None and row.alpha_ci is None
    assert row.reasons["ac1_ci"] == row.reasons["alpha_ci"] == reliability_module.ALL_AGREE_BOOT
    # Agreement and PABAK keep an honest interval: 15 of 15 is not certainty.
    low, high = proportion_confint(15, 15, alpha=0.05, method="wilson")
    assert row.agreement_ci == pytest.approx((100 * low, 100.0))
    assert row.pabak_ci == pytest.approx((2 * low - 1, 1.0)) and row.pabak_ci[0] < 0.6
    d = row.to_dict()
    assert d["kappa_ci"] is None and d["reasons"]["kappa_ci"].startswith("perfect agreement")


def test_one_answer_throughout_leaves_every_coefficient_undefined() -> None:
    primary, qa = raters_from_table([[12]], ["yes"])
    row = reliability(primary, qa, ["q"]).rows[0]
    assert row.status == "undefined" and row.agreement == 100.0
    for name in ("kappa", "pabak", "ac1", "alpha"):
        assert getattr(row, name) is None and getattr(row, f"{name}_ci") is None
        assert row.reasons[name] == reliability_module.ONE_CATEGORY
    assert row.agreement_ci is not None and row.agreement_ci[0] < 100
    assert row.prevalence == 100.0 and row.prevalence_category == "yes"


def test_one_rater_constant() -> None:
    # The primary rater says yes throughout; QA: 7 yes, 3 no.
    primary, qa = raters_from_table([[7, 3], [0, 0]], ["yes", "no"])
    row = reliability(primary, qa, ["q"]).rows[0]
    po = 0.7
    pe_cohen = 1.0 * 0.7 + 0.0 * 0.3  # = Po, so kappa is exactly 0
    assert row.kappa == pytest.approx((po - pe_cohen) / (1 - pe_cohen), abs=1e-12)
    assert row.kappa_ci is None
    assert row.reasons["kappa_ci"] == reliability_module.CONSTANT_RATER_SE
    pe_gwet = 2 * 0.85 * 0.15  # pi_yes = 17 / 20
    assert row.ac1 == pytest.approx((po - pe_gwet) / (1 - pe_gwet), abs=1e-12)  # 0.5973
    assert row.pabak == pytest.approx(0.4, abs=1e-12)
    assert row.alpha == pytest.approx(1 - 19 * 6 / (400 - 17**2 - 3**2), abs=1e-12)  # -0.1176
    assert row.alpha == pytest.approx(_package_alpha(primary.q, qa.q), abs=1e-12)


def test_missing_ratings_are_no_pair_for_any_statistic() -> None:
    rng = np.random.default_rng(16)
    n = 400
    primary = pd.Series(rng.choice(["yes", "no", "na"], n, p=[0.7, 0.2, 0.1]), dtype=object)
    qa = primary.where(rng.random(n) > 0.2, pd.Series(rng.choice(["yes", "no", "na"], n)))
    primary[rng.random(n) < 0.1] = None
    qa[rng.random(n) < 0.1] = None
    row = reliability(primary.to_frame("q"), qa.to_frame("q"), ["q"]).rows[0]
    both = primary.notna() & qa.notna()
    kept = reliability(primary[both].to_frame("q"), qa[both].to_frame("q"), ["q"]).rows[0]
    assert row.n_pairs == both.sum() < n
    for name in ("agreement", "kappa", "pabak", "ac1", "alpha"):
        assert getattr(row, name) == getattr(kept, name)
        assert getattr(row, f"{name}_ci") == getattr(kept, f"{name}_ci")
    # The package, given every case with NaN for a missing rating, leaves the unpaired out.
    assert row.alpha == pytest.approx(_package_alpha(primary, qa), abs=1e-12)


def test_bootstrap_interval_is_scipy_bootstrap_of_the_package_alpha() -> None:
    # The same resamples (same seed), with the package evaluating every one of them.
    rng = np.random.default_rng(5)
    n = 60
    primary = pd.Series(rng.choice(["yes", "no", "na"], n, p=[0.5, 0.3, 0.2]))
    qa = primary.where(rng.random(n) > 0.3, pd.Series(rng.choice(["yes", "no", "na"], n)))
    row = reliability(primary.to_frame("q"), qa.to_frame("q"), ["q"]).rows[0]
    codes = {c: i for i, c in enumerate(row.categories)}
    data = np.vstack([primary.map(codes), qa.map(codes)]).astype(float)

    def package_alpha(cases: np.ndarray) -> float:
        return float(krippendorff.alpha(reliability_data=data[:, cases],
                                        level_of_measurement="nominal"))

    ref = sps.bootstrap((np.arange(n),), package_alpha, vectorized=False,
                        n_resamples=reliability_module.BOOTSTRAP_RESAMPLES, method="BCa",
                        random_state=np.random.default_rng(reliability_module.BOOTSTRAP_SEED))
    assert row.alpha_ci == pytest.approx(tuple(ref.confidence_interval), abs=1e-9)
    assert row.alpha_ci[0] < row.alpha < row.alpha_ci[1]
    # Seeded: the same data give the same interval.
    again = reliability(primary.to_frame("q"), qa.to_frame("q"), ["q"]).rows[0]
    assert again.ac1_ci == row.ac1_ci and again.alpha_ci == row.alpha_ci


def test_overall_bootstrap_resamples_whole_cases() -> None:
    # Two questions answered identically within each case: resampling cases keeps a
    # case's two pairs together, so the overall AC1 interval is that of one question's
    # pairs (each counted twice), and wider than treating the 2n pairs as independent.
    primary, qa = raters_from_table([[30, 6], [4, 20]], ["yes", "no"])
    primary["r"], qa["r"] = primary.q, qa.q
    result = reliability(primary, qa, ["q", "r"])
    single = result.rows[0]
    assert result.overall.ac1 == pytest.approx(single.ac1, abs=1e-12)
    assert result.overall.ac1_ci == pytest.approx(single.ac1_ci, abs=1e-12)
    stacked = reliability(pd.concat([primary.q, primary.r], ignore_index=True).to_frame("q"),
                          pd.concat([qa.q, qa.r], ignore_index=True).to_frame("q"),
                          ["q"]).rows[0]
    assert stacked.ac1 == pytest.approx(single.ac1, abs=1e-12)
    width = result.overall.ac1_ci[1] - result.overall.ac1_ci[0]
    assert width > 1.2 * (stacked.ac1_ci[1] - stacked.ac1_ci[0])


def test_no_pairs_gives_reasons_and_json_keys() -> None:
    result = reliability(pd.DataFrame({"q": [None, "yes"]}), pd.DataFrame({"q": ["no", None]}),
                         ["q"])
    d = result.to_dict()["rows"][0]
    for name in ("agreement", "kappa", "pabak", "ac1", "alpha"):
        assert d[name] is None and d[f"{name}_ci"] is None
        assert d["reasons"][name] == reliability_module.NO_PAIRS
    frame = result.to_frame()
    assert {"pabak", "ac1_ci_low", "alpha_ci_high", "prevalence"} <= set(frame.columns)


def test_one_case_rated_twice_gives_coefficients_but_no_bootstrap_interval() -> None:
    # One double-rated case on several questions: the overall row pools its pairs, and a
    # bootstrap of cases has one case to draw (scipy refused it and the report failed).
    primary = pd.DataFrame({q: [a] for q, a in zip("abcdef", "yyynny", strict=True)},
                           index=pd.Index(["case0"], name="case_id"))
    qa = pd.DataFrame({q: [a] for q, a in zip("abcdef", "ynynny", strict=True)},
                      index=pd.Index(["case0"], name="case_id"))
    result = reliability(primary, qa, list("abcdef"))
    overall = result.overall
    assert overall.n_pairs == 6 and overall.agreement == pytest.approx(100 * 5 / 6)
    assert overall.ac1 is not None and overall.alpha is not None
    assert overall.ac1_ci is None and overall.alpha_ci is None
    assert dict(overall.reasons)["ac1_ci"] == reliability_module.ONE_CASE_BOOT
