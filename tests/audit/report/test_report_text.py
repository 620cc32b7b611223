"""Report text around the numbers: cells by column kind, footnotes, PDF-safe text."""

import math

from audit.formatting import MISSING
from audit.report.model import Column, ReportTable
from audit.report.text import format_cell, software_label, table_footnotes, winansi


def test_cells_by_kind_and_markers_pass_through() -> None:
    assert format_cell(2976, "count") == "2,976"
    assert format_cell(78.0, "pct") == "78%"
    assert format_cell(42.5, "pct") == "43%"
    assert format_cell(78.0, "pct", pct_sign=False) == "78"
    assert format_cell(1.456, "ratio") == "1.46"
    assert format_cell(True, "text") == "Yes"
    assert format_cell("*", "count") == "*"
    assert format_cell("Requires improvement", "rating") == "Requires improvement"


def test_intervals_and_missing_cells() -> None:
    assert format_cell((2.06, 11.34), "pp") == "[2.1, 11.3]"
    assert format_cell((1.234, 2.345), "ratio") == "[1.23, 2.35]"
    for missing in (None, math.nan, math.inf):
        assert format_cell(missing, "pct") == MISSING == "–"


def test_footnotes_add_base_sizes_and_tests_after_notes() -> None:
    table = ReportTable("t", "1", "c", (Column("a", "A"),), (), notes=("First.",),
                        base={"IOM cases": 2976}, tests=("chi2", "fisher", "custom"))
    assert table_footnotes(table) == [
        "First.", "Base (number of cases): IOM cases 2,976.",
        "Tests: chi-squared test, Fisher's exact test, custom."]


def test_winansi_keeps_what_helvetica_draws_and_spells_out_the_rest() -> None:
    assert winansi("’quotes’ – dash … † · —") == "’quotes’ – dash … † · —"
    assert winansi("χ² ≥ 5 − 1") == "chi² >= 5 - 1"
    assert winansi("2 asin √p1 − 2 asin √p2") == "2 asin sqrt p1 - 2 asin sqrt p2"
    assert winansi("Ynys Môn, Llanfairpwll ŵ") == "Ynys Môn, Llanfairpwll w"
    assert winansi("漢") == "?"


def test_software_label_is_never_doubled() -> None:
    assert software_label("0.1.0") == "iom-audit 0.1.0"
    assert software_label("iom-audit 0.1.0") == "iom-audit 0.1.0"
