"""Numbers to strings, for every front end (CLI tables, TUI, reports).

Results keep floats; only these functions round.  ``None`` (not computed) prints as
``missing`` (default "-"); infinite values print as "inf".
"""

from __future__ import annotations

import math

MISSING = "-"


def _bad(value: float | None) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None


def format_number(value: float | None, decimals: int = 2) -> str:
    """A plain number with ``decimals`` places."""
    return _bad(value) or f"{value:.{decimals}f}"


def format_pct(value: float | None, decimals: int = 0) -> str:
    """A percentage already on the 0-100 scale: 71.9 -> "72%"."""
    return _bad(value) or f"{value:.{decimals}f}%"


def format_pp(value: float | None, decimals: int = 1) -> str:
    """A difference in percentage points with its sign: 9.9 -> "+9.9"."""
    return _bad(value) or f"{value:+.{decimals}f}"


def format_p(value: float | None, decimals: int = 3) -> str:
    """A p-value: "<0.001" below 0.001 (at 3 decimals), else e.g. "0.050"."""
    bad = _bad(value)
    if bad:
        return bad
    assert value is not None  # _bad() reports None
    floor = 10.0 ** -decimals
    return f"<{floor:.{decimals}f}" if value < floor else f"{value:.{decimals}f}"


def format_ci(ci: tuple[float, float] | None, decimals: int = 1, *,
              percent: bool = False) -> str:
    """An interval as "1.4 to 11.8" (with "%" on each end when ``percent``)."""
    if ci is None:
        return MISSING
    unit = "%" if percent else ""
    low, high = (format_number(v, decimals) for v in ci)
    return f"{low}{unit} to {high}{unit}"
