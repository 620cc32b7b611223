"""Distribution tables and yes/n by factor, including published Figures 4.6 and 4.7."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from stats import QuestionInfo, distribution, yes_no_by_factor
from tests.stats.stats_reference import reference_csv


@pytest.fixture
def cases() -> pd.DataFrame:
    return pd.DataFrame({
        "group": ["a"] * 10 + ["b"] * 6 + [None],
        "offence": (["violence"] * 6 + ["burglary"] * 3 + [None]
                    + ["violence", "unknown", "theft", "theft", "theft", "theft"] + ["theft"]),
    })


def test_counts_percentages_and_bases(cases: pd.DataFrame) -> None:
    d = distribution(cases, "offence", "group", order=["violence", "burglary"],
                     labels={"violence": "Violence against the person"})
    assert d.levels == ("a", "b")
    assert d.categories == ("violence", "burglary", "theft")
    a_violence = d.cell("a", "violence")
    assert a_violence.count == 6 and a_violence.pct == pytest.approx(100 * 6 / 9)
    assert a_violence.label == "Violence against the person"
    assert d.bases["a"].base == 9 and d.bases["a"].missing == 1 and d.bases["a"].total == 10
    assert d.bases["b"].unknown == 1 and d.bases["b"].base == 5
    assert d.cell("b", "theft").pct == pytest.approx(80.0)


def test_suppression_flags_keep_counts(cases: pd.DataFrame) -> None:
    d = distribution(cases, "offence", "group")
    assert d.cell("a", "burglary").suppressed and d.cell("a", "burglary").count == 3
    assert not d.cell("a", "violence").suppressed  # 6 >= 5
    assert not d.cell("b", "burglary").suppressed  # zero is not disclosive
    assert d.cell("b", "burglary").count == 0
    assert not distribution(cases, "offence", "group", suppress_below=3).cell(
        "a", "burglary").suppressed


def test_base_all_includes_missing_and_unknown(cases: pd.DataFrame) -> None:
    d = distribution(cases, "offence", "group", base="all")
    assert d.bases["a"].base == 10 and d.cell("a", "violence").pct == pytest.approx(60.0)
    with pytest.raises(ValueError):
        distribution(cases, "offence", "group", base="some")


def test_ungrouped_and_categorical(cases: pd.DataFrame) -> None:
    d = distribution(cases.astype("category"), "offence")
    assert d.levels == ("all",)
    assert d.cell("all", "theft").count == 5
    assert d.bases["all"].total == 17
    frame = d.to_frame()
    assert set(frame.columns) >= {"level", "category", "count", "pct", "suppressed"}
    json.dumps(d.to_dict(), allow_nan=False)


def test_empty_group_has_no_percentages() -> None:
    df = pd.DataFrame({"group": ["a", "a"], "field": ["x", "y"]})
    d = distribution(df, "field", "group", levels=["a", "b"])
    assert d.bases["b"].base == 0 and d.cell("b", "x").pct is None
    assert json.dumps(d.to_dict(), allow_nan=False)


def test_figure_4_7_index_offences() -> None:
    ref = reference_csv("fig4_7_index_offence.csv")
    offences = [row.offence for row in ref.itertuples() for _ in range(row.number)]
    d = distribution(pd.DataFrame({"offence": offences}), "offence",
                     order=list(ref.offence))
    base = d.bases["all"].base
    for row in ref.itertuples():
        cell = d.cell("all", row.offence)
        assert cell.count == row.number
        assert round(100 * row.number / base) == row.percentage or abs(
            cell.pct - row.percentage) < 1, row.offence


def test_figure_4_6_yes_no_by_factor() -> None:
    ref = reference_csv("fig4_6_factors_delivered.csv")
    columns, groups = {}, []
    sizes = {"thematic": 60, "core_iom": 268}
    for level, size in sizes.items():
        groups += [level] * size
    for row in ref.itertuples():
        values = []
        for level, size in sizes.items():
            yes, no = getattr(row, f"{level}_yes"), getattr(row, f"{level}_no")
            values += ["yes"] * yes + ["no"] * no + [None] * (size - yes - no)
        columns[row.factor] = values
    df = pd.DataFrame({"sample": groups, **columns})
    info = {r.factor: QuestionInfo(r.label) for r in ref.itertuples()}
    table = yes_no_by_factor(df, list(ref.factor), "sample", info,
                             levels=["thematic", "core_iom"])
    for row, ref_row in zip(table.rows, ref.itertuples(), strict=True):
        assert row.groups["thematic"].yes == ref_row.thematic_yes
        assert row.groups["core_iom"].n == ref_row.core_iom_yes + ref_row.core_iom_no
        assert row.label == ref_row.label
    assert not table.rows[0].suppressed["thematic"]
    frame = table.to_frame()
    assert len(frame) == 2 * len(ref)
    json.dumps(table.to_dict(), allow_nan=False)


def test_yes_no_suppression() -> None:
    df = pd.DataFrame({"q": ["yes"] * 3 + ["no"] * 10})
    table = yes_no_by_factor(df, ["q"])
    assert table.levels == ("all",)
    assert table.rows[0].suppressed["all"]
    assert table.rows[0].groups["all"].pct == pytest.approx(100 * 3 / 13)
