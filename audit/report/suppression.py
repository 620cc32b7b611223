"""Small-number suppression: counts small enough to identify people never get published.

Published outputs only (PDF, XLSX, Markdown); the JSON tables keep raw counts for
analysts. Spreadsheet-cell safety is `audit.cell_safety`'s.
"""

from dataclasses import replace
from typing import Any

from audit.report.model import Report, ReportTable

SUPPRESSED = "*"


def suppression_note(threshold: int) -> str:
    """The footnote added to a table in which cells were suppressed."""
    return f"* fewer than {threshold} cases: figures suppressed to protect individuals"


def _is_small(value: Any, threshold: int) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 < value < threshold


def suppress(table: ReportTable, threshold: int | None) -> ReportTable:
    """A copy of ``table`` with small counts (0 < n < threshold) shown as "*".

    Counts in ``suppressible`` columns are suppressed, and so is every percentage
    whose ``count_of`` names a suppressed count (a percentage of a small number
    reveals it). Zero is kept: it identifies nobody. A threshold of None or below
    2 disables suppression. The note is added once, and only if a cell changed.
    """
    if threshold is None or threshold < 2:
        return table
    # Only counts are judged by size: a percentage of 3 says nothing about who is counted.
    counted = [c for c in table.columns
               if c.suppressible and not c.count_of and c.kind in ("count", "text")]
    dependants = [c for c in table.columns if c.count_of]
    changed = False
    rows: list[dict[str, Any]] = []
    for row in table.rows:
        new = dict(row)
        for column in counted:
            if _is_small(row.get(column.id), threshold):
                new[column.id] = SUPPRESSED
        for column in dependants:
            count_id = column.count_of or ""
            if new.get(count_id) == SUPPRESSED and row.get(column.id) is not None:
                new[column.id] = SUPPRESSED
        changed = changed or new != row
        rows.append(new)
    if not changed:
        return table
    note = suppression_note(threshold)
    notes = table.notes if note in table.notes else (*table.notes, note)
    return replace(table, rows=tuple(rows), notes=notes)


def suppress_report(report: Report, threshold: int | None) -> Report:
    """The report with ``suppress`` applied to every table."""
    return replace(report, tables=tuple(suppress(t, threshold) for t in report.tables))
