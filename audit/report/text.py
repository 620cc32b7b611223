"""Report text that is not a number rule: cells by column kind, footnotes, PDF-safe text.

How each number reads (rounding, signs, "<0.001", the en dash for missing) is decided in
``audit.formatting``; this module only picks the rule for a column and writes the words
around the numbers: footnotes, test names, the software label, the shading legend, and
text the PDF's standard fonts can draw.
"""

import unicodedata
from collections.abc import Sequence
from typing import Any

from audit.formatting import (
    MISSING,
    format_ci,
    format_count,
    format_number,
    format_pct,
    is_missing,
)
from audit.report.model import ReportTable

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


def format_cell(value: Any, kind: str, *, pct_sign: bool = True) -> str:
    """One raw cell value as text, by its column kind (numbers through ``audit.formatting``).

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
        return format_ci(value, 2 if kind == "ratio" else 1)
    if not isinstance(value, int | float) and hasattr(value, "item"):
        value = value.item()  # numpy scalars from the statistics layer
    if not isinstance(value, int | float):
        return str(value)
    if kind in ("pct", "pct1") and not pct_sign:
        return format_pct(value, decimals=int(kind == "pct1"), percent_sign=False)
    return format_number(value, kind)


def software_label(version: str) -> str:
    """"iom-audit 0.1.0" from "0.1.0" (or from "iom-audit 0.1.0": never doubled)."""
    return version if version.startswith("iom-audit") else f"iom-audit {version}"


def describe_test(code: str) -> str:
    """A readable name for a test code such as "chi2" (unknown codes pass through)."""
    return _TEST_NAMES.get(code, code)


# Group codes that reach a table's base (the IOM comparison's levels), in words.
GROUP_LABELS = {"iom": "IOM", "non_iom": "non-IOM", "thematic": "Thematic IOM sample",
                "core_iom": "Core programme IOM cases"}

_TEST_WORDS = {
    "chi2": "Pearson's chi-square test without continuity correction",
    "fisher": "Fisher's exact test",
}


def group_label(code: str) -> str:
    """A base's group in words ("non_iom" -> "non-IOM"); labels pass through."""
    return GROUP_LABELS.get(code, code)


def _count_words(n: int, noun: str) -> str:
    return f"{format_count(n)} {noun}{'' if n == 1 else 's'}"


def tests_note(table: ReportTable) -> str | None:
    """Which tests this table used, and on how many of its rows.

    Read from the rows' own ``test`` values where they have them, so the note never
    names a test that no row used (nor leaves out one that a row did).
    """
    used = [str(row["test"]) for row in table.rows if row.get("test")]
    if not used:
        if not table.tests:
            return None
        return "Tests: " + ", ".join(describe_test(code) for code in table.tests) + "."
    tally: dict[str, int] = {}
    for code in used:
        tally[code] = tally.get(code, 0) + 1
    if len(tally) == 1:
        (code,) = tally
        text = (f"Test used: {_TEST_WORDS.get(code, describe_test(code))} for all "
                f"{_count_words(len(used), 'question')}")
        if code == "chi2":
            text += " (every expected count was at least 5, so Fisher's exact test was not needed)"
        return text + "."
    parts = [f"{_TEST_WORDS.get(code, describe_test(code))} for "
             f"{_count_words(n, 'question')}" for code, n in tally.items()]
    return "Tests used: " + "; ".join(parts) + "."


def table_footnotes(table: ReportTable) -> list[str]:
    """The notes printed under a table: its own notes, then base sizes and tests."""
    lines = list(table.notes)
    if table.base:
        sizes = "; ".join(f"{group_label(label)} {format_count(n)}"
                          for label, n in table.base.items())
        lines.append(f"Base (number of cases): {sizes}.")
    tests = tests_note(table)
    if tests:
        lines.append(tests)
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
    "\u221a": "sqrt ",  # Cohen's h, in the effect sizes' note
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
