"""The report as a Word document: every figure an editable Word table, for drafting.

Inspectorates draft their reports in Word, so each table is a real Word table (not a
picture), with the caption as a "Heading 2" (Word's navigation pane lists every figure
under its "Heading 1" section), the same cell text as the PDF (``text.format_cell`` on
the same suppressed report), the notes beneath it, and its chart as a picture of the
very drawing the PDF uses.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell

from audit.report.charts import table_chart
from audit.report.model import BOLD, SHADE, Report, ReportMeta, ReportTable
from audit.report.suppression import suppress_report, suppression_note
from audit.report.text import SHADING_LEGEND, format_cell, software_label, table_footnotes

NAVY = "1F3864"
HEADING_BG = "D9E2F3"
SHADE_BG = "C6EFCE"  # as the PDF's Figure 5.2
SHADE_MARK = " †"  # as the PDF: survives greyscale printing
_TEXT_W = Cm(16.0)  # A4 less 2.5 cm margins
_CHART_DPI = 200
# Characters XML 1.0 cannot hold: python-docx would refuse the whole document.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: Any) -> str:
    """Text Word can store: characters XML forbids are dropped."""
    return _NOT_XML.sub("", str(text))


def cell_texts(table: ReportTable) -> list[list[str]]:
    """Each body row's cells as printed (the PDF's text, † on shaded cells); a sub-heading
    row holds its heading in the first cell and nothing else."""
    out: list[list[str]] = []
    for r, row in enumerate(table.rows):
        if table.is_heading_row(r):
            text = next((str(row.get(c.id)) for c in table.columns if row.get(c.id)), "")
            out.append([text] + [""] * (len(table.columns) - 1))
            continue
        cells = []
        for column in table.columns:
            text = format_cell(row.get(column.id), column.kind)
            if table.style_of(r, column.id) == SHADE:
                text += SHADE_MARK
            cells.append(text)
        out.append(cells)
    return out


def write_docx(report: Report, path: Path | str, *, suppress_below: int | None = None) -> Path:
    """Write the report as a .docx file and return its path.

    ``suppress_below`` defaults to ``report.meta.suppress_below``, as for the PDF.
    """
    threshold = report.meta.suppress_below if suppress_below is None else suppress_below
    published = suppress_report(report, threshold)
    doc = Document()
    _page_setup(doc, report.meta)
    _title_page(doc, report.meta)
    section: str | None = None
    has_sections = any(t.section for t in published.tables)
    for table in published.tables:
        if has_sections and table.section != section:
            section = table.section
            doc.add_heading(clean(section or "Other tables"), level=1)
        _figure(doc, table)
    _methods(doc, report.meta, threshold)
    props = doc.core_properties
    props.title = clean(report.meta.title)
    props.subject = clean(report.meta.subtitle)
    props.author = clean(report.meta.organisation) or "iom-audit"
    props.comments = clean(software_label(report.meta.software_version))
    out = Path(path)
    doc.save(str(out))
    return out


# ---------------------------------------------------------------- page, title, methods


def _page_setup(doc: DocxDocument, meta: ReportMeta) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.5))
    section.top_margin = section.bottom_margin = Cm(2.2)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(10)
    for name, size in (("Heading 1", 15), ("Heading 2", 11.5), ("Title", 24)):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor.from_string(NAVY)
    if meta.marking:
        # The protective marking, centred at the head and the foot of every page.
        for part in (section.header, section.footer):
            paragraph = part.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = paragraph.add_run(clean(meta.marking))
            run.bold = True
            run.font.size = Pt(10)
    footer = section.footer.add_paragraph() if meta.marking else section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = footer.add_run(clean(f"IOM audit — {meta.title}"))
    run.font.size = Pt(7.5)


def _title_page(doc: DocxDocument, meta: ReportMeta) -> None:
    if meta.organisation:
        run = doc.add_paragraph().add_run(clean(meta.organisation))
        run.bold = True
        run.font.size = Pt(13)
    doc.add_heading(clean(meta.title), level=0)
    if meta.subtitle:
        doc.add_paragraph(clean(meta.subtitle))
    doc.add_paragraph(f"Generated {meta.generated_at.strftime('%-d %B %Y, %H:%M')}")
    doc.add_paragraph().add_run("Samples").bold = True
    _samples_table(doc, meta)
    if meta.question_sets:
        doc.add_paragraph().add_run("Question sets").bold = True
        doc.add_paragraph(clean(", ".join(meta.question_sets)))
    if meta.numbering_note:
        _note(doc, meta.numbering_note)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _samples_table(doc: DocxDocument, meta: ReportMeta) -> None:
    grid = doc.add_table(rows=1, cols=2)
    grid.style = "Table Grid"
    _header_cell(grid.cell(0, 0), "Sample", numeric=False)
    _header_cell(grid.cell(0, 1), "Cases", numeric=True)
    for label, n in meta.samples:
        cells = grid.add_row().cells
        _text_cell(cells[0], clean(label), numeric=False)
        _text_cell(cells[1], format_cell(n, "count"), numeric=True)


def _methods(doc: DocxDocument, meta: ReportMeta, threshold: int | None) -> None:
    doc.add_heading("Methods", level=1)
    if meta.methods:
        doc.add_heading("Analysis", level=2)
        for text in meta.methods:
            doc.add_paragraph(clean(text))
    doc.add_heading("Small numbers", level=2)
    if threshold and threshold > 1:
        rule = suppression_note(threshold).lstrip("* ")
        doc.add_paragraph(f"In this report, counts from 1 to {threshold - 1} are shown as * "
                          f"and so are the percentages based on them ({rule}).")
    else:
        doc.add_paragraph("Counts are shown as they are: no suppression was applied.")
    doc.add_heading("Software and date", level=2)
    doc.add_paragraph(f"{software_label(meta.software_version)}; generated "
                      f"{meta.generated_at.isoformat(timespec='seconds')}.")
    doc.add_heading("To regenerate this report", level=2)
    run = doc.add_paragraph().add_run(clean(meta.command))
    run.font.name = "Courier New"
    run.font.size = Pt(8.5)


# ---------------------------------------------------------------- figures


def _figure(doc: DocxDocument, table: ReportTable) -> None:
    table = table.printed()  # the PDF's columns: a page in Word is as narrow
    doc.add_heading(clean(table.title), level=2)
    _word_table(doc, table)
    notes = table_footnotes(table)
    if table.has_shading():
        notes.append(SHADING_LEGEND)
    for note in notes:
        _note(doc, note)
    for drawing in table_chart(table, float(_TEXT_W.pt)):
        doc.add_picture(io.BytesIO(chart_png(drawing)), width=_TEXT_W)


def chart_png(drawing: Any) -> bytes:
    """A reportlab drawing as PNG bytes.

    The drawing is rendered to a one-page PDF by reportlab and rasterised by PDFium
    (pypdfium2, which installs from wheels): reportlab 5's own bitmap renderer needs
    pycairo, which compiles against the system's cairo headers.
    """
    import pypdfium2
    from reportlab.graphics import renderPDF

    document = pypdfium2.PdfDocument(renderPDF.drawToString(drawing))
    try:
        image = document[0].render(scale=_CHART_DPI / 72).to_pil()
    finally:
        document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(_CHART_DPI, _CHART_DPI))
    return out.getvalue()


def _note(doc: DocxDocument, text: str) -> None:
    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.space_after = Pt(1)
    run = paragraph.add_run(clean(text))
    run.font.size = Pt(8)
    run.font.color.rgb = RGBColor.from_string("404040")


def _groups(table: ReportTable) -> list[tuple[int, int, str | None]]:
    """Runs of neighbouring columns sharing a group: (first, last, group)."""
    runs: list[tuple[int, int, str | None]] = []
    for index, column in enumerate(table.columns):
        if runs and column.group and runs[-1][2] == column.group:
            runs[-1] = (runs[-1][0], index, column.group)
        else:
            runs.append((index, index, column.group))
    return runs


def _word_table(doc: DocxDocument, table: ReportTable) -> Table:
    columns = table.columns
    grouped = any(c.group for c in columns)
    n_head = 2 if grouped else 1
    body = cell_texts(table)
    grid = doc.add_table(rows=n_head + len(body), cols=len(columns))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.LEFT
    # python-docx finds a row by listing them all, and `Table.cell` lays out the whole
    # grid on every call: quadratic in the rows of a long table (the ratings annex runs
    # to hundreds). So the rows are listed once and cells taken from their own row, which
    # gives the same cells (a merged span is the same <w:tc> either way).
    rows = list(grid.rows)
    if grouped:
        for first, last, group in _groups(table):
            top = rows[0].cells
            if group:
                cell = top[first].merge(top[last]) if last > first else top[first]
                _header_cell(cell, group, numeric=False, centre=True)
                second = rows[1].cells
                for index in range(first, last + 1):
                    _header_cell(second[index], columns[index].label,
                                 numeric=columns[index].numeric)
            else:  # an ungrouped column's label fills both header rows
                cell = top[first].merge(rows[1].cells[first])
                _header_cell(cell, columns[first].label, numeric=columns[first].numeric)
    else:
        top = rows[0].cells
        for index, column in enumerate(columns):
            _header_cell(top[index], column.label, numeric=column.numeric)
    for h in range(n_head):
        _repeat_header(rows[h])
    for r, texts in enumerate(body):
        row = rows[n_head + r]
        cells = row.cells
        if table.is_heading_row(r):
            cell = cells[0].merge(cells[-1]) if len(columns) > 1 else cells[0]
            _text_cell(cell, texts[0], numeric=False, bold=True)
            _shade(cell, HEADING_BG)
            continue
        for c, (column, text) in enumerate(zip(columns, texts, strict=True)):
            style = table.style_of(r, column.id)
            cell = cells[c]
            _text_cell(cell, text, numeric=column.numeric, bold=style == BOLD)
            if style == SHADE:
                _shade(cell, SHADE_BG)
    return grid


def _header_cell(cell: _Cell, text: str, *, numeric: bool, centre: bool = False) -> None:
    _text_cell(cell, text, numeric=numeric, bold=True, colour="FFFFFF")
    if centre:
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _shade(cell, NAVY)


def _text_cell(cell: _Cell, text: str, *, numeric: bool, bold: bool = False,
               colour: str | None = None) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    if numeric:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = paragraph.add_run(clean(text))
    run.font.size = Pt(8.5)
    run.bold = bold or None
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)


def _shade(cell: _Cell, fill: str) -> None:
    """A solid cell background (python-docx has no API for it: w:shd in the cell's tcPr)."""
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def _repeat_header(row: Any) -> None:
    """Mark a header row to repeat at the top of each page the table runs onto."""
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)

