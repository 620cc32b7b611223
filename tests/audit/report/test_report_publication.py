"""The PDF as an inspectorate would publish it (issue 17, item 5), on the demo data.

Figure numbers without gaps, charts without total rows and labelled in words, footnotes
without codes, tests named as used, protective marking, and every page checked: no
table wider than its frame, no cell narrower than its text, nothing drawn in the margins.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.graphics.shapes import Drawing, Group, String
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import KeepTogether, NextPageTemplate, Paragraph, Table
from reportlab.platypus.tableofcontents import TableOfContents
from statsmodels.stats.proportion import confint_proportions_2indep

from audit.formatting import format_pp
from audit.permissions import Actor
from audit.report import pdf as pdf_mod
from audit.report.build import compile_report
from audit.report.charts import table_chart
from audit.report.model import Column, Report, ReportMeta, ReportTable
from audit.report.numbering import gaps
from audit.report.suppression import suppress_report
from audit.report.text import table_footnotes
from audit.store.engine import open_database
from tests.databases import default_demo

BUILDER = Actor("Demo Builder")
MARKING = "OFFICIAL-SENSITIVE"
ORGANISATION = "HM Inspectorate of Probation"
ALL_2020 = ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7", "4.8", "4.9", "4.10", "5.1",
            "5.2", "5.3", "A1", "A2", "A3", "A4"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Report]]:
    db = open_database(str(default_demo(tmp_path_factory.mktemp("demo") / "demo.db",
                                        BUILDER.name)))
    report = compile_report(db, actor=BUILDER, marking=MARKING, organisation=ORGANISATION)
    yield db, report
    db.dispose()


@pytest.fixture(scope="module")
def pdf(demo: tuple[Any, Report], tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, report = demo
    return pdf_mod.write_pdf(report, tmp_path_factory.mktemp("pdf") / "report.pdf")


def _strings(drawing: Drawing | Group) -> list[str]:
    out: list[str] = []
    for item in drawing.contents:
        if isinstance(item, String):
            out.append(item.text)
        elif isinstance(item, Group):
            out += _strings(item)
    return out


# ---------------------------------------------------------------- figure numbers


def test_figures_carry_the_2020_numbers_without_a_gap(demo: tuple[Any, Report]) -> None:
    _, report = demo
    figures = [t.figure for t in report.tables]
    assert figures == ALL_2020
    assert gaps(figures) == []
    note = report.meta.numbering_note
    assert "2020 joint thematic inspection report" in note
    assert "4.10, 5.3, A1, A2, A3 and A4 have no counterpart" in note


def test_a_partial_report_keeps_the_2020_numbers_and_names_the_absent_ones(
        demo: tuple[Any, Report]) -> None:
    db, _ = demo
    report = compile_report(db, actor=BUILDER,
                            tables=["factors_linked", "iom_module", "iom_comparison",
                                    "reliability"])
    # 4.3 and 5.2 as in 2020; the module follows 2020's last number of chapter 4 (never
    # taking 4.4, which there is another table), the annex table is A1.
    assert [t.figure for t in report.tables] == ["4.3", "4.10", "5.2", "A1"]
    note = report.meta.numbering_note
    assert "Figures 4.1, 4.2, 4.4, 4.5, 4.6, 4.7, 4.8, 4.9 and 5.1 of that report" in note
    assert "--figure-numbers sequential" in note


def test_sequential_numbering_is_an_option(demo: tuple[Any, Report]) -> None:
    db, _ = demo
    report = compile_report(db, actor=BUILDER, figure_numbers="sequential",
                            tables=["index_offence", "keeping_safe", "outcomes"])
    assert [t.figure for t in report.tables] == ["4.1", "4.2", "5.1"]
    assert "numbered in sequence" in report.meta.numbering_note


def test_gaps_finds_missing_numbers() -> None:
    # The numbering of the report before issue 17: A2, 4.2-4.7, 4.9 ... A3, A4.
    assert gaps(["A2", "4.2", "4.7", "4.9", "4.10", "5.1", "5.2", "A3", "A4"]) == [
        "A1", "4.1", "4.3", "4.4", "4.5", "4.6", "4.8"]


# ---------------------------------------------------------------- charts


def test_index_offence_chart_leaves_out_the_total_row(demo: tuple[Any, Report]) -> None:
    table = demo[1].table("index_offence")
    assert table.rows[-1]["offence"] == "Total"  # the table keeps it
    (drawing,) = table_chart(table, 480.0)
    texts = _strings(drawing)
    assert "Total" not in texts
    assert "Violence against the person" in texts
    # "100%" only as the axis' last tick, never as a bar's value
    assert texts.count("100%") == 1


def test_comparison_chart_uses_short_labels_and_newcombe_intervals(
        demo: tuple[Any, Report]) -> None:
    table = demo[1].table("iom_comparison")
    texts = " | ".join(s for d in table_chart(table, 480.0) for s in _strings(d))
    assert "Assessment: engaging the service user" in texts
    assert "RO survey: agencies supporting desistance" in texts
    assert not re.search(r"\b\d\.\d\.\d\b|ro\.agencies", texts)
    for row in table.rows:
        iom_yes = round(row["iom_pct"] * row["iom_n"] / 100)
        non_yes = round(row["non_iom_pct"] * row["non_iom_n"] / 100)
        low, high = confint_proportions_2indep(iom_yes, row["iom_n"], non_yes,
                                               row["non_iom_n"], method="newcomb",
                                               compare="diff")
        assert row["diff_low"] == pytest.approx(100 * low, abs=1e-6)
        assert row["diff_high"] == pytest.approx(100 * high, abs=1e-6)
        assert f"({format_pp(100 * low)} to {format_pp(100 * high)})" in texts


# ---------------------------------------------------------------- words, not codes


def test_footnotes_and_methods_use_words_never_codes(pdf: Path) -> None:
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages)
    assert "IOM 268; non-IOM 2,978" in text
    assert "case type, risk of serious harm, likelihood of reoffending and lead agency" in text
    leaks = re.findall(r"\b(?:non_iom|core_iom|case_type|mappa_level|index_offence)\b|"
                       r"\biom \d|rosh, likelihood", text)
    assert leaks == []


def test_the_test_note_names_only_the_tests_used(demo: tuple[Any, Report]) -> None:
    table = demo[1].table("iom_comparison")
    used = {r["test"] for r in table.rows}
    line = next(n for n in table_footnotes(table) if n.startswith("Test"))
    assert ("Fisher's exact test" in line.split("(")[0]) == ("fisher" in used)
    assert ("chi-square" in line) == ("chi2" in used)
    assert f"{len(table.rows)} questions" in line


def test_no_category_is_printed_twice(demo: tuple[Any, Report]) -> None:
    table = demo[1].table("profile")
    block: list[str] = []
    for index, row in enumerate(table.rows):
        if table.is_heading_row(index):
            block = []
            continue
        assert row["item"] not in block, row["item"]
        block.append(row["item"])


def test_figure_5_1_does_not_repeat_its_caption_as_a_heading(demo: tuple[Any, Report]) -> None:
    table = demo[1].table("outcomes")
    assert not table.is_heading_row(0)
    assert table.rows[0]["answer"] == "Yes"


# ---------------------------------------------------------------- pages


def test_marking_on_every_page_and_organisation_on_the_title_page(pdf: Path) -> None:
    pages = [(p.extract_text() or "") for p in PdfReader(pdf).pages]
    assert ORGANISATION in pages[0]
    for number, text in enumerate(pages, start=1):
        assert text.count(MARKING) == 2, f"page {number}"


def _cell_need(value: Any, style_font: str = "Helvetica") -> float:
    if isinstance(value, Paragraph):
        return float(value.minWidth())
    if isinstance(value, list):
        return max((_cell_need(v) for v in value), default=0.0)
    if isinstance(value, str):
        return stringWidth(value, style_font, pdf_mod._BODY)
    return 0.0


def test_no_table_or_cell_is_wider_than_its_room(demo: tuple[Any, Report]) -> None:
    """Every flowable fits the frame, and every cell's text fits its column: a word or a
    number wider than its cell would be cut or run into the next."""
    report = suppress_report(demo[1], 5)
    story = pdf_mod._story(report, 5, pdf_mod._styles(), None)
    flat: list[Any] = []
    for flowable in story:  # what KeepTogether holds, and never the contents' placeholder
        flat += flowable._content if isinstance(flowable, KeepTogether) else [flowable]
    checked = 0
    frame_w, frame_h = pdf_mod.FRAME_W, pdf_mod.FRAME_H
    for flowable in flat:
        if isinstance(flowable, NextPageTemplate):  # landscape pages have a wider frame
            wide = flowable.action[1] == "landscape"
            frame_w, frame_h = ((pdf_mod.WIDE_FRAME_W, pdf_mod.WIDE_FRAME_H) if wide
                                else (pdf_mod.FRAME_W, pdf_mod.FRAME_H))
        if isinstance(flowable, TableOfContents):
            continue
        width, _ = flowable.wrap(frame_w, frame_h)
        assert width <= frame_w + 0.01, flowable
        if not isinstance(flowable, Table):
            continue
        widths = flowable._colWidths
        for row in flowable._cellvalues:
            spanned = all(v == "" for v in row[1:])
            for index, value in enumerate(row):
                room = (sum(widths) if spanned and index == 0 else widths[index]) - 8
                assert _cell_need(value) <= room + 0.01, (value, room)
                checked += 1
    assert checked > 500


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler's pdftoppm")
def test_every_page_image_leaves_the_margins_blank(pdf: Path, tmp_path: Path) -> None:
    """Each page as a PNG: nothing but white outside the frame, header and footer bands,
    so no table, chart or line of text runs off its frame."""
    dpi = 50
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(tmp_path / "p")],
                   check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == len(PdfReader(pdf).pages)
    px = dpi / 72.0
    side = int((pdf_mod.MARGIN - 3 * mm) * px)  # 17 mm of blank paper each side
    edge = int(6 * mm * px)  # above the header marking and below the footer marking
    for page in pages:
        ink = np.asarray(Image.open(page).convert("L")) < 250
        h, w = ink.shape
        assert ink.any(), page.name
        for name, strip in (("left", ink[:, :side]), ("right", ink[:, w - side:]),
                            ("top", ink[:edge, :]), ("bottom", ink[h - edge:, :])):
            assert not strip.any(), f"{page.name}: ink in the {name} margin"


def test_short_tables_share_a_page_across_sections(tmp_path: Path) -> None:
    """Two sections of one short table each: both on the first page after the contents,
    not a page each."""
    from datetime import UTC, datetime

    def short(figure: str, section: str) -> ReportTable:
        return ReportTable(id=f"t{figure}", figure=figure, caption=f"Short table {figure}",
                           section=section, columns=(Column("a", "A"),
                                                     Column("n", "Number", "count")),
                           rows=({"a": "x", "n": 10}, {"a": "y", "n": 12}))

    meta = ReportMeta(title="T", subtitle="", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                      software_version="0", command="iom-audit report", question_sets=(),
                      samples=(), methods=())
    report = Report(meta, (short("4.1", "One"), short("5.1", "Two")))
    pages = [p.extract_text() or "" for p in
             PdfReader(pdf_mod.write_pdf(report, tmp_path / "r.pdf")).pages]
    assert "Figure 4.1: Short table 4.1" in pages[2]
    assert "Figure 5.1: Short table 5.1" in pages[2]


def test_no_section_heading_is_left_alone_at_the_foot_of_a_page(
        demo: tuple[Any, Report], pdf: Path) -> None:
    pages = [" ".join((p.extract_text() or "").split()) for p in PdfReader(pdf).pages][2:]
    sections = {t.section for t in demo[1].tables}
    for section in sections:
        hits = [p for p in pages if section in p]
        assert hits, section
        for page in hits:  # the heading, then at once its first figure's caption
            assert page.split(section, 1)[1].lstrip().startswith("Figure"), section


@pytest.mark.parametrize("marking, organisation, words", [
    ("X" * 61, "", "--marking is 61 characters long"),
    ("OFFICIAL", "HMI\x07Probation", "--organisation holds a character"),
])
def test_marking_and_organisation_are_checked(demo: tuple[Any, Report], marking: str,
                                              organisation: str, words: str) -> None:
    from audit.errors import UsageError

    with pytest.raises(UsageError, match=words):
        compile_report(demo[0], actor=BUILDER, tables=["index_offence"], marking=marking,
                       organisation=organisation)
