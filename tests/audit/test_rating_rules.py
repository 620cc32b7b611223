"""A rating agrees with the percentage printed beside it; 'yes to next band' is exact."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.formatting import format_number, format_pct
from audit.rating_rules import next_band, rating_for, yes_to_reach
from audit.report.tables import TableHead, rating_gaps_table, standard_ratings_table
from question_sets import load_set
from question_sets.model import DEFAULT_RATINGS, Ratings

HMIP = DEFAULT_RATINGS


@pytest.mark.parametrize("yes, n, printed, rating", [
    (159, 200, "80%", "Outstanding"),  # 79.5% prints 80%: Outstanding, not Good
    (129, 200, "65%", "Good"),  # 64.5% prints 65%: Good, not Requires improvement
    (99, 200, "50%", "Requires improvement"),  # 49.5%
    (1589, 2000, "79%", "Good"),  # 79.45%
    (1289, 2000, "64%", "Requires improvement"),  # 64.45%
    (160, 200, "80%", "Outstanding"),
    (0, 7, "0%", "Inadequate"),
    (7, 7, "100%", "Outstanding"),
])
def test_the_rating_is_the_printed_percentage_s(yes: int, n: int, printed: str,
                                                 rating: str) -> None:
    pct = 100.0 * yes / n
    assert format_pct(pct) == printed
    assert rating_for(pct, HMIP) == rating


def test_no_percentage_no_rating() -> None:
    assert rating_for(None, HMIP) is None
    assert rating_for(float("nan"), HMIP) is None


def test_one_decimal_rules_judge_and_print_one_decimal() -> None:
    rules = Ratings((("Outstanding", 80.0), ("Good", 65.0)), "Weak", 1)
    assert format_number(79.95, "pct1") == "80.0%" and rating_for(79.95, rules) == "Outstanding"
    assert format_number(79.94, "pct1") == "79.9%" and rating_for(79.94, rules) == "Good"
    assert rating_for(79.5, rules) == "Good"  # 79.5%: below 80.0 to one decimal


def _printed_rating(pct: float, rules: Ratings) -> str:
    """The rating of the number as printed, read back from the text."""
    value = Decimal(format_pct(pct, decimals=rules.decimals, percent_sign=False))
    for rating, at_least in rules.bands:
        if value >= Decimal(repr(at_least)):
            return rating
    return rules.below


THRESHOLDS = st.lists(st.sampled_from([100, 99.95, 99.5, 80, 79.5, 66.6, 65, 64.5, 50, 33.35,
                                       0.5, 0.05, 0]), min_size=1, max_size=4, unique=True)


@st.composite
def rules_strategy(draw: st.DrawFn) -> Ratings:
    thresholds = sorted(draw(THRESHOLDS), reverse=True)
    return Ratings(tuple((f"band{i}", float(t)) for i, t in enumerate(thresholds)),
                   "below", draw(st.sampled_from([0, 1])))


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy(), n=st.integers(1, 3000), data=st.data())
def test_rating_always_agrees_with_the_printed_number(rules: Ratings, n: int,
                                                      data: st.DataObject) -> None:
    yes = data.draw(st.integers(0, n))
    pct = 100.0 * yes / n
    assert rating_for(pct, rules) == _printed_rating(pct, rules)


@settings(max_examples=300, deadline=None)
@given(rules=rules_strategy(), n=st.integers(1, 2500), data=st.data())
def test_yes_to_reach_is_the_smallest_k(rules: Ratings, n: int, data: st.DataObject) -> None:
    yes = data.draw(st.integers(0, n))
    _, threshold = data.draw(st.sampled_from(rules.bands))
    got = yes_to_reach(yes, n, threshold, rules)
    # Brute force: the first k whose printed percentage reaches the threshold.
    want = next((k for k in range(n - yes + 1)
                 if Decimal(format_pct(100.0 * (yes + k) / n, decimals=rules.decimals,
                                       percent_sign=False)) >= Decimal(repr(threshold))),
                None)
    assert got == want


def test_yes_to_reach_by_hand() -> None:
    assert yes_to_reach(158, 200, 80, HMIP) == 1  # 79.0% -> 159/200 = 79.5% prints 80%
    assert yes_to_reach(159, 200, 80, HMIP) == 0
    assert yes_to_reach(128, 200, 65, HMIP) == 1  # 64.0% -> 64.5% prints 65%
    assert yes_to_reach(290, 300, 100, HMIP) == 9  # 299/300 = 99.67% prints 100%
    assert yes_to_reach(0, 3, 100, HMIP) == 3  # 2/3 = 67%: only all three will do
    assert yes_to_reach(5, 0, 80, HMIP) is None
    assert next_band(79.5, HMIP) is None and next_band(79.4, HMIP) == ("Outstanding", 80.0)
    assert next_band(10.0, HMIP) == ("Requires improvement", 50.0)


def _counts(per_question: dict[str, tuple[int, int]]) -> pd.DataFrame:
    records = []
    for unit_type, unit in (("site", "Leeds"), ("provider", "nps")):
        for qid, (yes, no) in per_question.items():
            for value, count in (("yes", yes), ("no", no)):
                records.append({"unit_type": unit_type, "inspection": "core", "unit": unit,
                                "question_id": qid, "value": value, "count": count})
    return pd.DataFrame.from_records(records)


def test_the_table_rates_the_printed_number_and_counts_yes_to_the_next_band() -> None:
    qs = load_set("hmip-adult-2018")
    counts = _counts({
        "2.1.1": (159, 41), "2.1.2": (190, 10), "2.1.3": (170, 30),  # lowest 79.5%
        "2.2.1": (129, 71), "2.2.2": (128, 72), "2.2.3": (150, 50),  # lowest 64.0%
        "2.3.1": (99, 101), "2.3.2": (120, 80), "2.3.3": (199, 1),  # lowest 49.5%
        "2.4.1": (10, 90), "2.4.2": (200, 0), "2.4.3": (30, 70),  # lowest 10%
    })
    table = standard_ratings_table(TableHead("standard_ratings", "A3", "Ratings", "x"), qs,
                                   counts)
    leeds = next(r for r in table.rows if r.get("unit") == "Leeds")
    assert (leeds["2.1_rating"], format_pct(leeds["2.1_pct"])) == ("Outstanding", "80%")
    assert leeds["2.1_to_next"] is None  # already at the top
    assert (leeds["2.2_rating"], format_pct(leeds["2.2_pct"])) == ("Requires improvement",
                                                                    "64%")
    assert leeds["2.2_to_next"] == 1  # 2.2.2: 128 -> 129 of 200; 2.2.1 is at 64.5% already
    assert (leeds["2.3_rating"], format_pct(leeds["2.3_pct"])) == ("Requires improvement",
                                                                    "50%")
    # Good needs 64.5%: 2.3.1 99 -> 129 (30 more), 2.3.2 120 -> 129 (9 more).
    assert leeds["2.3_to_next"] == 39
    assert leeds["2.3_next"] == "Good"
    # Requires improvement needs 49.5% of 100, i.e. 50: 2.4.1 10 -> 50, 2.4.3 30 -> 50.
    assert leeds["2.4_rating"] == "Inadequate" and leeds["2.4_to_next"] == 40 + 20
    notes = " ".join(table.notes)
    assert "80% or more Outstanding, 65% or more Good, 50% or more Requires improvement; " \
           "below that Inadequate" in notes
    assert "whole percentage as printed" in notes


def test_the_table_follows_the_rules_it_is_given() -> None:
    qs = load_set("hmip-adult-2018")
    rules = Ratings((("Top", 99.5), ("Mid", 64.5)), "Low", 1)
    counts = _counts({"2.1.1": (159, 41), "2.1.2": (129, 71), "2.1.3": (199, 1)})
    table = standard_ratings_table(TableHead("standard_ratings", "A3", "Ratings", "x"), qs,
                                   counts, rules)
    leeds = next(r for r in table.rows if r.get("unit") == "Leeds")
    assert leeds["2.1_rating"] == "Mid"  # 64.5% to one decimal: 64.5 >= 64.5
    assert table.column("2.1_pct").kind == "pct1"
    # Top needs 99.5%: 199 of 200 in each question: 40 + 70 more (2.1.3 is there).
    assert leeds["2.1_to_next"] == 110


def test_one_decimal_percentages_reach_the_workbook_and_the_pdf(tmp_path) -> None:
    import openpyxl
    from pypdf import PdfReader

    from audit.report.model import Report
    from audit.report.pdf import write_pdf
    from audit.report.xlsx import write_xlsx
    from tests.audit.report.conftest import sample_report

    qs = load_set("hmip-adult-2018")
    rules = Ratings((("Top", 99.5), ("Mid", 64.5)), "Low", 1)
    counts = _counts({"2.1.1": (159, 41), "2.1.2": (129, 71), "2.1.3": (199, 1)})
    table = standard_ratings_table(TableHead("standard_ratings", "A3", "Ratings", "x"), qs,
                                   counts, rules)
    gaps = rating_gaps_table(TableHead("rating_gaps", "A3.1", "Gaps", "x"), table, qs, rules)
    report = Report(sample_report().meta, (table, gaps))
    book = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", suppress_below=0))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row
             if c.number_format == "0.0%"]
    assert [c.value for c in cells] == pytest.approx([0.645, 0.645])  # Leeds, then nps
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in
                    PdfReader(write_pdf(report, tmp_path / "r.pdf", suppress_below=0)).pages)
    assert "Mid 64.5%" in text and "Top 110" in text


def test_the_gaps_table_shows_the_next_rating_and_the_yes_needed() -> None:
    qs = load_set("hmip-adult-2018")
    counts = _counts({"2.1.1": (159, 41), "2.1.2": (190, 10), "2.1.3": (170, 30),
                      "2.2.1": (129, 71), "2.2.2": (128, 72), "2.2.3": (150, 50)})
    ratings = standard_ratings_table(TableHead("standard_ratings", "A3", "Ratings", "x"), qs,
                                     counts)
    gaps = rating_gaps_table(TableHead("rating_gaps", "A3.1", "Gaps", "x"), ratings, qs)
    assert [c.id for c in gaps.columns] == ["unit"] + [
        f"{s}_{k}" for s in ("2.1", "2.2", "2.3", "2.4") for k in ("next", "to_next")]
    leeds = next(r for r in gaps.rows if r.get("unit") == "Leeds")
    assert (leeds["2.1_next"], leeds["2.1_to_next"]) == (None, None)  # Outstanding already
    assert (leeds["2.2_next"], leeds["2.2_to_next"]) == ("Good", 1)
    assert gaps.row_styles == ratings.row_styles  # the same heading rows
    assert "Figure A3" in gaps.notes[0] and "as printed" in gaps.notes[0]
