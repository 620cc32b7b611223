"""Figures 4.1 and 4.8 of the 2020 report: one characteristic of the thematic sample.

The annex case profile lists every characteristic; the publication also charts two of
them in chapter 4 (the lead agency and the risk of serious harm). Same counts, same
percentage rule ("of the cases where it is known"), so the two always agree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from audit.formatting import format_count
from audit.report.model import Chart, Column, ReportTable
from audit.report.tables import TableHead, pct
from audit.views.samples import Sample
from question_sets.profile import PROFILE


def characteristic_table(head: TableHead, cases: pd.DataFrame, sample: Sample, code: str,
                         chart_title: str) -> ReportTable:
    """One profile characteristic: a row per category with a count and a percentage."""
    spec = PROFILE[code]
    values = cases[code]
    known = int(values.notna().sum())
    counts = values.value_counts()
    rows: list[dict[str, Any]] = [
        {"category": label, "n": int(counts.get(value, 0)),
         "pct": pct(int(counts.get(value, 0)), known)}
        for value, label in spec.codes.items()]
    notes = [f"Percentages of the {format_count(known)} cases where the "
             f"{spec.label.lower()} is known."]
    if known < len(values):
        notes.append(f"{spec.label} not known in {format_count(len(values) - known)} case(s).")
    return ReportTable(
        id=head.id, figure=head.figure, caption=head.caption, section=head.section,
        columns=(Column("category", spec.label),
                 Column("n", "Number", "count", suppressible=True),
                 Column("pct", "Percentage", "pct", suppressible=True, count_of="n")),
        rows=tuple(rows), notes=tuple(notes), base={sample.label: known},
        chart=Chart("hbar", "category", (("pct", sample.label),), title=chart_title))
