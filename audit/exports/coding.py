"""How exported values are coded: the three kinds of missing answer, numeric codes, measures.

An answer can be missing for three different reasons, and a researcher must be able to
tell them apart (a naive mean or crosstab over a blank is wrong):

* `na` - *not applicable* by the inspector's judgement (a `yes_no_na` answer);
* `notasked` - the question set's `applies_when` rule did not apply to the case (or the
  inspection's question set does not have the question);
* `noanswer` - the question applied, but nobody answered it.

Each kind has one code per format: the text code in CSV, XLSX, Parquet and in string
variables of every format; Stata's extended missing values `.a`, `.b`, `.c`; SPSS
user-missing values -1, -2, -3 (declared missing, so SPSS leaves them out of every
statistic). Numeric Parquet columns (integer questions) use the SPSS numbers.

Codes mean what they say: yes/no are 1/0, a scale that starts at "none" starts at 0
(MAPPA: 0 = not MAPPA, 1-3 = the level), any other coded variable is numbered 1..k in
the order of its codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MEASURES = ("nominal", "ordinal", "scale")


@dataclass(frozen=True)
class MissingKind:
    """One reason an answer is missing, and its code in every format."""

    code: str  # CSV, XLSX, Parquet, string variables (at most 8 characters: SPSS)
    stata: str  # extended missing letter: .a, .b, .c
    spss: int  # declared user-missing value
    label: str


NA = MissingKind("na", "a", -1, "Not applicable (inspector's judgement)")
NOT_ASKED = MissingKind("notasked", "b", -2, "Not asked (the question's rule did not apply)")
UNANSWERED = MissingKind("noanswer", "c", -3, "Unanswered (the question applied; no answer)")
MISSING_KINDS: tuple[MissingKind, ...] = (NA, NOT_ASKED, UNANSWERED)
BY_CODE: Mapping[str, MissingKind] = {k.code: k for k in MISSING_KINDS}

# Profile fields whose codes are ordered (SPSS measure "ordinal"); the rest are nominal.
ORDINAL_FIELDS = frozenset({"rosh", "likelihood", "mappa_level", "prev_convictions",
                            "age_band", "status"})
YES_NO_TYPES = frozenset({"yes_no", "yes_no_na", "bool"})
# A first code meaning "none" makes a scale that starts at 0 (MAPPA, previous convictions).
ZERO_CODES = frozenset({"none", "0"})


def numeric_codes(codes: Mapping[str, str], kind: str) -> dict[str, int]:
    """Code -> the number that stands for it in .dta and .sav files (`na` is missing)."""
    if kind in YES_NO_TYPES:
        return {"yes": 1, "no": 0}
    values = [c for c in codes if c != NA.code]
    start = 0 if values and values[0] in ZERO_CODES else 1
    return {code: i for i, code in enumerate(values, start=start)}


def measure(kind: str, name: str, coded: bool) -> str:
    """The SPSS measure level of a variable."""
    if kind in ("integer", "date", "datetime"):
        return "scale"
    if coded and name in ORDINAL_FIELDS:
        return "ordinal"
    return "nominal"


def short_label(text: str, limit: int = 80) -> str:
    """A label within `limit` characters, cut at a word with '...' (the codebook keeps the
    full text): Stata truncates variable labels at 80 characters, mid-word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "..."


def describe_missing(answers: bool, numeric: bool) -> str:
    """The codebook's `missing_codes` cell: every code a missing value takes."""
    if not answers:
        return "blank (Stata ., SPSS system-missing) = not recorded"
    text = ("{k.code} (Stata .{k.stata}, SPSS {k.spss}) = {k.label}" if not numeric else
            "{k.spss} in CSV/Parquet (Stata .{k.stata}, SPSS {k.spss}) = {k.label}")
    return "; ".join(text.format(k=k) for k in MISSING_KINDS)
