"""Numbers to strings, the same way in every published output.

Counts get thousands separators ("2,976"), percentages are whole numbers ("71%"),
percentage-point differences carry a sign ("+7.0"), p-values have three decimals
or "<0.001", confidence intervals read "[2.1, 11.3]" and missing values are an
en dash. Rounding is half-up, as readers expect from a published table (Python's
``round`` rounds halves to even, which would print 42.5% as "42%").
"""

import math
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from audit.report.model import ReportTable

MISSING = "–"  # en dash: in Helvetica's WinAnsi encoding, so it renders in the PDF

_TEST_NAMES = {
    "chi2": "chi-squared test",
    "fisher": "Fisher's exact test",
    "logit": "logistic regression",
    "logistic": "logistic regression",
    "z": "two-proportion z-test",
    "kappa": "Cohen's kappa",
    "holm": "Holm correction",
    "bh": "Benjamini-Hochberg correction",
}


def is_missing(value: Any) -> bool:
    """None, NaN and infinities count as missing."""
    if value is None:
        return True
    return isinstance(value, float) and not math.isfinite(value)


def round_half_up(value: float, decimals: int = 0) -> Decimal:
    """Round like a published table: 42.5 -> 43, 0.125 -> 0.13."""
    quantum = Decimal(1).scaleb(-decimals)
    # repr gives the shortest decimal that round-trips, so 0.125 stays 0.125
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def format_count(value: float) -> str:
    """2976 -> "2,976"; a non-integral count keeps one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{round_half_up(value, 1):,}"


def format_pct(value: float, *, decimals: int = 0, sign: bool = True) -> str:
    """71.4 -> "71%" (or "71" without the sign)."""
    text = f"{round_half_up(value, decimals):,}"
    return f"{text}%" if sign else text


def format_pp(value: float, decimals: int = 1) -> str:
    """A difference in percentage points with its sign: 7 -> "+7.0", -2.25 -> "-2.3"."""
    rounded = round_half_up(value, decimals)
    if rounded == 0:
        return f"{abs(rounded)}"
    return f"+{rounded}" if rounded > 0 else f"{rounded}"


def format_p(value: float) -> str:
    """0.0004 -> "<0.001"; 0.0123 -> "0.012"."""
    if value < 0.001:
        return "<0.001"
    return f"{round_half_up(min(value, 1.0), 3)}"


def format_ratio(value: float, decimals: int = 2) -> str:
    """An odds ratio or kappa: 1.4567 -> "1.46"."""
    return f"{round_half_up(value, decimals)}"


def format_ci(low: float, high: float, decimals: int = 1) -> str:
    """A confidence interval: "[2.1, 11.3]"."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"[{round_half_up(low, decimals)}, {round_half_up(high, decimals)}]"


def format_cell(value: Any, kind: str, *, pct_sign: bool = True) -> str:
    """Format one raw cell value for display according to its column kind.

    Strings (text, ratings, the suppression marker "*") pass through unchanged;
    a two-item sequence is a confidence interval.
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Sequence) and len(value) == 2:
        return format_ci(value[0], value[1], 2 if kind == "ratio" else 1)
    if not isinstance(value, int | float) and hasattr(value, "item"):
        value = value.item()  # numpy scalars from the statistics layer
    if not isinstance(value, int | float):
        return str(value)
    match kind:
        case "count":
            return format_count(value)
        case "pct":
            return format_pct(value, sign=pct_sign)
        case "pp":
            return format_pp(value)
        case "p":
            return format_p(value)
        case "ratio":
            return format_ratio(value)
        case _:
            return format_count(value) if float(value).is_integer() else str(value)


def software_label(version: str) -> str:
    """"iom-audit 0.1.0" from "0.1.0" (or from "iom-audit 0.1.0": never doubled)."""
    return version if version.startswith("iom-audit") else f"iom-audit {version}"


def describe_test(code: str) -> str:
    """A readable name for a test code such as "chi2" (unknown codes pass through)."""
    return _TEST_NAMES.get(code, code)


def table_footnotes(table: ReportTable) -> list[str]:
    """The notes printed under a table: its own notes, then base sizes and tests."""
    lines = list(table.notes)
    if table.base:
        sizes = "; ".join(f"{label} {format_count(n)}" for label, n in table.base.items())
        lines.append(f"Base (number of cases): {sizes}.")
    if table.tests:
        lines.append("Tests: " + ", ".join(describe_test(code) for code in table.tests) + ".")
    return lines


SHADING_LEGEND = (
    "† Shaded cells are also marked † so that they can be told apart when printed in "
    "greyscale; the notes above say what the shading shows."
)

# Characters outside Windows-1252 that reports often contain, spelled in ones inside it,
# because the PDF's built-in Helvetica cannot draw anything else.
_WINANSI_SUBSTITUTES = {
    "\u2212": "-",  # minus sign
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2260": "!=",
    "\u03c7": "chi",  # the chi of chi-squared
    "\u03b1": "alpha",
    "\u03ba": "kappa",
    "\u2192": "->",
    "\u2190": "<-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
}


def winansi(text: str) -> str:
    """Text that the PDF's standard fonts can draw: no missing-glyph boxes.

    Characters outside Windows-1252 are spelled out ("≥" -> ">="), stripped of
    accents they cannot carry ("ŵ" -> "w", as in Welsh place names), or replaced
    by "?" as a last resort.
    """
    out: list[str] = []
    for char in text:
        try:
            char.encode("cp1252")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        if char in _WINANSI_SUBSTITUTES:
            out.append(_WINANSI_SUBSTITUTES[char])
            continue
        base = unicodedata.normalize("NFKD", char)
        kept = base.encode("cp1252", "ignore").decode("cp1252")
        out.append(kept if kept else "?")
    return "".join(out)
