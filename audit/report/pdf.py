"""The report as a PDF: title page, contents, numbered figures, charts, methods.

Built with reportlab's platypus. ``multiBuild`` runs the layout until the contents
page numbers settle; a counting canvas writes "page N of M" footers once the
total is known. Every piece of user text goes through ``_para`` (XML-escaped and
limited to what the built-in Helvetica can draw), so a site called "<b>Smith & Co"
prints as typed instead of breaking the layout.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from audit.report.charts import table_chart
from audit.report.model import BOLD, SHADE, Report, ReportMeta, ReportTable
from audit.report.suppression import small_numbers_text, suppress_report
from audit.report.text import (
    SHADING_LEGEND,
    format_cell,
    software_label,
    table_footnotes,
    winansi,
)

Progress = Callable[[int, int, str], None]

PAGE_W, PAGE_H = A4
MARGIN = 20 * mm
FRAME_W = PAGE_W - 2 * MARGIN
FRAME_H = PAGE_H - 2 * MARGIN - 8 * mm  # room for the footer
# Landscape pages, for figures with too many columns (``ReportTable.landscape``).
WIDE_FRAME_W = PAGE_H - 2 * MARGIN
WIDE_FRAME_H = PAGE_W - 2 * MARGIN - 8 * mm
MARKING_SIZE = 10.0
MARKING_INSET = 11 * mm  # from the page's top and bottom edges to the marking's baseline

NAVY = colors.HexColor("#1F3864")
HEADING_BG = colors.HexColor("#D9E2F3")
ZEBRA = colors.HexColor("#F2F2F2")
SHADE_BG = colors.HexColor("#C6EFCE")  # light green, as in the published Figure 5.2
RULE = colors.HexColor("#8C8C8C")
SHADE_MARK = " †"  # survives greyscale printing, where the green does not

_BODY = 8.5
SPLIT_ROOM = 120.0  # points a long table needs below its caption to start on this page
SECTION_ROOM = 0.3  # share of a page a new section needs left, else it starts a page


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=13.5)
    return {
        "body": base,
        "text": ParagraphStyle("text", base, spaceAfter=5),
        "title": ParagraphStyle("title", base, fontName="Helvetica-Bold", fontSize=24,
                                leading=30, textColor=NAVY, spaceAfter=10),
        "organisation": ParagraphStyle("organisation", base, fontName="Helvetica-Bold",
                                       fontSize=13, leading=17, textColor=RULE,
                                       spaceAfter=14),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=14, leading=18, spaceAfter=24),
        "h1": ParagraphStyle("h1", base, fontName="Helvetica-Bold", fontSize=15, leading=19,
                             textColor=NAVY, spaceBefore=4, spaceAfter=10, keepWithNext=1),
        "h2": ParagraphStyle("h2", base, fontName="Helvetica-Bold", fontSize=11, leading=14,
                             spaceBefore=8, spaceAfter=4, keepWithNext=1),
        "caption": ParagraphStyle("caption", base, fontName="Helvetica-Bold", fontSize=10.5,
                                  leading=13.5, spaceBefore=6, spaceAfter=6, keepWithNext=1),
        "caption_split": ParagraphStyle("caption_split", base, fontName="Helvetica-Bold",
                                        fontSize=10.5, leading=13.5, spaceBefore=6,
                                        spaceAfter=6),
        "note": ParagraphStyle("note", base, fontSize=7.5, leading=9.5, spaceBefore=1.5,
                               textColor=colors.HexColor("#404040")),
        "chart_label": ParagraphStyle("chart_label", base, fontName="Helvetica-Bold",
                                      fontSize=9, leading=12, spaceAfter=4, keepWithNext=1),
        "cell": ParagraphStyle("cell", base, fontSize=_BODY, leading=10.5),
        "cell_bold": ParagraphStyle("cell_bold", base, fontName="Helvetica-Bold",
                                    fontSize=_BODY, leading=10.5),
        "head": ParagraphStyle("head", base, fontName="Helvetica-Bold", fontSize=_BODY,
                               leading=10.5, textColor=colors.white),
        "head_r": ParagraphStyle("head_r", base, fontName="Helvetica-Bold", fontSize=_BODY,
                                 leading=10.5, textColor=colors.white, alignment=TA_RIGHT),
        "head_c": ParagraphStyle("head_c", base, fontName="Helvetica-Bold", fontSize=_BODY,
                                 leading=10.5, textColor=colors.white, alignment=TA_CENTER),
        "mono": ParagraphStyle("mono", base, fontName="Courier", fontSize=8.5, leading=11,
                               backColor=ZEBRA, borderPadding=4, spaceBefore=4,
                               spaceAfter=8),
        "toc0": ParagraphStyle("toc0", base, fontName="Helvetica-Bold", fontSize=10.5,
                               leading=14, spaceBefore=6),
        "toc1": ParagraphStyle("toc1", base, fontSize=9, leading=11.5, leftIndent=14,
                               firstLineIndent=0),
    }


def _para(text: Any, style: ParagraphStyle) -> Paragraph:
    """A Paragraph of user text: escaped markup, drawable characters."""
    return Paragraph(escape(winansi(str(text))).replace("\n", "<br/>"), style)


# ---------------------------------------------------------------- document and footer


class _PageCount(Flowable):
    """An invisible last flowable that learns the page count for the footers.

    reportlab's usual "page N of M" recipe defers every page until the end, which
    breaks bookmarks (they all point at page 1). Instead this takes part in
    ``multiBuild`` as an indexing flowable: it records the last page of one pass,
    and asks for another pass until two passes agree.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total: int | None = None
        self._seen: int | None = None
        self._previous: int | None = None

    def isIndexing(self) -> int:  # noqa: N802 - reportlab's name
        return 1

    def isSatisfied(self) -> bool:  # noqa: N802 - reportlab's name
        return self.total is not None and self.total == self._previous

    def beforeBuild(self) -> None:  # noqa: N802 - reportlab's name
        self._previous = self.total

    def notify(self, kind: str, stuff: Any) -> None:
        """Indexing flowables hear every contents entry; this one needs none."""

    def afterBuild(self) -> None:  # noqa: N802 - reportlab's name
        self.total = self._seen

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return 0.0, 0.0

    def draw(self) -> None:
        self._seen = self.canv.getPageNumber()


class _ReportDoc(BaseDocTemplate):
    """A4 pages with a footer; registers contents entries and PDF bookmarks."""

    def __init__(self, filename: str, footer_title: str, marking: str = "",
                 **kwargs: Any) -> None:
        super().__init__(filename, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN, bottomMargin=MARGIN + 8 * mm, **kwargs)
        self.page_count = _PageCount()
        self._footer_label = winansi(f"IOM audit — {footer_title}")
        self._marking = winansi(marking)
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        wide = Frame(self.leftMargin, self.bottomMargin, WIDE_FRAME_W, WIDE_FRAME_H,
                     id="wide", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([
            PageTemplate(id="page", frames=[frame], onPageEnd=self._footer),
            PageTemplate(id="landscape", frames=[wide], onPageEnd=self._footer,
                         pagesize=landscape(A4))])

    def _footer(self, canv: rl_canvas.Canvas, doc: BaseDocTemplate) -> None:
        total = self.page_count.total or "?"  # known from the second pass on
        suffix = f" · page {canv.getPageNumber()} of {total}"
        text = self._footer_label
        page_w = float(canv._pagesize[0])  # landscape pages are wider
        # Shorten a long title rather than run the footer off the page.
        while text and stringWidth(text + suffix, "Helvetica", 7.5) > page_w - 2 * MARGIN:
            text = text[:-2] + "…"
        canv.saveState()
        canv.setStrokeColor(RULE)
        canv.setLineWidth(0.4)
        canv.line(MARGIN, MARGIN - 2 * mm, page_w - MARGIN, MARGIN - 2 * mm)
        canv.setFont("Helvetica", 7.5)
        canv.setFillColor(colors.HexColor("#404040"))
        canv.drawRightString(page_w - MARGIN, MARGIN - 6 * mm, text + suffix)
        if self._marking:
            # The protective marking, centred at the head and the foot of every page.
            page_h = float(canv._pagesize[1])
            canv.setFont("Helvetica-Bold", MARKING_SIZE)
            canv.setFillColor(colors.black)
            canv.drawCentredString(page_w / 2, page_h - MARKING_INSET, self._marking)
            canv.drawCentredString(page_w / 2, MARKING_INSET - MARKING_SIZE * 0.7,
                                   self._marking)
        canv.restoreState()

    def afterFlowable(self, flowable: Flowable) -> None:  # noqa: N802 - reportlab's name
        key = getattr(flowable, "toc_key", None)
        if key is None:
            return
        level = flowable.toc_level
        text = flowable.getPlainText()
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(text, key, level=level, closed=False)
        self.notify("TOCEntry", (level, escape(text), self.page, key))


def _marked(paragraph: Paragraph, key: str, level: int) -> Paragraph:
    """Mark a heading for the contents page and the PDF outline."""
    paragraph.toc_key = key
    paragraph.toc_level = level
    return paragraph


# ---------------------------------------------------------------- tables


_PAD = 11.0  # cell padding (4 + 4) plus a little air
_NUM_MIN, _NUM_MAX = 40.0, 80.0


def _width(text: str, font: str = "Helvetica") -> float:
    return stringWidth(winansi(text), font, _BODY)


def _column_widths(table: ReportTable, cells: list[list[str]],
                   frame_w: float = FRAME_W) -> list[float]:
    """Column widths that fill the frame without breaking words.

    Numbers get what their widest value or header word needs (so "Percentage"
    never wraps mid-word); text columns start at their longest word, grow towards
    their longest line, and the first text column takes whatever is left.
    """
    body = [row for r, row in enumerate(cells) if not table.is_heading_row(r)]
    widths: list[float] = []
    natural: list[float] = []
    for i, column in enumerate(table.columns):
        values = [row[i] for row in body]
        head_words = max((_width(w, "Helvetica-Bold") for w in column.label.split()),
                         default=0.0)
        if column.numeric:
            need = max([_width(v + SHADE_MARK) for v in values] + [head_words]) + _PAD
            widths.append(min(max(need, _NUM_MIN), _NUM_MAX))
            natural.append(widths[-1])
            continue
        words = [w for v in values for w in v.split()]
        longest_word = max([_width(w) for w in words] + [head_words]) + _PAD
        widths.append(min(longest_word, frame_w * 0.4))
        natural.append(max([_width(v) for v in values]
                           + [_width(column.label, "Helvetica-Bold")]) + _PAD)
    if sum(widths) > frame_w:  # too many columns to fit: shrink everything alike
        return [w * frame_w / sum(widths) for w in widths]
    text_cols = [i for i, c in enumerate(table.columns) if not c.numeric]
    spare = frame_w - sum(widths)
    needs = {i: max(natural[i] - widths[i], 0.0) for i in text_cols}
    total_need = sum(needs.values())
    for i, need in needs.items():
        widths[i] += min(need, spare * need / total_need) if total_need else 0.0
    spare = frame_w - sum(widths)
    widths[text_cols[0] if text_cols else 0] += spare
    return widths


def _header_rows(table: ReportTable, styles: dict[str, ParagraphStyle]
                 ) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """One or two header rows (group row spanning its columns, then labels)."""
    columns = table.columns

    def label(column: Any) -> Paragraph:
        return _para(column.label, styles["head_r" if column.numeric else "head"])

    if not any(c.group for c in columns):
        return [[label(c) for c in columns]], []
    top: list[Any] = []
    commands: list[tuple[Any, ...]] = []
    index = 0
    while index < len(columns):
        group = columns[index].group
        end = index
        while group and end + 1 < len(columns) and columns[end + 1].group == group:
            end += 1
        if group:
            top.extend([_para(group, styles["head_c"])] + [""] * (end - index))
            if end > index:
                commands.append(("SPAN", (index, 0), (end, 0)))
            commands.append(("LINEBELOW", (index, 0), (end, 0), 0.5, colors.white))
        else:  # an ungrouped column's label fills both header rows
            top.append("")
            commands.append(("SPAN", (index, 0), (index, 1)))
        index = end + 1
    second = [label(c) for c in columns]
    for index, column in enumerate(columns):
        if not column.group:
            top[index], second[index] = second[index], ""
    return [top, second], commands


def _table_flowable(table: ReportTable, styles: dict[str, ParagraphStyle],
                    notes: list[str], frame_w: float = FRAME_W) -> Table:
    """The figure's table: spanning headers, right-aligned numbers, zebra, shading.

    The notes go in a last, spanning row so that a table split across pages
    still ends with its notes.
    """
    columns = table.columns
    shaded_columns = {
        c.id for c in columns
        if any(table.style_of(r, c.id) == SHADE for r in range(len(table.rows)))
    }
    cells = [[format_cell(row.get(c.id), c.kind) for c in columns] for row in table.rows]
    header, commands = _header_rows(table, styles)
    n_head = len(header)
    body: list[list[Any]] = []
    commands += [
        ("BACKGROUND", (0, 0), (-1, n_head - 1), NAVY),
        ("VALIGN", (0, 0), (-1, n_head - 1), "BOTTOM"),
        ("VALIGN", (0, n_head), (-1, -1), "MIDDLE"),
        ("FONTNAME", (0, n_head), (-1, -1), "Helvetica"),
        ("FONTSIZE", (0, 0), (-1, -1), _BODY),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    stripe = 0
    for r, (row_cells, row) in enumerate(zip(cells, table.rows, strict=True)):
        y = n_head + r
        if table.is_heading_row(r):
            text = next((str(row.get(c.id)) for c in columns if row.get(c.id)), "")
            body.append([_para(text, styles["cell_bold"])] + [""] * (len(columns) - 1))
            commands += [("SPAN", (0, y), (-1, y)), ("BACKGROUND", (0, y), (-1, y), HEADING_BG),
                         # never leave a sub-heading at the foot of a page
                         ("NOSPLIT", (0, y), (-1, min(y + 1, n_head + len(cells) - 1)))]
            stripe = 0
            continue
        if stripe % 2:
            commands.append(("BACKGROUND", (0, y), (-1, y), ZEBRA))
        stripe += 1
        out: list[Any] = []
        for c, (column, text) in enumerate(zip(columns, row_cells, strict=True)):
            style = table.style_of(r, column.id)
            if style == SHADE:
                text += SHADE_MARK
                commands.append(("BACKGROUND", (c, y), (c, y), SHADE_BG))
            elif column.id in shaded_columns and column.numeric:
                # Pad unmarked numbers by the marker's width so the column stays aligned.
                text += " " * 3
            if column.numeric:
                out.append(winansi(text))
                commands.append(("ALIGN", (c, y), (c, y), "RIGHT"))
                if style == BOLD:
                    commands.append(("FONTNAME", (c, y), (c, y), "Helvetica-Bold"))
            else:
                out.append(_para(text, styles["cell_bold" if style == BOLD else "cell"]))
        body.append(out)
    last = n_head + len(body) - 1
    commands.append(("LINEBELOW", (0, last), (-1, last), 0.6, NAVY))
    if notes:
        body.append([[_para(note, styles["note"]) for note in notes]]
                    + [""] * (len(columns) - 1))
        commands += [("SPAN", (0, last + 1), (-1, last + 1)),
                     ("LEFTPADDING", (0, last + 1), (-1, last + 1), 0),
                     ("TOPPADDING", (0, last + 1), (-1, last + 1), 4),
                     # the notes stay with the last rows: never one row alone on a page
                     ("NOSPLIT", (0, max(last - 2, n_head)), (-1, last + 1))]
    flowable = Table(header + body, colWidths=_column_widths(table, cells, frame_w),
                     repeatRows=n_head,
                     hAlign="LEFT")
    flowable.setStyle(TableStyle(commands))
    return flowable


def _figure(table: ReportTable, styles: dict[str, ParagraphStyle], key: str,
            level: int, lead: list[Flowable] | None = None) -> list[Flowable]:
    """Caption, table, notes and chart of one figure.

    ``lead`` (a section heading) is kept on the page of the caption: reportlab's
    keepWithNext does not reach into a KeepTogether, so it goes inside it.
    """
    table = table.printed()
    notes = table_footnotes(table)
    if table.has_shading():
        notes.append(SHADING_LEGEND)
    frame_w, frame_h = (WIDE_FRAME_W, WIDE_FRAME_H) if table.landscape else (FRAME_W, FRAME_H)
    parts: list[Flowable] = [*(lead or []),
                             _marked(_para(table.title, styles["caption"]), key, level),
                             _table_flowable(table, styles, notes, frame_w)]
    charts = table_chart(table, frame_w, max_height=frame_h * 0.92)
    tail: list[Flowable] = []
    for chart in charts:
        tail += [Spacer(1, 8), chart]
    table_h = sum(part.wrap(frame_w, frame_h)[1] for part in parts) + 20
    tail_h = sum(chart.height + 8 for chart in charts)
    if table_h + tail_h <= frame_h:
        return [KeepTogether(parts + tail), Spacer(1, 14)]
    if charts:
        # The chart starts a page of its own: say which figure it belongs to.
        tail = []
        for chart in charts:
            label = _para(f"Figure {table.figure} (continued): chart", styles["chart_label"])
            tail += [CondPageBreak(chart.height + 20), label, chart, Spacer(1, 8)]
    if table_h <= frame_h:
        # Table and chart do not fit on one page: keep the table whole, chart after.
        return [KeepTogether(parts), *tail, Spacer(1, 14)]
    # A long table splits across pages, repeating its header rows. Its caption must not
    # be kept with the whole table (that would push both to a fresh page, leaving the
    # rest of this one empty): it only needs room for a few rows below it.
    caption = _marked(_para(table.title, styles["caption_split"]), key, level)
    return [CondPageBreak(SPLIT_ROOM), *(lead or []), caption, parts[-1], *tail,
            Spacer(1, 14)]


# ---------------------------------------------------------------- pages


def _title_page(meta: ReportMeta, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    when = meta.generated_at.strftime("%-d %B %Y, %H:%M")
    story: list[Flowable] = [Spacer(1, 45 * mm)]
    if meta.organisation:
        story.append(_para(meta.organisation, styles["organisation"]))
    story.append(_para(meta.title, styles["title"]))
    if meta.subtitle:
        story.append(_para(meta.subtitle, styles["subtitle"]))
    story += [_para(f"Generated {when}", styles["body"]), Spacer(1, 10 * mm),
              _para("Samples", styles["h2"])]
    story.append(_samples_table(meta, styles))
    if meta.question_sets:
        story += [_para("Question sets", styles["h2"]),
                  _para(", ".join(meta.question_sets), styles["body"])]
    story += [Spacer(1, 6), _para(software_label(meta.software_version), styles["note"]),
              PageBreak()]
    return story


def _samples_table(meta: ReportMeta, styles: dict[str, ParagraphStyle]) -> Flowable:
    rows = [[_para("Sample", styles["head"]), _para("Cases", styles["head_r"])]]
    rows += [[_para(label, styles["cell"]), format_cell(n, "count")]
             for label, n in meta.samples]
    table = Table(rows, colWidths=[FRAME_W - 70, 70], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), NAVY), ("ALIGN", (1, 1), (1, -1), "RIGHT"),
        ("FONTSIZE", (0, 0), (-1, -1), _BODY), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, NAVY),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ZEBRA]),
    ]))
    return table


def _contents_page(meta: ReportMeta, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    toc = TableOfContents(dotsMinLevel=0)
    toc.levelStyles = [styles["toc0"], styles["toc1"]]
    story: list[Flowable] = [_para("Contents", styles["h1"]), toc]
    if meta.numbering_note:
        story += [Spacer(1, 10), _para(meta.numbering_note, styles["note"])]
    return [*story, PageBreak()]


def _methods_page(meta: ReportMeta, threshold: int | None,
                  styles: dict[str, ParagraphStyle], key: str) -> list[Flowable]:
    story: list[Flowable] = [PageBreak(), _marked(_para("Methods", styles["h1"]), key, 0),
                             _para("Samples", styles["h2"]), _samples_table(meta, styles)]
    if meta.methods:
        story.append(_para("Analysis", styles["h2"]))
        story += [_para(text, styles["text"]) for text in meta.methods]
    story += [
        _para("Small numbers", styles["h2"]),
        _para(small_numbers_text(meta, threshold), styles["body"]),
        _para("Question sets", styles["h2"]),
        _para(", ".join(meta.question_sets) or "–", styles["body"]),
        _para("Software and date", styles["h2"]),
        _para(f"{software_label(meta.software_version)}; generated "
              f"{meta.generated_at.isoformat(timespec='seconds')}.", styles["body"]),
        _para("To regenerate this report", styles["h2"]),
        _para(meta.command, styles["mono"]),
    ]
    return story


def _story(report: Report, threshold: int | None, styles: dict[str, ParagraphStyle],
           progress: Progress | None) -> list[Flowable]:
    total = len(report.tables) + 1
    story = _title_page(report.meta, styles) + _contents_page(report.meta, styles)
    has_sections = any(t.section for t in report.tables)
    section: str | None = None
    wide = bool(report.tables) and report.tables[0].landscape  # pages in use are landscape
    if wide:  # before the contents page's break, which starts the first figure's page
        story.insert(len(story) - 1, NextPageTemplate("landscape"))
    for number, table in enumerate(report.tables, start=1):
        new_section = has_sections and table.section != section
        turned = table.landscape != wide
        if turned:
            # A new page template takes effect at a page break, which must happen here: a
            # section heading then moves with its first figure onto the turned page.
            wide = table.landscape
            story += [NextPageTemplate("landscape" if wide else "page"), PageBreak()]
        if new_section:
            section = table.section
            if number > 1 and not turned:
                # A new section starts a page only when little of this one is left: short
                # tables flow on, rather than leaving half-empty pages behind them.
                story += [CondPageBreak(FRAME_H * SECTION_ROOM), Spacer(1, 10)]
            lead = [_marked(_para(section or "Other tables", styles["h1"]),
                            f"section-{number}", 0)]
        else:
            lead = []
        story += _figure(table, styles, f"figure-{number}", 1 if has_sections else 0, lead)
        if progress is not None:
            progress(number, total, f"Figure {table.figure}")
    if wide:
        story.append(NextPageTemplate("page"))
    story += _methods_page(report.meta, threshold, styles, "methods")
    return story


def write_pdf(report: Report, path: Path | str, *, suppress_below: int | None = None,
              progress: Progress | None = None) -> Path:
    """Write the report as a PDF and return its path.

    ``suppress_below`` defaults to ``report.meta.suppress_below``; ``progress`` is
    called as ``(done, total, label)`` after each table and once more when the
    pages are laid out.
    """
    threshold = report.meta.suppress_below if suppress_below is None else suppress_below
    published = suppress_report(report, threshold)
    out = Path(path)
    meta = report.meta
    doc = _ReportDoc(str(out), meta.title, marking=meta.marking, title=winansi(meta.title),
                     author=winansi(meta.organisation) or "iom-audit",
                     subject=winansi(meta.subtitle), creator=software_label(meta.software_version))
    story = _story(published, threshold, _styles(), progress)
    doc.multiBuild([*story, doc.page_count])
    if progress is not None:
        total = len(report.tables) + 1
        progress(total, total, "Pages laid out")
    return out

