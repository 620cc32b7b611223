"""Small-number suppression that holds: primary, complementary, rounding, and an audit.

Published outputs only (PDF, XLSX, Markdown, and ``tables --json --suppress-below``);
the raw JSON tables keep raw counts for analysts. Spreadsheet-cell safety is
`audit.cell_safety`'s.

1. Primary: every count from 1 to T - 1 (printed, never printed, or quoted in a note)
   is sensitive; a printed one becomes *, and so does every percentage of a sensitive
   count or of a sensitive base. A note says "fewer than T" instead of the count.
2. Secondary: `audit.report.complementary` hides the fewest further cells so that no
   sensitive count can be worked back from the totals, bases and percentages left.
3. Followers: a rating, difference or p-value computed from a hidden cell is hidden too.
4. Rounding (ONS 10-5): the other printed counts are rounded to 5, percentages are
   recomputed from the rounded counts.
5. Audit: `audit.report.disclosure_audit` attacks the result by linear programming.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from audit.formatting import format_count
from audit.report.complementary import complementary
from audit.report.disclosure_audit import (
    NOTE,
    PRIMARY,
    SECONDARY,
    TableAudit,
    audit_table,
    is_printed,
)
from audit.report.disclosure_rule import DisclosureRule, rule_named
from audit.report.model import CellRef, Report, ReportMeta, ReportTable

SUPPRESSED = "*"

__all__ = ["SUPPRESSED", "DisclosureSummary", "Protected", "methods_statement", "protect",
           "rule_of", "suppress", "suppress_report", "suppression_note"]


def suppression_note(threshold: int) -> str:
    """The footnote added to a table in which cells were suppressed."""
    return f"* fewer than {threshold} cases: figures suppressed to protect individuals"


def rounding_note(step: int) -> str:
    """The footnote added to a table whose counts were rounded."""
    return (f"Counts are rounded to the nearest {step}; percentages are of the rounded "
            "counts.")


@dataclass(frozen=True)
class Protected:
    """One table as published, which cells were withheld, and the auditor's verdict."""

    table: ReportTable
    marks: dict[CellRef, str]  # cell (or note count) -> primary, secondary or note
    audit: TableAudit

    @property
    def primary(self) -> int:
        """Printed cells withheld for being small (or computed from a small count)."""
        return sum(1 for c, m in self.marks.items() if m == PRIMARY
                   and is_printed(self.table, c))

    @property
    def secondary(self) -> int:
        """Printed cells withheld only to protect others."""
        return sum(1 for c, m in self.marks.items() if m == SECONDARY
                   and is_printed(self.table, c))

    @property
    def notes(self) -> int:
        """Counts in notes given as "fewer than T"."""
        return sum(1 for m in self.marks.values() if m == NOTE)


@dataclass(frozen=True)
class DisclosureSummary:
    """What disclosure control did to a whole report."""

    rule: DisclosureRule
    tables: int
    audited: int
    primary: int
    secondary: int
    notes: int
    derivable: tuple[str, ...]  # "table: cell" for every count the auditor could narrow


def rule_of(threshold: int | DisclosureRule | None, disclosure: str = "threshold"
            ) -> DisclosureRule:
    """The rule to apply: given, or named with a threshold (None or < 2: no suppression)."""
    if isinstance(threshold, DisclosureRule):
        return threshold
    return rule_named(disclosure, threshold or 0)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _primary(table: ReportTable, rule: DisclosureRule) -> dict[CellRef, str]:
    """The cells withheld for their own sake (small counts and what is computed from them)."""
    marks: dict[CellRef, str] = {}
    # Columns without a declared structure: small counts of suppressible columns.
    for index, row in enumerate(table.rows):
        for column in table.columns:
            if (column.suppressible and not column.count_of
                    and column.kind in ("count", "text") and rule.is_small(row.get(column.id))):
                marks[CellRef(index, column.id)] = PRIMARY
    structure = table.structure
    notes = {nc.cell: nc for nc in structure.note_counts if not is_printed(table, nc.cell)}
    totals = {s.total for s in structure.sums}
    for cell in structure.count_cells():
        if rule.is_small(table.value(cell)):
            if cell in notes:
                # "Fewer than T" of a base would say every part of it is small too: a
                # base is left out of its note instead, when the note has such a wording.
                marks[cell] = PRIMARY if cell in totals and notes[cell].withheld else NOTE
            elif is_printed(table, cell):
                marks[cell] = PRIMARY
    for sh in structure.shares:
        base = table.value(sh.base) if isinstance(sh.base, CellRef) else sh.base
        # A percentage gives its count back only with its base: of an unprinted base
        # (Figure A3's lowest key question) only a small base makes it disclosive.
        base_known = not isinstance(sh.base, CellRef) or is_printed(table, sh.base)
        small_count = rule.is_small(table.value(sh.count)) and (
            base_known or is_printed(table, sh.count))
        if (small_count or rule.is_small(base)) and _number(table.value(sh.pct)):
            marks[sh.pct] = PRIMARY
    _follow(table, marks)
    return marks


def _follow(table: ReportTable, marks: dict[CellRef, str]) -> None:
    """Hide the percentages of hidden counts, and every cell computed from a hidden one."""
    changed = True
    while changed:
        changed = False
        for index, row in enumerate(table.rows):
            for column in table.columns:
                cell = CellRef(index, column.id)
                if cell in marks or row.get(column.id) is None:
                    continue
                sources = [*([column.count_of] if column.count_of else []), *column.follows]
                found = [marks[CellRef(index, s)] for s in sources if CellRef(index, s) in marks]
                if found:
                    marks[cell] = PRIMARY if PRIMARY in found else SECONDARY
                    changed = True


def _rounded_rows(table: ReportTable, marks: dict[CellRef, str],
                  rule: DisclosureRule) -> list[dict[str, Any]]:
    rows = [dict(row) for row in table.rows]
    counted = set(table.structure.count_cells())
    if rule.round_to > 1:
        for index, row in enumerate(rows):
            for column in table.columns:
                cell = CellRef(index, column.id)
                if (column.kind == "count" and (column.suppressible or cell in counted)
                        and _number(row.get(column.id))):
                    row[column.id] = rule.rounded(row[column.id])
        for sh in table.structure.shares:
            base = table.value(sh.base) if isinstance(sh.base, CellRef) else sh.base
            if _number(table.value(sh.pct)) and _number(base):
                whole = rule.rounded(base)
                part = rule.rounded(table.value(sh.count))
                rows[sh.pct.row][sh.pct.key] = 100.0 * part / whole if whole else None
        # A difference of two percentages (Figure 5.2) is taken of the printed ones, so
        # that it does not give the unrounded percentages back.
        for column in table.columns:
            if column.kind == "pp" and len(column.follows) == 2:
                first, second = column.follows
                for row in rows:
                    if _number(row.get(first)) and _number(row.get(second)) and _number(
                            row.get(column.id)):
                        row[column.id] = row[second] - row[first]
    for cell in marks:
        if is_printed(table, cell):
            rows[cell.row][cell.key] = SUPPRESSED
    return rows


def _notes(table: ReportTable, marks: dict[CellRef, str], rule: DisclosureRule,
           starred: bool) -> tuple[str, ...]:
    replaced: dict[str, str] = {}
    for nc in table.structure.note_counts:
        value = table.value(nc.cell)
        raw = nc.render(format_count(value))
        if marks.get(nc.cell) == NOTE:
            replaced[raw] = nc.render(f"fewer than {rule.threshold}")
        elif nc.cell in marks:
            replaced[raw] = nc.withheld or nc.render(SUPPRESSED)
        elif rule.round_to > 1 and _number(value):
            replaced[raw] = nc.render(format_count(rule.rounded(value)))
    notes = [replaced.get(n, n) for n in table.notes]
    extra = []
    if starred:
        extra.append(suppression_note(rule.threshold))
    if rule.round_to > 1:
        extra.append(rounding_note(rule.round_to))
    return (*notes, *(e for e in extra if e not in notes))


def protect(table: ReportTable, rule: DisclosureRule) -> Protected:
    """The table as published under ``rule``, with its withheld cells and its audit."""
    if not rule.active:
        return Protected(table, {}, audit_table(table, {}, rule))
    marks = _primary(table, rule)
    pattern = complementary(table, marks, rule)
    for cell in pattern.secondary:
        marks.setdefault(cell, SECONDARY)
    _follow(table, marks)
    audit = audit_table(table, marks, rule)
    starred = any(is_printed(table, c) for c in marks)
    if not starred and rule.round_to <= 1 and not marks:
        return Protected(table, marks, audit)
    withheld = {label for label, cell in table.structure.base_cells if cell in marks}
    base = {label: (rule.rounded(n) if rule.round_to > 1 else n)
            for label, n in table.base.items() if label not in withheld}
    published = replace(table, rows=tuple(_rounded_rows(table, marks, rule)),
                        notes=_notes(table, marks, rule, starred), base=base)
    return Protected(published, marks, audit)


def suppress(table: ReportTable, threshold: int | DisclosureRule | None) -> ReportTable:
    """A copy of ``table`` as published: small counts, and what would give them back, as *.

    Zero is kept: it identifies nobody. A threshold of None or below 2 disables
    suppression; the note is added once, and only if a cell changed.
    """
    return protect(table, rule_of(threshold)).table


def methods_statement(rule: DisclosureRule, summary: DisclosureSummary | None = None) -> str:
    """The methods paragraph on small numbers, with what was done when known."""
    text = rule.describe()
    if rule.active:
        text += " The JSON tables (tables --json) keep raw counts."
    if summary is not None and rule.active:
        notes = (f"; {summary.notes} count(s) in notes are given as fewer than "
                 f"{rule.threshold}" if summary.notes else "")
        text += (f" In this report {summary.primary} cell(s) were suppressed as small "
                 f"(primary) and {summary.secondary} more to protect them (secondary)"
                 f"{notes}; "
                 f"{summary.audited} table(s) were audited and "
                 + ("no suppressed count can be worked out from the published figures."
                    if not summary.derivable else
                    f"{len(summary.derivable)} count(s) could still be narrowed: "
                    f"{', '.join(summary.derivable)}."))
    return text


def protect_report(report: Report, threshold: int | DisclosureRule | None = None
                   ) -> tuple[Report, list[Protected], DisclosureSummary]:
    """Every table as published, the per-table results and the report's summary."""
    meta = report.meta
    rule = rule_of(meta.suppress_below if threshold is None else threshold,
                   meta.disclosure if meta is not None else "threshold")
    results = [protect(t, rule) for t in report.tables]
    derivable = tuple(f"{p.table.id}: row {r.cell.row} {r.cell.key}"
                      for p in results for r in p.audit.derivable)
    derivable += tuple(f"{p.table.id}: {problem}" for p in results for problem in p.audit.problems)
    summary = DisclosureSummary(rule, len(results), len(results) if rule.active else 0,
                                sum(p.primary for p in results),
                                sum(p.secondary for p in results),
                                sum(p.notes for p in results), derivable)
    if meta is not None:
        plain = methods_statement(rule)
        full = methods_statement(rule, summary)
        methods = tuple(full if m == plain else m for m in meta.methods)
        if full not in methods and rule.active:
            methods = (*methods, full)
        meta = replace(meta, methods=methods, suppress_below=rule.threshold,
                       disclosure=rule.name, protected=_key(rule))
    return replace(report, meta=meta, tables=tuple(p.table for p in results)), results, summary


def _key(rule: DisclosureRule) -> str:
    return f"{rule.name}:{rule.threshold}:{rule.round_to}"


def protected_report(report: Report, threshold: int | DisclosureRule | None = None
                     ) -> tuple[Report, list[Protected], DisclosureSummary]:
    """``protect_report`` under the report's rule (or ``threshold``)."""
    return protect_report(report, threshold)


def suppress_report(report: Report, threshold: int | DisclosureRule | None = None) -> Report:
    """The report with every table protected and the methods saying what was done.

    A report already protected under the same rule comes back as it is: `publish` protects
    a report once (the integer programs take seconds on a large one) and every writer it
    hands the result to asks again.
    """
    meta = report.meta
    rule = rule_of(meta.suppress_below if threshold is None else threshold,
                   meta.disclosure if meta is not None else "threshold")
    if meta is not None and meta.protected == _key(rule):
        return report
    return protect_report(report, rule)[0]


def small_numbers_text(meta: ReportMeta, threshold: int | None) -> str:
    """The rule in words for a renderer's "Small numbers" line."""
    return rule_of(threshold, meta.disclosure).describe()
