"""audit.formatting: how every face prints a number (half up, en dash for missing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audit.formatting import (
    EXCEL_FORMATS,
    MISSING,
    format_ci,
    format_count,
    format_number,
    format_p,
    format_pct,
    format_pp,
    format_ratio,
    is_missing,
    round_half_up,
)

MISSING_VALUES = (None, math.nan, math.inf, -math.inf)


def test_the_missing_mark_is_an_en_dash() -> None:
    assert MISSING == "\u2013"


@pytest.mark.parametrize("missing", MISSING_VALUES)
def test_every_function_prints_missing_as_the_en_dash(missing: float | None) -> None:
    for show in (format_count, format_pct, format_pp, format_p, format_ratio):
        assert show(missing) == "–"
    assert format_ci(None) == format_ci((missing, 1.0)) == format_ci((1.0, missing)) == "–"
    assert format_number(missing, "pct") == "–"
    assert is_missing(missing)


def test_what_is_not_missing() -> None:
    assert not any(is_missing(v) for v in (0, 0.0, -1.5, "", "*", False, (1.0, 2.0)))


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (42.5, 0, "43"), (43.5, 0, "44"), (0.125, 2, "0.13"), (2.675, 2, "2.68"),
    (1.25, 1, "1.3"), (-1.25, 1, "-1.3"), (-0.04, 1, "0.0"), (0.0, 2, "0.00")])
def test_rounding_is_half_up_on_the_printed_decimal(value: float, decimals: int,
                                                    text: str) -> None:
    # Python's format rounds the binary value half to even: these differ from it.
    assert str(round_half_up(value, decimals)) == text


def test_python_format_would_round_these_differently() -> None:
    # Why the module exists: the old faces used format specs and printed these.
    assert f"{42.5:.0f}" == "42" and f"{0.125:.2f}" == "0.12" and f"{1.25:+.1f}" == "+1.2"


@pytest.mark.parametrize(("value", "text"), [
    (2976, "2,976"), (0, "0"), (1234567, "1,234,567"), (12.0, "12"), (2.25, "2.3"),
    (np.int64(91650), "91,650")])
def test_counts_have_thousands_separators(value: float, text: str) -> None:
    assert format_count(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (42.5, "43%"), (71.4, "71%"), (0.4, "0%"), (0.5, "1%"), (100.0, "100%"),
    (100 * 17 / 40, "43%"), (100 * 26 / 59, "44%"), (np.float64(42.5), "43%")])
def test_percentages_are_whole_and_round_half_up(value: float, text: str) -> None:
    assert format_pct(value) == text


def test_percentages_with_decimals_or_without_the_sign() -> None:
    assert format_pct(71.95, decimals=1) == "72.0%"
    assert format_pct(42.5, percent_sign=False) == "43"


@pytest.mark.parametrize(("value", "text"), [
    (7, "+7.0"), (9.88, "+9.9"), (1.25, "+1.3"), (-2.25, "-2.3"), (-0.05, "-0.1"),
    (0.05, "+0.1"), (0.0, "0.0"), (-0.04, "0.0"), (0.04, "0.0"), (11.04, "+11.0")])
def test_percentage_points_keep_their_sign_and_zero_has_none(value: float, text: str) -> None:
    assert format_pp(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0.0, "<0.001"), (0.0004, "<0.001"), (0.0005, "<0.001"), (0.000999, "<0.001"),
    (0.001, "0.001"), (0.0015, "0.002"), (0.0125, "0.013"), (0.04977, "0.050"),
    (0.112, "0.112"), (0.5, "0.500"), (1.0, "1.000")])
def test_p_values(value: float, text: str) -> None:
    assert format_p(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (1.4567, "1.46"), (0.125, "0.13"), (-0.125, "-0.13"), (-0.001, "0.00"), (2.0, "2.00")])
def test_ratios_have_two_decimals(value: float, text: str) -> None:
    assert format_ratio(value) == text


def test_confidence_intervals_read_in_brackets() -> None:
    assert format_ci((2.06, 11.34)) == "[2.1, 11.3]"
    assert format_ci((2.05, 11.35)) == "[2.1, 11.4]"
    assert format_ci((-0.04, 3.0)) == "[0.0, 3.0]"
    assert format_ci((1.234, 2.345), 2) == "[1.23, 2.35]"
    assert format_ci([0.5, 1.5]) == "[0.5, 1.5]"


def test_numbers_by_kind() -> None:
    assert format_number(2976, "count") == "2,976"
    assert format_number(42.5, "pct") == "43%"
    assert format_number(42.25, "pct1") == "42.3%"  # ratings judged to one decimal
    assert format_number(1.25, "pp") == "+1.3"
    assert format_number(0.0015, "p") == "0.002"
    assert format_number(0.125, "ratio") == "0.13"
    assert format_number(3, "text") == "3" and format_number(2.5, "rating") == "2.5"


def test_workbook_formats_cover_every_numeric_kind() -> None:
    assert set(EXCEL_FORMATS) == {"count", "pct", "pct1", "pp", "p", "ratio"}
    assert EXCEL_FORMATS["pct"] == "0%"  # whole percentages, as format_pct
    assert EXCEL_FORMATS["pct1"] == "0.0%"
