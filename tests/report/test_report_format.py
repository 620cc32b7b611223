"""Number formatting shared by every published output."""

import math

import pytest

from audit.report.format import (
    MISSING,
    format_cell,
    format_ci,
    format_count,
    format_p,
    format_pct,
    format_pp,
    table_footnotes,
    winansi,
)
from audit.report.model import Column, ReportTable


@pytest.mark.parametrize(("value", "text"), [(2976, "2,976"), (0, "0"), (1234567, "1,234,567"),
                                             (12.0, "12"), (2.25, "2.3")])
def test_counts_have_thousands_separators(value: float, text: str) -> None:
    assert format_count(value) == text


@pytest.mark.parametrize(("value", "text"), [(71.4, "71%"), (42.5, "43%"), (0.4, "0%"),
                                             (100.0, "100%"), (100 * 26 / 59, "44%")])
def test_percentages_are_whole_and_round_half_up(value: float, text: str) -> None:
    assert format_pct(value) == text


@pytest.mark.parametrize(("value", "text"), [(7, "+7.0"), (-2.25, "-2.3"), (0.0, "0.0"),
                                             (-0.01, "0.0"), (11.04, "+11.0")])
def test_percentage_points_carry_a_sign(value: float, text: str) -> None:
    assert format_pp(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.0004, "<0.001"), (0.001, "0.001"),
                                             (0.0125, "0.013"), (0.112, "0.112"), (1.0, "1.000")])
def test_p_values(value: float, text: str) -> None:
    assert format_p(value) == text


def test_confidence_interval_and_missing_values() -> None:
    assert format_ci(2.06, 11.34) == "[2.1, 11.3]"
    assert format_cell((2.06, 11.34), "pp") == "[2.1, 11.3]"
    assert format_cell((1.234, 2.345), "ratio") == "[1.23, 2.35]"
    for missing in (None, math.nan, math.inf):
        assert format_cell(missing, "pct") == MISSING == "–"


def test_cells_by_kind_and_markers_pass_through() -> None:
    assert format_cell(2976, "count") == "2,976"
    assert format_cell(78.0, "pct") == "78%"
    assert format_cell(78.0, "pct", pct_sign=False) == "78"
    assert format_cell(1.456, "ratio") == "1.46"
    assert format_cell("*", "count") == "*"
    assert format_cell("Requires improvement", "rating") == "Requires improvement"


def test_footnotes_add_base_sizes_and_tests_after_notes() -> None:
    table = ReportTable("t", "1", "c", (Column("a", "A"),), (), notes=("First.",),
                        base={"IOM cases": 2976}, tests=("chi2", "fisher", "custom"))
    assert table_footnotes(table) == [
        "First.", "Base (number of cases): IOM cases 2,976.",
        "Tests: chi-squared test, Fisher's exact test, custom."]


def test_winansi_keeps_what_helvetica_draws_and_spells_out_the_rest() -> None:
    assert winansi("’quotes’ – dash … † · —") == "’quotes’ – dash … † · —"
    assert winansi("χ² ≥ 5 − 1") == "chi² >= 5 - 1"
    assert winansi("Ynys Môn, Llanfairpwll ŵ") == "Ynys Môn, Llanfairpwll w"
    assert winansi("漢") == "?"


def test_software_label_is_never_doubled() -> None:
    from audit.report.format import software_label

    assert software_label("0.1.0") == "iom-audit 0.1.0"
    assert software_label("iom-audit 0.1.0") == "iom-audit 0.1.0"
