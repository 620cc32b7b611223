"""Figure A4 (inter-rater reliability) in the JSON, the PDF and the workbook, read back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from audit.permissions import Actor
from audit.report.build import compile_report
from audit.report.jsonout import write_json
from audit.report.model import Report
from audit.report.pdf import write_pdf
from audit.report.xlsx import write_xlsx
from audit.store.engine import open_database
from tests.databases import default_demo

BUILDER = Actor("Demo Builder")
STATISTICS = ("agreement", "kappa", "pabak", "ac1", "alpha")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    db = open_database(str(default_demo(tmp_path_factory.mktemp("demo") / "demo.db",
                                        BUILDER.name)))
    yield compile_report(db, actor=BUILDER, tables=["standard_ratings", "reliability"])
    db.dispose()


def test_json_has_every_statistic_with_its_interval(report: Report, tmp_path: Path) -> None:
    write_json(report, tmp_path / "t.json")
    table = next(t for t in json.loads((tmp_path / "t.json").read_text())["tables"]
                 if t["id"] == "reliability")
    ids = [c["id"] for c in table["columns"]]
    for name in STATISTICS:
        assert name in ids and f"{name}_ci" in ids
    assert "prevalence" in ids
    for row in table["rows"]:
        # Every statistic has a value or a reason; an interval too, unless its value is null.
        for name in STATISTICS:
            if row[name] is None:
                assert row["reasons"][name]
            elif row[f"{name}_ci"] is None:
                assert row["reasons"][f"{name}_ci"]
            else:
                low, high = row[f"{name}_ci"]
                assert low <= row[name] <= high or name in ("ac1", "alpha")  # BCa may shift
        if row["kappa_low"] is not None:  # the earlier raw keys stay
            assert [row["kappa_low"], row["kappa_high"]] == row["kappa_ci"]
    perfect = [r for r in table["rows"] if r["agreement"] == 100 and r["kappa"] == 1]
    assert perfect, "the demo has questions the two raters agree on throughout"
    for row in perfect:  # never SE 0 and CI [1, 1]
        assert row["kappa_ci"] is None and "perfect agreement" in row["reasons"]["kappa_ci"]


def test_pdf_puts_the_table_on_landscape_pages_with_every_column(report: Report,
                                                                 tmp_path: Path) -> None:
    reader = PdfReader(write_pdf(report, tmp_path / "r.pdf", suppress_below=5))
    pages = [(p.mediabox.width > p.mediabox.height, " ".join(p.extract_text().split()))
             for p in reader.pages]
    # Numbered as the report numbers it (audit.report.numbering), not by a fixed label.
    a4 = f"Figure {report.table('reliability').figure}:"
    a3 = f"Figure {report.table('standard_ratings').figure}:"
    figure = [i for i, (_, text) in enumerate(pages) if a4 in text and "Krippendorff" in text]
    assert figure
    first = figure[0]
    assert pages[first][0], "the reliability figure is on a landscape page"
    text = pages[first][1]
    for heading in ("Prevalence", "Agreement", "Cohen's kappa", "PABAK", "Gwet's AC1",
                    "Krippendorff's alpha", "95% CI"):
        assert heading in text
    # The ratings figure before it and the methods page after it stay portrait.
    ratings = next(i for i, (_, t) in enumerate(pages) if a3 in t and i > 1)
    assert not pages[ratings][0]
    methods = next(i for i, (_, t) in enumerate(pages) if t.startswith("Methods"))
    assert methods > first and not pages[methods][0]
    overall = next(r for r in report.table("reliability").rows if r["question_id"] == "overall")
    tail = next(t for wide, t in pages if wide and "All key questions" in t)
    # The overall row as printed: e.g. "0.84 [0.74, 0.90]" for PABAK.
    low, high = overall["pabak_ci"]
    assert f"{overall['pabak']:.2f} [{low:.2f}, {high:.2f}]" in tail
    assert "BCa bootstrap" in tail and "Wilson" in tail


def test_workbook_shows_the_columns_and_intervals(report: Report, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", suppress_below=5))
    a4 = f"Figure {report.table('reliability').figure}:"
    ws = next(ws for ws in wb.worksheets if str(ws["A1"].value).startswith(a4))
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    groups = cells[3]
    for heading in ("Prevalence", "Agreement", "Cohen's kappa", "PABAK", "Gwet's AC1",
                    "Krippendorff's alpha"):
        assert heading in groups
    overall = next(r for r in cells if r[0] == "All key questions")
    row = next(r for r in report.table("reliability").rows if r["question_id"] == "overall")
    pabak = groups.index("PABAK")
    assert overall[pabak] == pytest.approx(row["pabak"])
    assert overall[pabak + 1] == f"[{row['pabak_ci'][0]:.2f}, {row['pabak_ci'][1]:.2f}]"
