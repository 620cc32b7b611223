"""compare_counts on aggregated counts gives exactly compare_groups on the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stats import compare_counts, compare_groups

COVARIATES = ("case_type", "rosh", "likelihood", "provider")


def cases(seed: int, n: int, missing: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "iom": rng.choice(["iom", "non_iom"], n, p=[0.2, 0.8]),
        "case_type": rng.choice(["community", "post_release"], n),
        "rosh": rng.choice(["low", "medium", "high"], n),
        "likelihood": rng.choice(["low", "medium", "high"], n),
        "provider": rng.choice(["nps", "crc"], n),
    })
    for q in ("q1", "q2", "q3"):
        p = 0.55 + 0.15 * (df["iom"] == "iom") + 0.1 * (df["rosh"] == "low")
        answer = np.where(rng.random(n) < p, "yes", "no").astype(object)
        answer[rng.random(n) < missing] = None
        answer[rng.random(n) < 0.05] = "na"
        df[q] = answer
    df.loc[rng.random(n) < 0.03, "rosh"] = None  # unknown covariate: dropped from models
    return df


def aggregate(df: pd.DataFrame, questions: list[str]) -> pd.DataFrame:
    long = df.melt(id_vars=["iom", *COVARIATES], value_vars=questions,
                   var_name="question_id", value_name="value").dropna(subset=["value"])
    keys = ["question_id", "iom", *COVARIATES, "value"]
    return long.groupby(keys, dropna=False).size().rename("count").reset_index()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(60, 1500))
def test_counts_and_rows_give_the_same_comparison(seed: int, n: int) -> None:
    df = cases(seed, n)
    questions = ["q1", "q2", "q3"]
    by_rows = compare_groups(df, "iom", questions, levels=("iom", "non_iom"))
    sizes = df["iom"].value_counts().to_dict()
    by_counts = compare_counts(aggregate(df, questions), "iom", questions,
                               levels=("iom", "non_iom"), group_sizes=sizes)
    for a, b in zip(by_rows.rows, by_counts.rows, strict=True):
        assert a.groups == b.groups
        assert a.test == b.test and a.p_value == pytest.approx(b.p_value, rel=1e-12)
        assert a.p_adjusted == pytest.approx(b.p_adjusted, rel=1e-12)
        ea, eb = a.independent_effect, b.independent_effect
        assert ea.status == eb.status and ea.n == eb.n
        if ea.odds_ratio is not None:
            assert ea.odds_ratio == pytest.approx(eb.odds_ratio, rel=1e-6)
            assert ea.p == pytest.approx(eb.p, rel=1e-5)
    assert by_rows.summary == by_counts.summary


def test_missing_covariate_column_is_a_status_not_a_crash() -> None:
    df = cases(1, 300)
    counts = aggregate(df, ["q1"]).drop(columns=["provider"])
    result = compare_counts(counts, "iom", ["q1"], levels=("iom", "non_iom"))
    assert result.rows[0].independent_effect.status == "failed"
    assert result.rows[0].p_value is not None
