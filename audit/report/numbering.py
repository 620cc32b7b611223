"""Figure numbers: the 2020 report's own, or a plain sequence, and never a gap.

Each registry entry carries the number its table has in the 2020 joint thematic
inspection report (or, for tables that report does not have, the next free number of
its chapter). The note on the contents page says which numbers are the 2020 report's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal

from audit.errors import UsageError
from audit.report.model import ReportTable

Scheme = Literal["2020", "sequential"]
SCHEMES: tuple[str, ...] = ("2020", "sequential")


def chapter_of(figure: str) -> str:
    """"4" from "4.10"; "A" from "A3"."""
    head, sep, _ = figure.partition(".")
    return head if sep else figure.rstrip("0123456789")


def _position(figure: str) -> int:
    tail = figure.partition(".")[2] if "." in figure else figure[len(chapter_of(figure)):]
    return int(tail)


def sequential(tables: Sequence[ReportTable]) -> list[str]:
    """1, 2, 3 ... within each chapter, in the order of the report."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for table in tables:
        chapter = chapter_of(table.figure)
        seen[chapter] = seen.get(chapter, 0) + 1
        out.append(f"{chapter}.{seen[chapter]}" if chapter.isdigit()
                   else f"{chapter}{seen[chapter]}")
    return out


def gaps(figures: Sequence[str]) -> list[str]:
    """The numbers missing before the last of each chapter (["4.1", "4.8"])."""
    by_chapter: dict[str, list[int]] = {}
    for figure in figures:
        by_chapter.setdefault(chapter_of(figure), []).append(_position(figure))
    missing: list[str] = []
    for chapter, positions in by_chapter.items():
        for k in range(1, max(positions) + 1):
            if k not in positions:
                missing.append(f"{chapter}.{k}" if chapter.isdigit() else f"{chapter}{k}")
    return missing


def number_figures(tables: Sequence[ReportTable], scheme: str,
                   published: Mapping[str, str]) -> tuple[tuple[ReportTable, ...], str]:
    """The tables numbered by `scheme`, and the note saying how they are numbered.

    `published` maps the id of each table the 2020 report has to its number there.
    "2020": those tables keep that number, so "Figure 4.3" means the same table in both
    reports; the tables that report lacks follow its last number in their chapter. A full
    report has no gap; a report lacking one of the 2020 figures (not asked for, or no data
    for it) says which in the note, since a mirrored number cannot move. "sequential":
    1, 2, 3 ... within each chapter, never a gap.
    """
    if scheme not in SCHEMES:
        raise UsageError(f"--figure-numbers must be one of {', '.join(SCHEMES)}, not {scheme!r}")
    if scheme == "sequential":
        renumbered = tuple(dataclasses.replace(t, figure=n)
                           for t, n in zip(tables, sequential(tables), strict=True))
        return renumbered, ("Figures are numbered in sequence within each chapter (A: annex "
                            "tables); the numbers do not match those of the 2020 joint "
                            "thematic inspection report.")
    # A table of our own never takes a number the 2020 report used for another table,
    # even one missing here: it follows the last 2020 number of its chapter.
    last: dict[str, int] = {}
    for figure in published.values():
        last[chapter_of(figure)] = max(last.get(chapter_of(figure), 0), _position(figure))
    out: list[ReportTable] = []
    for table in tables:
        if table.id in published:
            out.append(dataclasses.replace(table, figure=published[table.id]))
            continue
        chapter = chapter_of(table.figure)
        last[chapter] = last.get(chapter, 0) + 1
        number = (f"{chapter}.{last[chapter]}" if chapter.isdigit()
                  else f"{chapter}{last[chapter]}")
        out.append(dataclasses.replace(table, figure=number))
    same = [t.figure for t in out if t.id in published]
    own = [t.figure for t in out if t.id not in published]
    absent = [figure for table_id, figure in published.items()
              if table_id not in {t.id for t in out}]
    note = "Figure numbers follow the 2020 joint thematic inspection report."
    if same:
        note = ("Figure numbers follow the 2020 joint thematic inspection report "
                "(Integrated Offender Management): " + _words(same)
                + (" show the same tables as the figures of those numbers there."
                   if len(same) > 1 else " shows the same table as in that report."))
    if own:
        note += " " + _words(own) + (" have no counterpart in that report." if len(own) > 1
                                     else " has no counterpart in that report.")
    if absent:
        note += (" " + _words(absent) + " of that report " + ("are" if len(absent) > 1
                                                                else "is")
                 + " not in this one (not asked for, or no data for it), so the numbers "
                 "skip " + ("them" if len(absent) > 1 else "it")
                 + "; --figure-numbers sequential numbers without gaps.")
    return tuple(out), note


def _words(figures: Sequence[str], *, figure_word: bool = True) -> str:
    """"Figures 4.1, 4.2 and 5.2" (or without the word)."""
    items = list(figures)
    if not items:
        return ""
    text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    if not figure_word:
        return text
    return ("Figure " if len(items) == 1 else "Figures ") + text
