"""The workbook: contents, one sheet per table, numbers as numbers, no formulas."""

import zipfile
from pathlib import Path

import openpyxl
import pytest

from audit.report.model import Report
from audit.report.xlsx import write_xlsx


@pytest.fixture
def workbook(report: Report, tmp_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", suppress_below=5))


def _values(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def test_sheets_contents_links_and_methods(report: Report, workbook) -> None:
    assert workbook.sheetnames == ["Contents", "Figure A2.1", "Figure A2.2", "Figure 4.3",
                                   "Figure 4.6", "Figure 4.7", "Figure 5.2", "Methods"]
    contents = workbook["Contents"]
    links = [c.hyperlink.location for row in contents.iter_rows() for c in row if c.hyperlink]
    assert links == [f"'{name}'!A1" for name in workbook.sheetnames[1:]]
    methods = [v for row in _values(workbook["Methods"]) for v in row if v]
    assert report.meta.command in methods
    assert "iom-thematic-2019 v1.0, core-2018 v2.1" in methods


def test_table_sheet_layout_and_number_formats(workbook) -> None:
    ws = workbook["Figure 4.3"]
    assert ws["A1"].value == "Figure 4.3: The factors most linked to the service user’s offending"
    assert ws["A1"].font.bold
    assert "B4:C4" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["B4"].value == "Thematic IOM sample"
    assert [c.value for c in ws[5]] == ["Factor", "Number", "Percentage", "Number", "Percentage"]
    assert ws["B6"].value == 26 and ws["B6"].number_format == "#,##0"
    assert ws["C6"].value == pytest.approx(26 / 59) and ws["C6"].number_format == "0%"
    p = workbook["Figure 5.2"]
    assert p["G6"].value == pytest.approx(0.0004) and "<0.001" in p["G6"].number_format
    assert p["F6"].value == 7.0 and p["F6"].number_format.startswith("+0.0")


def test_suppressed_cells_show_a_star_with_the_note(workbook) -> None:
    rows = _values(workbook["Figure A2.1"])
    low = next(r for r in rows if r[0] == "Low")
    assert low == ("Low", "*", "*")
    assert any(r[0] and "fewer than 5 cases" in r[0] for r in rows)


def test_shading_and_heading_rows(workbook) -> None:
    ws = workbook["Figure 5.2"]
    assert ws["D6"].fill.fgColor.rgb.endswith("C6EFCE")  # 78%, shaded
    assert not ws["D9"].fill.fgColor.rgb.endswith("C6EFCE")  # 72%, not shaded
    delivered = workbook["Figure 4.6"]
    assert delivered["A6"].value == "a) Attitudes to offending" and delivered["A6"].font.bold


def test_no_formula_cells_and_hostile_text_neutralised(report: Report, tmp_path: Path) -> None:
    path = write_xlsx(report, tmp_path / "r.xlsx", suppress_below=5)
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    sites = [r[0] for r in _values(book["Figure A2.2"])[4:12]]
    assert sites[0] == "'=cmd|' /C calc'!A0"
    assert sites[3] == "'-2+3"
    assert sites[6] == "'@SUM(A1)"
    assert "Smith & Co" in sites and "<b>unclosed" in sites
    # No <f> element anywhere in the package: nothing Excel would evaluate.
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in package.read(name) and b"<f " not in package.read(name)


def test_raw_counts_when_suppression_is_off(report: Report, tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", suppress_below=0))
    low = next(r for r in _values(book["Figure A2.1"]) if r[0] == "Low")
    assert low[1] == 2
