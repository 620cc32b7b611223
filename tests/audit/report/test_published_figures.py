"""The compiled report reproduces the published figures of seed 002 from case-level data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from audit.demo.published import OFFENCE_CODES
from audit.demo.published import rows as read
from audit.store.engine import Database
from cli.app import run
from tests.databases import fresh_sqlite
from tests.published import build_published


def published_round(value: float) -> int:
    """Round half up, as the publication does."""
    return int(Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Path]]:
    path = tmp_path_factory.mktemp("published") / "published.db"
    db = fresh_sqlite(path)
    build_published(db)
    yield db, path
    db.dispose()


@pytest.fixture(scope="module")
def tables(published: tuple[Database, Path],
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    _, path = published
    out = tmp_path_factory.mktemp("json") / "tables.json"
    assert run(["--db", str(path), "tables", "--json", str(out)]) == 0
    return {t["id"]: t for t in json.loads(out.read_text())["tables"]}


def test_json_has_the_documented_shape(tables: dict[str, dict]) -> None:
    for table in tables.values():
        assert {"id", "figure", "caption", "columns", "rows", "notes"} <= set(table)
        ids = {c["id"] for c in table["columns"]}
        for row in table["rows"]:
            assert isinstance(row, dict)
            assert set(row) & ids or not row


def test_figure_4_3_factors_linked(tables: dict[str, dict]) -> None:
    table = tables["factors_linked"]
    assert table["figure"] == "4.3"
    rows = {r["factor"]: r for r in table["rows"]}
    for ref in read("fig4_3_factors_linked.csv"):
        row = rows[ref["label"]]
        assert row["thematic_n"] == int(ref["thematic_n"])
        assert published_round(row["thematic_pct"]) == int(ref["thematic_pct"])
        assert row["core_iom_n"] == int(ref["core_iom_n"])
        assert published_round(row["core_iom_pct"]) == int(ref["core_iom_pct"])


def test_figure_4_6_factors_delivered(tables: dict[str, dict]) -> None:
    table = tables["factors_delivered"]
    assert table["figure"] == "4.6"
    by_factor: dict[str, dict[str, dict]] = {}
    for row in table["rows"]:
        if "factor" in row:
            by_factor.setdefault(row["factor"], {})[row["answer"]] = row
    linked_labels = {r["factor"]: r["label"] for r in read("fig4_3_factors_linked.csv")}
    for ref in read("fig4_6_factors_delivered.csv"):
        rows = by_factor[linked_labels[ref["factor"]]]
        for sample in ("thematic", "core_iom"):
            yes, no = int(ref[f"{sample}_yes"]), int(ref[f"{sample}_no"])
            assert rows["Yes"][f"{sample}_n"] == yes
            assert rows["No"][f"{sample}_n"] == no
            assert published_round(rows["Yes"][f"{sample}_pct"]) == published_round(
                100 * yes / (yes + no))


def test_figure_4_7_index_offence(tables: dict[str, dict]) -> None:
    table = tables["index_offence"]
    from question_sets.profile import INDEX_OFFENCE

    rows = {r["offence"]: r for r in table["rows"]}
    for ref in read("fig4_7_index_offence.csv"):
        row = rows[INDEX_OFFENCE[OFFENCE_CODES[ref["offence"]]]]
        assert row["n"] == int(ref["number"])
        assert published_round(row["pct"]) == int(ref["percentage"])
    assert rows["Total"]["n"] == 59


def test_figure_5_1_outcomes(tables: dict[str, dict]) -> None:
    rows = [r for r in tables["outcomes"]["rows"] if "question_id" in r]
    got = {(r["question_id"].split(".")[1], r["code"]): r for r in rows}
    codes = {"reduced": "reduced", "stayed_the_same": "same", "increased": "increased",
             "yes": "yes", "no": "no"}
    for ref in read("fig5_1_outcomes.csv"):
        row = got[(ref["question"], codes[ref["answer"]])]
        assert row["n"] == int(ref["number"])
        assert published_round(row["pct"]) == int(ref["percentage"])


def test_figure_5_2_iom_comparison(tables: dict[str, dict]) -> None:
    table = tables["iom_comparison"]
    rows = {r["question_id"]: r for r in table["rows"]}
    for ref in read("fig5_2_core_iom_vs_non_iom.csv"):
        row = rows[ref["question_id"]]
        assert row["iom_n"] == int(ref["iom_n"])
        assert row["non_iom_n"] == int(ref["non_iom_n"])
        assert published_round(row["iom_pct"]) == int(ref["iom_pct"])
        assert published_round(row["non_iom_pct"]) == int(ref["non_iom_pct"])
    # The published pattern uses unadjusted p: every standards question but 2.3.2.
    assert rows["2.3.2"]["p"] > 0.05
    for qid in ("2.1.2", "2.1.3", "2.2.2", "2.2.3", "2.3.3", "2.4.1", "2.4.2", "2.4.3"):
        assert rows[qid]["p"] < 0.05
    # The comparison covers the core programme only: the thematic sample has no non-IOM cases.
    assert table["base"] == {"iom": 268, "non_iom": 2978}


def test_chapter_4_counts(tables: dict[str, dict]) -> None:
    rows = {r["question_id"]: r for r in tables["iom_module"]["rows"]}
    assert (rows["iom.plan_requirements"]["yes"], rows["iom.plan_requirements"]["n"]) == (21, 59)
    assert (rows["iom.reasons_known"]["yes"], rows["iom.reasons_known"]["n"]) == (43, 59)
    assert (rows["iom.review_adjusted"]["yes"], rows["iom.review_adjusted"]["n"]) == (33, 55)
    assert rows["iom.review_adjusted"]["na"] == 4


def test_json_keeps_small_counts(tables: dict[str, dict]) -> None:
    rows = {r["factor"]: r for r in tables["factors_linked"]["rows"]}
    assert rows["Education, training and employment"]["thematic_n"] == 4


@pytest.fixture(scope="module")
def rendered(published: tuple[Database, Path],
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    _, path = published
    out = tmp_path_factory.mktemp("report")
    code = run(["--db", str(path), "report", "--out", str(out / "report.pdf"),
                "--xlsx", str(out / "report.xlsx"), "--markdown", str(out / "md")])
    assert code == 0
    return {"pdf": out / "report.pdf", "xlsx": out / "report.xlsx", "md": out / "md"}


def test_pdf_holds_every_caption_and_key_numbers(rendered: dict[str, Path],
                                                 tables: dict[str, dict]) -> None:
    text = "\n".join(page.extract_text() for page in PdfReader(rendered["pdf"]).pages)
    flat = " ".join(text.split())
    for table in tables.values():
        assert f"Figure {table['figure']}" in flat
        assert " ".join(table["caption"].split())[:60] in flat
    for number in ("2,976", "2,978", "78%", "268", "Methods", "page 1 of"):
        assert number in flat


def test_published_outputs_suppress_small_counts(rendered: dict[str, Path]) -> None:
    wb = openpyxl.load_workbook(rendered["xlsx"])
    sheet = next(ws for ws in wb.worksheets if "4.3" in str(ws["A1"].value))
    ete = next(row for row in sheet.iter_rows(values_only=True)
               if row and row[0] == "Education, training and employment")
    assert "*" in ete and 4 not in ete
    md = next(p for p in rendered["md"].glob("*factors_linked*.md")).read_text()
    ete_line = next(line for line in md.splitlines() if "Education, training" in line)
    assert "*" in ete_line and "| 4 |" not in ete_line
