"""The report as an Excel workbook: a contents sheet, one sheet per table, methods.

Numbers are written as numbers, formatted by column kind, so a publication team
can re-chart them. Percentages are stored as fractions with the "0%" format
(Excel's own percentage type: 44% is the value 0.44 and displays "44%"), which is
what Excel charts and formulas expect; the JSON export keeps 0-100.

Every text cell goes through ``audit.cell_safety.neutralise`` and is typed as a string, so
no cell is ever a formula, whatever a site or question is called.
"""

import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from audit.cell_safety import neutralise
from audit.formatting import EXCEL_FORMATS, MISSING, is_missing
from audit.report.model import BOLD, SHADE, Column, Report, ReportTable
from audit.report.suppression import small_numbers_text, suppress_report
from audit.report.text import SHADING_LEGEND, format_cell, software_label, table_footnotes

_BOLD = Font(bold=True)
_CAPTION = Font(bold=True, size=12)
_HEADER = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F3864")
_HEADING_FILL = PatternFill("solid", fgColor="D9E2F3")
_SHADE_FILL = PatternFill("solid", fgColor="C6EFCE")
_LINK = Font(color="0563C1", underline="single")
_WRAP = Alignment(wrap_text=True, vertical="top")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one cell safely: text neutralised and typed as a string, never a formula."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = neutralise(value)
        cell.data_type = "s"  # belt and braces: openpyxl types any "=..." text as a formula
    else:
        cell.value = value
    return cell


def _link(cell: Cell, sheet: str) -> None:
    """Make a cell an internal link to another sheet (a location, not a URL)."""
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{sheet}'!A1")
    cell.font = _LINK


def _sheet_names(report: Report) -> list[str]:
    """Unique, valid sheet names: "Figure 4.3", or the id if figures repeat."""
    names: list[str] = []
    taken = {"contents", "methods"}
    for table in report.tables:
        name = _BAD_SHEET_CHARS.sub("_", f"Figure {table.figure}" if table.figure else table.id)
        name = name.strip("'")[:31] or "Table"
        candidate, n = name, 2
        while candidate.lower() in taken:
            suffix = f" ({n})"
            candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
        taken.add(candidate.lower())
        names.append(candidate)
    return names


def _cell_value(value: Any, column: Column) -> tuple[Any, str | None]:
    """The value to store and its number format; text for markers and intervals."""
    if is_missing(value):
        return MISSING, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return format_cell(value, column.kind), None
    if column.kind in ("pct", "pct1"):
        return value / 100.0, EXCEL_FORMATS[column.kind]
    if column.kind in EXCEL_FORMATS:
        return value, EXCEL_FORMATS[column.kind]
    return value, None


def _write_header(ws: Worksheet, table: ReportTable, top: int) -> int:
    """Group row (merged across its columns) and label row; returns the next free row."""
    columns = table.columns
    if any(c.group for c in columns):
        start = 0
        while start < len(columns):
            end = start
            group = columns[start].group
            while group and end + 1 < len(columns) and columns[end + 1].group == group:
                end += 1
            cell = put(ws, top, start + 1, group or "")
            cell.font, cell.fill = _HEADER, _HEADER_FILL
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
            for extra in range(start + 1, end + 1):
                ws.cell(row=top, column=extra + 1).fill = _HEADER_FILL
            if end > start:
                ws.merge_cells(start_row=top, start_column=start + 1, end_row=top,
                               end_column=end + 1)
            start = end + 1
        top += 1
    for index, column in enumerate(columns, start=1):
        cell = put(ws, top, index, column.label)
        cell.font, cell.fill = _HEADER, _HEADER_FILL
        cell.alignment = Alignment(horizontal="right" if column.numeric else "left",
                                   wrap_text=True, vertical="bottom")
    return top + 1


def _write_table_sheet(ws: Worksheet, table: ReportTable) -> None:
    put(ws, 1, 1, table.title).font = _CAPTION
    back = put(ws, 2, 1, "Back to contents")
    _link(back, "Contents")
    row = _write_header(ws, table, 4)
    ws.freeze_panes = ws.cell(row=row, column=2)
    for r, values in enumerate(table.rows):
        heading = table.is_heading_row(r)
        for c, column in enumerate(table.columns, start=1):
            raw = values.get(column.id)
            if heading:
                if raw is not None and c == 1:
                    put(ws, row, 1, str(raw)).font = _BOLD
                ws.cell(row=row, column=c).fill = _HEADING_FILL
                continue
            if is_missing(raw) and not column.numeric:
                raw = ""
            value, number_format = _cell_value(raw, column)
            cell = put(ws, row, c, value)
            if number_format:
                cell.number_format = number_format
            if column.numeric:
                cell.alignment = Alignment(horizontal="right")
            else:
                cell.alignment = _WRAP
            style = table.style_of(r, column.id)
            if style == SHADE:
                cell.fill = _SHADE_FILL
            elif style == BOLD:
                cell.font = _BOLD
        row += 1
    notes = table_footnotes(table)
    if table.has_shading():
        notes.append(SHADING_LEGEND.replace("also marked † so that they can be told apart "
                                            "when printed in greyscale", "filled green"))
    row += 1
    for note in notes:
        put(ws, row, 1, note).font = Font(italic=True, size=9)
        row += 1
    _set_widths(ws, table)


def _set_widths(ws: Worksheet, table: ReportTable) -> None:
    for index, column in enumerate(table.columns, start=1):
        if column.numeric:
            width = max(12, len(column.label) + 2)
        else:
            longest = max([len(str(r.get(column.id) or "")) for r in table.rows] + [10])
            width = min(max(longest + 2, len(column.label) + 2), 70)
        ws.column_dimensions[get_column_letter(index)].width = width


def _write_contents(ws: Worksheet, report: Report, names: list[str]) -> None:
    meta = report.meta
    put(ws, 1, 1, meta.title).font = _CAPTION
    put(ws, 2, 1, meta.subtitle)
    put(ws, 3, 1, f"Generated {meta.generated_at.isoformat(timespec='seconds')} by "
                  f"{software_label(meta.software_version)}")
    for c, label in enumerate(("Figure", "Caption", "Sheet"), start=1):
        cell = put(ws, 5, c, label)
        cell.font, cell.fill = _HEADER, _HEADER_FILL
    row = 6
    for table, name in zip(report.tables, names, strict=True):
        put(ws, row, 1, table.figure)
        put(ws, row, 2, table.caption).alignment = _WRAP
        link = put(ws, row, 3, name)
        _link(link, name)
        row += 1
    put(ws, row, 2, "Methods, samples and how to regenerate this workbook")
    link = put(ws, row, 3, "Methods")
    _link(link, "Methods")
    ws.column_dimensions["A"].width = 10
    ws.column_dimensions["B"].width = 90
    ws.column_dimensions["C"].width = 16


def _write_methods(ws: Worksheet, report: Report, threshold: int | None) -> None:
    meta = report.meta
    put(ws, 1, 1, "Methods").font = _CAPTION
    rows: list[tuple[str, Any]] = [("Samples", "")]
    rows += [(label, n) for label, n in meta.samples]
    rows += [("", ""), ("Analysis", "")] + [("", text) for text in meta.methods]
    rule = small_numbers_text(meta, threshold)
    rows += [("", ""), ("Small numbers", rule),
             ("Percentages", "Stored as fractions formatted 0% (0.44 shows as 44%)."),
             ("Question sets", ", ".join(meta.question_sets)),
             ("Software version", software_label(meta.software_version)),
             ("Generated", meta.generated_at.isoformat(timespec="seconds")),
             ("Command", meta.command)]
    for r, (label, value) in enumerate(rows, start=3):
        put(ws, r, 1, label).font = _BOLD
        cell = put(ws, r, 2, value)
        if isinstance(value, int):
            cell.number_format = EXCEL_FORMATS["count"]
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 100


def write_xlsx(report: Report, path: Path | str, *, suppress_below: int | None = None) -> Path:
    """Write the report as an .xlsx workbook and return its path.

    ``suppress_below`` defaults to ``report.meta.suppress_below``.
    """
    threshold = report.meta.suppress_below if suppress_below is None else suppress_below
    published = suppress_report(report, threshold)
    names = _sheet_names(published)
    workbook = Workbook()
    contents = workbook.active
    contents.title = "Contents"
    _write_contents(contents, published, names)
    for table, name in zip(published.tables, names, strict=True):
        _write_table_sheet(workbook.create_sheet(name), table)
    _write_methods(workbook.create_sheet("Methods"), published, threshold)
    out = Path(path)
    workbook.save(out)
    return out
