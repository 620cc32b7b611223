"""The codebook of an export: every variable, its type, codes and labels, and its question.

Variable names are valid in Stata and SPSS (at most 32 characters, letters, digits and
underscores, starting with a letter, not a reserved word, unique ignoring case), so
the same names appear in every format; the codebook maps them back to question ids.
In `.dta` and `.sav` files coded variables are stored as numbers with value labels
(yes/no as 1/0, MAPPA 0-3, others 1..k: `audit.exports.coding`); the `numeric_codes`
column gives that encoding, `missing_codes` the code of each kind of missing answer and
`applies_when` the question set's rule under which the question is asked.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from audit.cell_safety import neutralise
from audit.exports.coding import describe_missing, measure, numeric_codes
from audit.store.models import RATERS
from question_sets import Question
from question_sets.profile import CASE_STATUS, PROFILE

MAX_NAME = 32
# Stata's reserved names and SPSS's reserved keywords (compared ignoring case).
RESERVED = frozenset({
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long",
    "_n", "_pi", "_pred", "_rc", "_skip", "strl", "using", "with", "all", "and", "by", "eq",
    "ge", "gt", "le", "lt", "ne", "not", "or", "to",
})
COLUMNS = ("variable", "label", "type", "codes", "numeric_codes", "question_text",
           "applies_when", "question_id", "measure", "missing_codes", "question_set",
           "rating")
ALWAYS = "always (no rule)"


@dataclass(frozen=True)
class Variable:
    """One column of the exported data."""

    name: str
    label: str
    type: str
    codes: Mapping[str, str] = field(default_factory=dict)
    question_text: str = ""
    applies_when: str = ""
    question_id: str = ""
    answers: bool = False  # a question's answers: missing is na, not asked or unanswered
    question_set: str = ""  # 'id version' of the set(s) the question comes from
    rating: str = ""  # wide layout: whose answers fill the column ('final: Final record...')

    @property
    def coded(self) -> bool:
        """True when the values are codes with labels (stored as numbers in .dta/.sav)."""
        return bool(self.codes) and self.type != "multi_choice"

    @property
    def numeric(self) -> dict[str, int]:
        """Code -> the number that stands for it in .dta and .sav files (`na` is missing)."""
        return numeric_codes(self.codes, self.type) if self.coded else {}

    @property
    def measure(self) -> str:
        """SPSS measure level: nominal, ordinal or scale."""
        return measure(self.type, self.name, self.coded)

    def row(self) -> dict[str, str]:
        """The codebook line of this variable."""
        return {
            "variable": self.name, "label": self.label, "type": self.type,
            "codes": "; ".join(f"{c}={label}" for c, label in self.codes.items()),
            "numeric_codes": "; ".join(f"{n}={c}" for c, n in self.numeric.items()),
            "question_text": self.question_text,
            "applies_when": self.applies_when or (ALWAYS if self.answers else ""),
            "question_id": self.question_id, "measure": self.measure,
            "missing_codes": describe_missing(self.answers, self.type == "integer"),
            "question_set": self.question_set, "rating": self.rating,
        }


def variable_name(text: str) -> str:
    """A Stata- and SPSS-valid name for a question id ('2.1.1' -> 'q2_1_1')."""
    base = text.lower()
    if base.startswith("factor."):
        base = "f_" + base[len("factor."):]  # keeps the factor questions short and readable
    base = re.sub(r"[^a-z0-9_]+", "_", base)
    base = re.sub(r"_+", "_", base).strip("_")
    if not base or not base[0].isalpha():
        base = "q" + base
    return base[:MAX_NAME]


def unique_names(ids: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """Question id -> variable name, unique (ignoring case) among themselves and `taken`."""
    used = {t.lower() for t in taken}
    out: dict[str, str] = {}
    for qid in ids:
        name = variable_name(qid)
        candidate, n = name, 1
        while candidate.lower() in used or candidate.lower() in RESERVED:
            n += 1
            suffix = f"_{n}"
            candidate = name[: MAX_NAME - len(suffix)] + suffix
        used.add(candidate.lower())
        out[qid] = candidate
    return out


def case_variables(*, pseudonymised: bool, with_dates: bool) -> list[Variable]:
    """The case columns of the wide layout: inspection, case_ref, site, status, profile."""
    ref = ("Pseudonym of the case reference (HMAC-SHA256, 16 hex digits)" if pseudonymised
           else "Case reference")
    out = [Variable("inspection", "Inspection", "text"),
           Variable("case_ref", ref, "text"),
           Variable("site", "Site (IOM scheme or area)", "text"),
           Variable("status", "Case status", "code", dict(CASE_STATUS))]
    for spec in PROFILE.values():
        if spec.kind == "date" and not with_dates:
            continue
        out.append(Variable(spec.code, spec.label, spec.kind, dict(spec.codes),
                            spec.description))
    return out


def long_variables(*, pseudonymised: bool) -> list[Variable]:
    """The columns of the long layout (one row per answer)."""
    ref = ("Pseudonym of the case reference (HMAC-SHA256, 16 hex digits)" if pseudonymised
           else "Case reference")
    out = [Variable("inspection", "Inspection", "text"),
           Variable("case_ref", ref, "text"),
           Variable("question_id", "Question id (see the question rows below)", "text"),
           Variable("rater", "Rater role", "code", dict(RATERS)),
           Variable("value", "Answer code (the question's codes below)", "text"),
           Variable("inspector", "Inspector who gave the answer", "text")]
    if not pseudonymised:
        out[5:5] = [Variable("note", "Inspector's note", "text")]
        out.append(Variable("updated_at", "When the answer was last changed (UTC, ISO 8601)",
                            "datetime"))
    return out


def question_variables(questions: Sequence[Question], names: Mapping[str, str],
                       sets: Mapping[str, str] | None = None, *,
                       rating: str = "") -> list[Variable]:
    """One variable per question, named as in the wide layout (`sets`: question id ->
    the question sets that ask it; `rating`: whose answers fill the columns)."""
    return [Variable(names[q.id], q.label or q.text, q.type, dict(q.codes), q.text,
                     q.applies_when or "", q.id, answers=True,
                     question_set=(sets or {}).get(q.id, ""), rating=rating)
            for q in questions]


def write_codebook(variables: Sequence[Variable], path: Path) -> None:
    """Write codebook.csv (UTF-8)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for v in variables:
            writer.writerow({k: neutralise(t) for k, t in v.row().items()})
