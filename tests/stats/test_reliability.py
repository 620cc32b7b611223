"""Inter-rater reliability against worked examples and statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from stats import reliability


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
