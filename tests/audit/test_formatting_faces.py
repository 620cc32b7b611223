"""The same cells through every face: `iom-audit compare`, the app's comparison screen and
the report (PDF, Markdown, XLSX) print each number by the one rule of audit.formatting.

The data put exact halves where Python's own formatting (half to even on the binary
value, as the faces used to print) gives another text:

- 2.1.1: IOM 17 of 40 and non-IOM 34 of 80, both 42.5%: "43%" (Python: "42%"); the
  difference is exactly zero: "0.0" (a format spec: "+0.0").
- 2.1.2: IOM 10 of 16 = 62.5%: "63%" (Python: "62%"); non-IOM 8 of 16; +12.5 points.
- 2.1.3: nobody answered: the en dash.
- Over the key questions the mean difference is (0 + 12.5) / 2 = 6.25: "+6.3"
  (Python: "+6.2").

Adjusted p-values have no half here; every face must still print them as format_p does.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader

from audit.formatting import format_p
from audit.store.engine import open_database
from cli.app import run

LEAD = "Lee Lead"
DASH = "\u2013"  # the en dash, spelled out: the test states the rule, not the module's constant
Cells = dict[tuple[str, str], str]

# (question, cell) -> text every face must print; p-values are added from the JSON.
EXPECTED: Cells = {
    ("2.1.1", "iom"): "43%", ("2.1.1", "non_iom"): "43%", ("2.1.1", "diff"): "0.0",
    ("2.1.2", "iom"): "63%", ("2.1.2", "non_iom"): "50%", ("2.1.2", "diff"): "+12.5",
    ("2.1.3", "iom"): DASH, ("2.1.3", "non_iom"): DASH, ("2.1.3", "diff"): DASH,
    ("2.1.3", "p_adjusted"): DASH,
    ("key", "mean_diff"): "+6.3",
}
QUESTIONS = ("2.1.1", "2.1.2", "2.1.3")


def _answers() -> list[tuple[str, str, str]]:
    """(case, question, answer): cases C000-C039 are IOM, C040-C119 are not."""
    rows = []
    for i in range(40):
        rows.append((f"C{i:03d}", "2.1.1", "yes" if i < 17 else "no"))
    for i in range(40, 120):
        rows.append((f"C{i:03d}", "2.1.1", "yes" if i < 40 + 34 else "no"))
    for i in range(16):
        rows.append((f"C{i:03d}", "2.1.2", "yes" if i < 10 else "no"))
    for i in range(40, 56):
        rows.append((f"C{i:03d}", "2.1.2", "yes" if i < 40 + 8 else "no"))
    return rows


@pytest.fixture(scope="module")
def faces_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A core inspection of 120 cases imported through the CLI, as a user would."""
    folder = tmp_path_factory.mktemp("faces")
    with (folder / "cases.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_ref", "iom"])
        writer.writerows([f"C{i:03d}", "yes" if i < 40 else "no"] for i in range(120))
    with (folder / "ratings.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case_ref", "question_id", "answer"])
        writer.writerows(_answers())
    db = str(folder / "faces.db")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IOM_AUDIT_INSPECTOR", LEAD)  # runs init, so becomes the lead
        assert run(["--db", db, "init", "-i", "faces", "--kind", "core",
                    "--question-set", "hmip-adult-2018"]) == 0
        assert run(["--db", db, "import", "cases", str(folder / "cases.csv"),
                    "-i", "faces"]) == 0
        assert run(["--db", db, "import", "ratings", str(folder / "ratings.csv"),
                    "-i", "faces"]) == 0
    yield Path(db)


@pytest.fixture(autouse=True)
def as_the_lead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("COLUMNS", "250")  # the whole compare table on one line per row


@pytest.fixture(scope="module")
def expected(faces_db: Path) -> Cells:
    """EXPECTED plus each question's adjusted p-value, by the rule, from the raw JSON."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IOM_AUDIT_INSPECTOR", LEAD)
        out = faces_db.with_name("compare.json")
        assert run(["--db", str(faces_db), "compare", "--json", str(out)]) == 0
    rows = {r["question_id"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["2.1.1"]["groups"]["iom"]["pct"] == 42.5  # the data are what they claim
    assert rows["2.1.1"]["p_adjusted"] is not None  # JSON carries numbers, not text
    p_cells = {(q, "p_adjusted"): format_p(rows[q]["p_adjusted"]) for q in ("2.1.1", "2.1.2")}
    return {**EXPECTED, **p_cells}


# --- the command line ---------------------------------------------------------------------

def cli_cells(db: Path, capsys: pytest.CaptureFixture[str]) -> Cells:
    assert run(["--db", str(db), "compare", "--no-independent-effect"]) == 0
    out = capsys.readouterr().out
    cells: Cells = {}
    for line in out.splitlines():
        parts = [p.strip() for p in line.split("│")]
        if len(parts) > 2 and parts[1] in QUESTIONS:
            # Question, Label, iom, non_iom, Diff pp [95% CI], Test, p, p adj.
            q, _, iom, non_iom, diff, _, _, p_adj = parts[1:9]
            cells.update({(q, "iom"): iom.split(" of ")[0],
                          (q, "non_iom"): non_iom.split(" of ")[0],
                          (q, "diff"): diff.split(" ")[0], (q, "p_adjusted"): p_adj})
    mean = re.search(r"mean difference (\S+) points", out)
    cells[("key", "mean_diff")] = mean.group(1) if mean else "(no summary)"
    return cells


# --- the terminal app ---------------------------------------------------------------------

async def app_cells(db: Path) -> tuple[Cells, str]:
    """The comparison screen's table cells, and its bar chart as text."""
    from textual.widgets import DataTable, Static

    from tui.app import IomAuditApp
    from tui.screens.comparison import ComparisonScreen
    from tui.widgets.bar_chart import BarChart

    database = open_database(str(db))
    app = IomAuditApp(database)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause()
            await pilot.press("m")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ComparisonScreen)
            table = screen.query_one("#comparison-table", DataTable)
            cells: Cells = {}
            for q in QUESTIONS:
                for column in ("iom", "non_iom", "diff"):
                    # "43% (17/40)"; a difference may carry " *" for significance
                    cells[(q, column)] = str(table.get_cell(q, column)).split(" ")[0]
                cells[(q, "p_adjusted")] = str(table.get_cell(q, "p"))
            title = str(screen.query_one("#comparison-title", Static).render())
            mean = re.search(r"mean diff\. (\S+) pp", title)
            cells[("key", "mean_diff")] = mean.group(1) if mean else "(no mean)"
            chart = screen.query_one(BarChart).render_chart(width=20).plain
    finally:
        database.dispose()
    return cells, chart


# --- the report -------------------------------------------------------------------------------

REPORT_COLUMNS = {"iom_pct": "iom", "non_iom_pct": "non_iom", "diff_pp": "diff",
                  "p_adjusted": "p_adjusted"}


@pytest.fixture(scope="module")
def report_files(faces_db: Path) -> dict[str, Any]:
    """`iom-audit report` with every output, and the Figure 5.2 table as raw JSON."""
    out = faces_db.parent / "report"
    out.mkdir()  # a file's folder must exist: only a folder named as one is made
    with pytest.MonkeyPatch.context() as env:
        env.setenv("IOM_AUDIT_INSPECTOR", LEAD)
        assert run(["--db", str(faces_db), "report", "--out", str(out / "r.pdf"),
                    "--xlsx", str(out / "r.xlsx"), "--markdown", str(out / "md")]) == 0
        assert run(["--db", str(faces_db), "tables", "--tables", "iom_comparison",
                    "--json", str(out / "t.json")]) == 0
    table = json.loads((out / "t.json").read_text())["tables"][0]
    return {"pdf": out / "r.pdf", "xlsx": out / "r.xlsx", "md": out / "md", "table": table}


def _wanted(table: dict[str, Any]) -> list[tuple[int, str]]:
    """(row index, question id) of the checked rows, from the raw table."""
    return [(i, r["question_id"]) for i, r in enumerate(table["rows"])
            if r["question_id"] in QUESTIONS]


def _mean_from_note(text: str) -> str:
    mean = re.search(r"Mean difference over the key questions: (\S+) percentage points", text)
    return mean.group(1) if mean else "(no note)"


def markdown_cells(files: dict[str, Any]) -> Cells:
    text = next(files["md"].glob("*iom_comparison*.md")).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    rows = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]
    ids = [c["id"] for c in files["table"]["columns"]]
    cells: Cells = {}
    for index, q in _wanted(files["table"]):
        for column_id, name in REPORT_COLUMNS.items():
            cells[(q, name)] = rows[index][ids.index(column_id)]
    cells[("key", "mean_diff")] = _mean_from_note(text)
    return cells


def pdf_cells(files: dict[str, Any]) -> Cells:
    text = " ".join(page.extract_text() for page in PdfReader(files["pdf"]).pages)
    flat = " ".join(text.split())
    table = files["table"]
    ids = [c["id"] for c in table["columns"]]
    numeric = ids[2:]  # after the Standard and Question columns, one token per cell
    cells: Cells = {}
    for index, q in _wanted(table):
        row = table["rows"][index]
        found = re.search(re.escape(f"{row['standard']} {row['question']} ")
                          + " ".join([r"(\S+)"] * len(numeric)), flat)
        assert found, f"no row for {q} in the PDF"
        for column_id, name in REPORT_COLUMNS.items():
            cells[(q, name)] = found.group(numeric.index(column_id) + 1)
    cells[("key", "mean_diff")] = _mean_from_note(flat)
    return cells


def excel_display(value: Any, number_format: str) -> str:
    """What Excel shows for a cell: its value rounded half away from zero at 15 digits."""
    if isinstance(value, str) or value is None:
        return "" if value is None else value

    def shown(number: float, places: str) -> Decimal:
        return Decimal(f"{number:.15g}").quantize(Decimal(places), rounding=ROUND_HALF_UP)

    match number_format:
        case "0%":
            return f"{shown(value * 100, '1')}%"
        case "#,##0":
            return f"{int(shown(value, '1')):,}"
        case "+0.0;-0.0;0.0":  # the section goes by the raw value's sign, as in Excel
            text = f"{abs(shown(value, '0.1'))}"
            return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text
        case '[<0.001]"<0.001";0.000':
            return "<0.001" if value < 0.001 else f"{shown(value, '0.001')}"
        case "0.00":
            return f"{shown(value, '0.01')}"
    raise AssertionError(f"no display rule in this test for {number_format!r}")


def xlsx_cells(files: dict[str, Any]) -> Cells:
    book = openpyxl.load_workbook(files["xlsx"])
    sheet = book["Figure 5.2"]
    table = files["table"]
    ids = [c["id"] for c in table["columns"]]
    # Data start under the label row, whose first cell is the first column's label.
    label_row = next(r for r in range(1, sheet.max_row + 1)
                     if sheet.cell(r, 1).value == table["columns"][0]["label"])
    cells: Cells = {}
    for index, q in _wanted(table):
        for column_id, name in REPORT_COLUMNS.items():
            cell = sheet.cell(label_row + 1 + index, ids.index(column_id) + 1)
            cells[(q, name)] = excel_display(cell.value, cell.number_format)
    notes = " ".join(str(c.value) for row in sheet.iter_rows() for c in row
                     if isinstance(c.value, str))
    cells[("key", "mean_diff")] = _mean_from_note(notes)
    return cells


REPORT_FACES: dict[str, Callable[[dict[str, Any]], Cells]] = {
    "pdf": pdf_cells, "markdown": markdown_cells, "xlsx": xlsx_cells}


# --- the tests ----------------------------------------------------------------------------

def test_compare_prints_the_rule(faces_db: Path, expected: Cells,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_cells(faces_db, capsys) == expected


async def test_the_app_prints_the_rule(faces_db: Path, expected: Cells) -> None:
    cells, chart = await app_cells(faces_db)
    assert cells == expected
    # The bar chart: each group's percentage after its bar, in the question order.
    assert re.findall(r"(\S+%)\n", chart)[:4] == ["43%", "43%", "63%", "50%"]


@pytest.mark.parametrize("face", REPORT_FACES)
def test_the_report_prints_the_rule(face: str, report_files: dict[str, Any],
                                    expected: Cells) -> None:
    assert REPORT_FACES[face](report_files) == expected


async def test_every_face_prints_each_cell_alike(faces_db: Path, expected: Cells,
                                                 report_files: dict[str, Any],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    faces = {"compare": cli_cells(faces_db, capsys), "app": (await app_cells(faces_db))[0],
             **{name: extract(report_files) for name, extract in REPORT_FACES.items()}}
    for key in expected:
        printed = {face: cells.get(key) for face, cells in faces.items()}
        assert len(set(printed.values())) == 1, f"{key} printed differently: {printed}"
