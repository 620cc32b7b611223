"""The PDF: title page, contents with page numbers, figures, footers, methods."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from audit.report.model import Chart, Column, Report, ReportTable
from audit.report.pdf import write_pdf


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, PdfReader, list]:
    from tests.audit.report.conftest import (
        sample_report,  # the report fixture, built once for the module
    )

    report = sample_report()
    calls: list[tuple[int, int, str]] = []
    path = write_pdf(report, tmp_path_factory.mktemp("pdf") / "report.pdf", suppress_below=5,
                     progress=lambda done, total, label: calls.append((done, total, label)))
    return report, PdfReader(path), calls


def _texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_title_page(rendered) -> None:
    report, reader, _ = rendered
    first = _flat(_texts(reader)[0])
    assert report.meta.title in first
    assert "Tables and charts – demonstration data" in first
    assert "Generated 23 November 2026" in first
    assert "Thematic IOM sample (inspection 'demo-thematic') 60" in first
    assert "3,247" in first


def test_every_page_has_a_numbered_footer(rendered) -> None:
    _, reader, _ = rendered
    total = len(reader.pages)
    assert total >= 6
    for number, text in enumerate(_texts(reader), start=1):
        assert f"IOM audit — Integrated Offender Management: joint thematic inspection · " \
               f"page {number} of {total}" in _flat(text)


def test_contents_lists_every_figure_with_the_page_it_is_on(rendered) -> None:
    report, reader, _ = rendered
    texts = [_flat(t) for t in _texts(reader)]
    contents = texts[1]
    assert contents.startswith("Contents")
    outline = {}
    for entry in _walk(reader.outline):
        outline[entry.title] = reader.get_destination_page_number(entry)
    for table in report.tables:
        assert table.title in contents
        page = outline[table.title]
        assert page > 1 and table.title in texts[page], table.title
    assert "Methods" in outline and texts[outline["Methods"]].startswith("Methods")
    # The contents page prints the same page numbers as the PDF outline.
    printed = {int(n) for n in re.findall(r"\.\s+(\d+)", contents)}
    assert {page + 1 for page in outline.values()} <= printed


def _walk(items: list) -> list:
    out = []
    for item in items:
        out.extend(_walk(item) if isinstance(item, list) else [item])
    return out


def test_captions_and_key_numbers(rendered) -> None:
    report, reader, _ = rendered
    text = _flat(" ".join(_texts(reader)))
    for table in report.tables:
        assert f"Figure {table.figure}:" in text
    for number in ("2,976", "78% †", "2,408", "+15.0", "<0.001", "0.112", "44%", "83%"):
        assert number in text
    assert "Shaded cells are also marked †" in text


def test_small_numbers_are_suppressed(rendered) -> None:
    _, reader, _ = rendered
    text = _flat(" ".join(_texts(reader)))
    assert "Low * *" in text and "Police * *" in text
    assert "Education, training and employment * * 47 18%" in text
    assert "* fewer than 5 cases: figures suppressed to protect individuals" in text


def test_hostile_text_prints_as_typed(rendered) -> None:
    _, reader, _ = rendered
    text = _flat(" ".join(_texts(reader)))
    for hostile in ("=cmd|' /C calc'!A0", "<b>unclosed", "Smith & Co", "-2+3", "<font>",
                    "@SUM(A1)", "Typographic ’quotes’ – dash …",
                    "Ratings by site: Smith & Co <b>unclosed | <font>",
                    "Note with <i>markup & ampersand | pipe", "Site <name>"):
        assert hostile in text


def test_methods_page(rendered) -> None:
    report, reader, _ = rendered
    methods = _flat(_texts(reader)[-1])
    assert methods.startswith("Methods")
    for expected in (report.meta.command, "iom-thematic-2019 v1.0", "iom-audit 0.1.0",
                     "2026-11-23T09:30:00", "Counts from 1 to 4 are shown as *",
                     "chi² test", "alpha = 0.05", "Core programme cases with IOM status 3,247"):
        assert expected in methods


def test_progress_is_reported_per_table(rendered) -> None:
    report, _, calls = rendered
    total = len(report.tables) + 1
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert {c[1] for c in calls} == {total}
    assert calls[2][2] == "Figure 4.3"


def test_long_table_repeats_its_header_and_long_charts_split(report: Report,
                                                              tmp_path: Path) -> None:
    table = ReportTable(
        "long", "9.9", "A long table",
        (Column("site", "Site name"), Column("n", "Cases counted", "count"),
         Column("pct", "Sufficient", "pct")),
        tuple({"site": f"Site {i}", "n": 1000 + i, "pct": i % 100} for i in range(150)),
        chart=Chart("hbar", "site", (("pct", "Sufficient"),)))
    reader = PdfReader(write_pdf(replace(report, tables=(table,)), tmp_path / "long.pdf"))
    texts = [_flat(t) for t in _texts(reader)]
    table_pages = [t for t in texts if "Site 1" in t and "(continued): chart" not in t]
    chart_pages = [t for t in texts if "Figure 9.9 (continued): chart" in t]
    assert len(table_pages) >= 3
    assert all("Site name Cases counted Sufficient" in page for page in table_pages)
    assert "Site 149 1,149 49%" in " ".join(table_pages)
    # 150 bars do not fit on a page: the chart continues over pages, each readable.
    assert len(chart_pages) >= 3
    assert all("0% 25% 50% 75% 100%" in page for page in chart_pages)


def test_report_without_tables_or_sections(report: Report, tmp_path: Path) -> None:
    empty = write_pdf(replace(report, tables=()), tmp_path / "empty.pdf")
    assert "Methods" in _flat(" ".join(_texts(PdfReader(empty))))
    bare = replace(report.table("index_offence"), section="")
    reader = PdfReader(write_pdf(replace(report, tables=(bare,)), tmp_path / "bare.pdf"))
    assert "Figure 4.7: Index offences" in _flat(_texts(reader)[1])
