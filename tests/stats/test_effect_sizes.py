"""Effect sizes beside every two-group p (issue 16, item 4): risk ratio against scipy's
`relative_risk` (the code under test uses statsmodels' `Table2x2`), Cohen's h by hand,
the odds ratio against scipy, on random tables including zero cells."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from scipy.stats.contingency import odds_ratio, relative_risk

from stats import compare_groups
from stats.significance import cohens_h, risk_ratio


@given(st.integers(0, 60), st.integers(1, 60), st.integers(0, 60), st.integers(1, 60))
@settings(max_examples=300, deadline=None)
def test_risk_ratio_equals_scipy(y1: int, n1: int, y2: int, n2: int) -> None:
    y1, y2 = min(y1, n1), min(y2, n2)
    table = np.array([[y1, n1 - y1], [y2, n2 - y2]])
    estimate, ci, note = risk_ratio(table)
    if y1 == 0 and y2 == 0:
        assert estimate is None and ci is None and "undefined" in note
        return
    ref = relative_risk(y1, n1, y2, n2)
    assert estimate == pytest.approx(ref.relative_risk, rel=1e-12)
    if y1 == 0 or y2 == 0:
        assert ci is None and note
    elif y1 == n1 and y2 == n2:
        assert ci is None  # both all yes: the log-scale standard error is 0
    else:
        low, high = ref.confidence_interval(0.95)
        assert ci == pytest.approx((low, high), rel=1e-10)
        assert ci[0] <= estimate <= ci[1]


def test_risk_ratio_by_hand() -> None:
    # 30/40 against 20/50: RR = 0.75 / 0.4; Katz SE of log RR = sqrt(1/30 - 1/40 + 1/20 - 1/50).
    estimate, ci, _ = risk_ratio(np.array([[30, 10], [20, 30]]))
    se = math.sqrt(1 / 30 - 1 / 40 + 1 / 20 - 1 / 50)
    z = float(norm.ppf(0.975))
    assert estimate == pytest.approx(1.875)
    assert ci == pytest.approx((1.875 * math.exp(-z * se), 1.875 * math.exp(z * se)),
                               rel=1e-9)


@given(st.integers(0, 60), st.integers(1, 60), st.integers(0, 60), st.integers(1, 60))
@settings(max_examples=200, deadline=None)
def test_cohens_h_by_hand(y1: int, n1: int, y2: int, n2: int) -> None:
    y1, y2 = min(y1, n1), min(y2, n2)
    hand = 2 * math.asin(math.sqrt(y1 / n1)) - 2 * math.asin(math.sqrt(y2 / n2))
    assert cohens_h(y1, n1, y2, n2) == pytest.approx(hand, abs=1e-12)
    assert cohens_h(y1, n1, 0, 0) is None


def test_two_group_row_has_every_effect_size_in_its_json() -> None:
    df = pd.DataFrame({"g": ["iom"] * 40 + ["non_iom"] * 50,
                       "q": ["yes"] * 30 + ["no"] * 10 + ["yes"] * 20 + ["no"] * 30})
    result = compare_groups(df, "g", ["q"], independent_effect=False)
    row = json.loads(json.dumps(result.to_dict(), allow_nan=False))["rows"][0]
    table = np.array([[30, 10], [20, 30]])
    assert row["odds_ratio"] == pytest.approx(odds_ratio(table, kind="sample").statistic)
    assert row["risk_ratio"] == pytest.approx(relative_risk(30, 40, 20, 50).relative_risk)
    low, high = relative_risk(30, 40, 20, 50).confidence_interval(0.95)
    assert row["rr_ci"] == pytest.approx([low, high])
    assert row["cohens_h"] == pytest.approx(2 * math.asin(math.sqrt(0.75))
                                            - 2 * math.asin(math.sqrt(0.4)))
    assert row["pairwise"] == [] and row["resamples"] is None and row["p_se"] is None
    frame = result.to_frame()
    assert frame.loc[0, "risk_ratio"] == pytest.approx(1.875)
    assert frame.loc[0, "rr_ci_low"] == pytest.approx(low)


def test_untestable_two_group_row_has_no_ratio_but_keeps_h() -> None:
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 5, "q": ["yes"] * 10})
    row = compare_groups(df, "g", ["q"], independent_effect=False).row("q")
    assert row.test is None and row.status == "no_variation"
    assert row.risk_ratio is None and row.odds_ratio is None
    assert row.cohens_h == 0.0 and row.diff_pp == 0.0
