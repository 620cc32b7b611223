"""Spreadsheet-cell safety: text a spreadsheet would run as a formula, and the way back.

Excel and LibreOffice treat a cell that starts with `=`, `+`, `-`, `@` (or a tab or line
break before one) as a formula or a DDE call (OWASP "CSV injection"). Every file a
person opens in a spreadsheet - exports, codebooks, report workbooks - goes through
`neutralise`, which puts a `'` in front of such text. The importer calls `unneutralise`,
which removes exactly one, so an export imports back unchanged: text that already
starts with `'` before a trigger gets one more on the way out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only for neutralise_frame; the report's renderers load lazily
    import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""First characters that make a spreadsheet read a cell as a formula."""


def neutralise(text: str) -> str:
    """`text` with a `'` in front when a spreadsheet would run it (reversible)."""
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_TRIGGERS):
        return "'" + text  # one more, so that unneutralise gives the original back
    return text


def unneutralise(text: str) -> str:
    """Undo `neutralise`: drop the one `'` it put before a formula trigger."""
    if text.startswith("'") and text[1:].lstrip("'").startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a DataFrame whose text cells and column names are neutralised.

    Numbers are left alone, so a negative count stays a number. pandas 3 stores text as
    the `str` dtype, older versions as `object`: both are covered, cell by cell.
    """
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        # Only text columns can hold a formula; mapping them alone keeps a national
        # export's numeric columns untouched (and fast).
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out
