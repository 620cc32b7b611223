"""Formatting: the only place numbers become strings."""

from __future__ import annotations

import math

from stats.formatting import format_ci, format_number, format_p, format_pct, format_pp


def test_format_p() -> None:
    assert format_p(0.0004) == "<0.001"
    assert format_p(0.001) == "0.001"
    assert format_p(0.04977) == "0.050"
    assert format_p(0.5) == "0.500"
    assert format_p(None) == "-"
    assert format_p(float("nan")) == "-"


def test_format_pct_and_pp() -> None:
    assert format_pct(71.91) == "72%"
    assert format_pct(71.91, 1) == "71.9%"
    assert format_pct(None) == "-"
    assert format_pp(9.88) == "+9.9"
    assert format_pp(-5.0) == "-5.0"


def test_format_ci_and_infinity() -> None:
    assert format_ci((1.41, 11.82)) == "1.4 to 11.8"
    assert format_ci((1.41, 11.82), 0, percent=True) == "1% to 12%"
    assert format_ci(None) == "-"
    assert format_ci((0.5, math.inf), 2) == "0.50 to inf"
    assert format_number(math.inf) == "inf"
