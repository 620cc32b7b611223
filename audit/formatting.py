"""How numbers are printed: the one rule for the CLI, the app and every report.

Statistics stay floats until a face shows them; these functions are the only place they
become text, so `iom-audit compare`, the comparison screen, the PDF, the Markdown and
the workbook cannot disagree.

- Rounding is half up, as a publication rounds: 42.5% prints "43%" and 0.125 at two
  decimals "0.13". Python's ``round`` and format specs round the binary value half to
  even (42.5 -> "42"), so we round the shortest decimal that names the float
  (``repr``) with ``ROUND_HALF_UP``. Halves of negative numbers go away from zero
  (-0.05 points -> "-0.1"), as they do in Excel.
- A value that rounds to zero prints without a sign ("0.0", never "-0.0").
- Missing (None, NaN, or infinite: JSON has none of them) prints as the en dash "–".
- Counts get thousands separators ("2,976"); percentages are whole ("71%");
  percentage-point differences keep their sign ("+7.0", "-2.3"); p-values have three
  decimals or read "<0.001"; ratios (odds ratios, kappa) have two decimals; confidence
  intervals read "[2.1, 11.3]".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

MISSING: Final = "–"  # en dash: in Helvetica's WinAnsi encoding, so the PDF draws it too

P_FLOOR: Final = 0.001  # p-values below this print as "<0.001"

# The same rules as Excel number formats, for workbooks that keep the raw numbers. Excel
# rounds what it displays half away from zero, as ROUND_HALF_UP does; percentages are
# stored as fractions (0.425 displays "43%").
EXCEL_FORMATS: Final[dict[str, str]] = {
    "count": "#,##0",
    "pct": "0%",
    "pct1": "0.0%",
    "pp": "+0.0;-0.0;0.0",
    "p": '[<0.001]"<0.001";0.000',
    "ratio": "0.00",
}


def is_missing(value: object) -> bool:
    """Whether a value prints as the missing mark: None, NaN or an infinity."""
    if value is None:
        return True
    if isinstance(value, str | bool):
        return False
    try:
        return not math.isfinite(value)  # type: ignore[arg-type]
    except TypeError:  # not a number (a tuple, a marker): the caller decides
        return False


def round_half_up(value: float, decimals: int = 0) -> Decimal:
    """``value`` rounded half up to ``decimals`` places: 42.5 -> 43, 0.125 -> 0.13."""
    quantum = Decimal(1).scaleb(-decimals)
    # repr is the shortest decimal that round-trips, so 0.125 stays 0.125 and 42.5 stays
    # 42.5, where Decimal(0.125) would give the binary value's long expansion.
    rounded = Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded


def _fixed(value: float, decimals: int) -> str:
    return f"{round_half_up(value, decimals):,}"


def format_count(value: float | None) -> str:
    """A count with thousands separators: 2976 -> "2,976" (a fraction keeps one decimal)."""
    if value is None or is_missing(value):
        return MISSING
    if float(value).is_integer():
        return f"{int(value):,}"
    return _fixed(value, 1)


def format_pct(value: float | None, *, decimals: int = 0, percent_sign: bool = True) -> str:
    """A percentage on the 0-100 scale: 42.5 -> "43%" (or "43" without the sign)."""
    if value is None or is_missing(value):
        return MISSING
    text = _fixed(value, decimals)
    return f"{text}%" if percent_sign else text


def format_pp(value: float | None, decimals: int = 1) -> str:
    """A difference in percentage points with its sign: 7 -> "+7.0", -2.25 -> "-2.3", 0 -> "0.0"."""
    if value is None or is_missing(value):
        return MISSING
    rounded = round_half_up(value, decimals)
    return f"+{rounded:,}" if rounded > 0 else f"{rounded:,}"


def format_p(value: float | None) -> str:
    """A p-value: "<0.001" below 0.001, else three decimals: 0.0015 -> "0.002"."""
    if value is None or is_missing(value):
        return MISSING
    if value < P_FLOOR:
        return "<0.001"
    return _fixed(min(value, 1.0), 3)


def format_ratio(value: float | None, decimals: int = 2) -> str:
    """An odds ratio or a kappa: 1.4567 -> "1.46"."""
    if value is None or is_missing(value):
        return MISSING
    return _fixed(value, decimals)


def format_ci(interval: Sequence[float | None] | None, decimals: int = 1) -> str:
    """A confidence interval (low, high) as "[2.1, 11.3]"; missing if either end is."""
    if interval is None or len(interval) != 2 or any(is_missing(v) for v in interval):
        return MISSING
    low, high = interval
    assert low is not None and high is not None  # is_missing() said so
    return f"[{_fixed(low, decimals)}, {_fixed(high, decimals)}]"


def format_number(value: float | None, kind: str) -> str:
    """A number by what it measures: "count", "pct", "pct1" (one decimal), "pp", "p" or "ratio".

    Any other kind is shown as stored: a whole number as a count, else unchanged.
    """
    if value is None or is_missing(value):
        return MISSING
    match kind:
        case "count":
            return format_count(value)
        case "pct":
            return format_pct(value)
        case "pct1":
            return format_pct(value, decimals=1)
        case "pp":
            return format_pp(value)
        case "p":
            return format_p(value)
        case "ratio":
            return format_ratio(value)
        case _:
            return format_count(value) if float(value).is_integer() else str(value)
