"""The published figures of the 2020 joint thematic inspection of IOM (seed 002).

Figures 4.3, 4.6, 4.7, 5.1 and 5.2 ship with the package as CSV (`published/`, the same
files as the project's shared reference folder; a test keeps them identical). This
module is their one reader: the demo generator follows them, and the tests rebuild
case-level data from them and check that the tool prints the published numbers. The
few figures given only in the report's text (sample sizes, the fieldwork sites of
Annex 2) are typed here, with where they come from.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).with_name("published")
FILES = ("fig4_3_factors_linked.csv", "fig4_6_factors_delivered.csv",
         "fig4_7_index_offence.csv", "fig5_1_outcomes.csv", "fig5_2_core_iom_vs_non_iom.csv")

# Annex 2: the 60 IOM cases of the fieldwork sample, of which 59 were statutory and
# assessed (the Figure 4.3 denominators), at seven sites (NPS division, CRC, police force).
THEMATIC_CASES = 60
THEMATIC_ASSESSED = 59
THEMATIC_SITES: tuple[tuple[str, str, str, str], ...] = (
    ("Waltham Forest", "London", "London", "Metropolitan"),
    ("Sheffield", "North East", "South Yorkshire", "South Yorkshire"),
    ("Stockport", "North West", "Cheshire & Greater Manchester", "Greater Manchester"),
    ("Colwyn Bay", "Wales", "Wales", "North Wales"),
    ("Cumbria", "North West", "Cumbria and Lancashire", "Cumbria"),
    ("Surrey", "South East", "Kent, Surrey & Sussex", "Surrey"),
    ("Warwickshire", "Midlands", "Warwickshire and West Mercia", "Warwickshire"),
)
# Figure 5.2 and section 5.3: 3,247 core-programme cases with IOM status, 268 of them IOM.
CORE_IOM, CORE_NON_IOM = 268, 2_979

# Counts the chapter 4 text states exactly, by answer code in the order the demo allocates
# them (of the 59 assessed cases unless noted).
STATED: dict[str, dict[str, int]] = {
    "2.1.2": {"yes": 50, "no": 9},  # "50 of 59"
    "iom.reasons_known": {"yes": 43, "no": 16},  # "43 of 59"
    "iom.plan_requirements": {"yes": 21, "no": 38},  # "21 of 59"
    "iom.complied": {"yes": 29, "no": 31},  # "29 of 60"
    "iom.recalled": {"yes": 23, "no": 19},  # "23 recalled", of the 42 post-release cases
    "iom.su_involved_review": {"yes": 16, "no": 43},  # "16 of 59"
    "iom.review_adjusted": {"na": 4, "yes": 33, "no": 22},  # "33 of 55" where it applied
    "iom.deselected": {"yes": 7, "no": 53},  # "seven" of 60 de-selected
    "iom.exit_strategy": {"yes": 1, "no": 6},  # "an exit strategy in one" of them
}

# Figure 4.7's offence labels and Figure 5.1's answers as the codes of question_sets.
OFFENCE_CODES = {
    "Violence against the person": "violence",
    "Breach of restraining order or breach of non-molestation order": "breach_order",
    "Sexual offence": "sexual", "Burglary": "burglary", "Robbery": "robbery",
    "Theft and handling stolen goods": "theft", "Drug offences": "drugs",
    "Motoring offences": "motoring", "Other offences not listed above": "other",
}
OUTCOME_CODES = {"yes": "yes", "no": "no", "reduced": "reduced", "stayed_the_same": "same",
                 "increased": "increased"}


def rows(name: str) -> list[dict[str, str]]:
    """The rows of one published figure, as text (FileNotFoundError for an unknown name)."""
    if name not in FILES:
        raise FileNotFoundError(f"no published figure {name!r} (there are: {', '.join(FILES)})")
    return list(_read(name))


@cache
def _read(name: str) -> tuple[dict[str, str], ...]:
    with open(FOLDER / name, newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


@dataclass(frozen=True)
class ComparisonFigure:
    """One question of Figure 5.2: the percentages and ns of non-IOM and IOM cases."""

    question_id: str
    standard: str
    question: str
    non_iom_pct: int
    non_iom_n: int
    iom_pct: int
    iom_n: int
    significant: bool | None  # as the report marks it; None where it does not say


def figure_5_2() -> dict[str, ComparisonFigure]:
    """Figure 5.2 by question id, in the published order."""
    return {r["question_id"]: ComparisonFigure(
        r["question_id"], r["standard"], r["question"], int(r["non_iom_pct"]),
        int(r["non_iom_n"]), int(r["iom_pct"]), int(r["iom_n"]),
        {"yes": True, "no": False}.get(r["published_significant"]))
        for r in rows("fig5_2_core_iom_vs_non_iom.csv")}


def factors() -> dict[str, str]:
    """The offending-related factors of Figure 4.3: code -> label, in published order."""
    return {r["factor"]: r["label"] for r in rows("fig4_3_factors_linked.csv")}


def linked(sample: str) -> dict[str, int]:
    """Figure 4.3: cases where each factor was linked to offending (`thematic` or
    `core_iom`)."""
    return {r["factor"]: int(r[f"{sample}_n"]) for r in rows("fig4_3_factors_linked.csv")}


def delivered(sample: str) -> dict[str, tuple[int, int]]:
    """Figure 4.6: (yes, no) for sufficient services delivered, where the factor was
    linked (`thematic` or `core_iom`)."""
    return {r["factor"]: (int(r[f"{sample}_yes"]), int(r[f"{sample}_no"]))
            for r in rows("fig4_6_factors_delivered.csv")}


def index_offences() -> dict[str, int]:
    """Figure 4.7: index offences of the thematic sample, profile code -> cases."""
    return {OFFENCE_CODES[r["offence"]]: int(r["number"])
            for r in rows("fig4_7_index_offence.csv")}


def outcomes() -> dict[str, dict[str, int]]:
    """Figure 5.1: question (reoffended, frequency, seriousness) -> answer code -> cases."""
    out: dict[str, dict[str, int]] = {}
    for r in rows("fig5_1_outcomes.csv"):
        out.setdefault(r["question"], {})[OUTCOME_CODES[r["answer"]]] = int(r["number"])
    return out


def comparison_counts() -> Mapping[str, tuple[int, int, int, int]]:
    """Figure 5.2 as (non-IOM %, non-IOM n, IOM %, IOM n) per question id."""
    return {q: (f.non_iom_pct, f.non_iom_n, f.iom_pct, f.iom_n)
            for q, f in figure_5_2().items()}
