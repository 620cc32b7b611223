"""`report --docx`: every table an editable Word table, read back with python-docx and
compared cell by cell with `tables --json` (issue 17, item 6)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph
from PIL import Image

from audit.permissions import Actor
from audit.report.build import compile_report
from audit.report.charts import table_chart
from audit.report.suppression import suppress_report
from audit.report.text import format_cell
from audit.store.engine import open_database
from cli.app import run
from tests.databases import default_demo

BUILDER = Actor("Demo Builder")
THRESHOLD = 5
MARKING = "OFFICIAL-SENSITIVE"
SUPPRESSIBLE: dict[str, set[str]] = {}
PRINTED: dict[str, list[str]] = {}  # the columns a page shows (the workbook has them all)
CHARTED: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def _as_the_demo_lead() -> Iterator[None]:
    """The CLI acts as IOM_AUDIT_INSPECTOR: the demo made "Demo Builder" its lead."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IOM_AUDIT_INSPECTOR", BUILDER.name)
        yield


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any, dict]]:
    folder = tmp_path_factory.mktemp("docx")
    db = open_database(str(default_demo(folder / "demo.db", BUILDER.name)))
    # Which columns the report suppresses: a fact of the model, which the JSON does not carry.
    report = compile_report(db, actor=BUILDER)
    for table in report.tables:
        SUPPRESSIBLE[table.id] = {c.id for c in table.columns if c.suppressible}
        PRINTED[table.id] = [c.id for c in table.printed().columns]
    # A chart is drawn where its published table still has a bar to draw.
    CHARTED.extend(t.id for t in suppress_report(report, THRESHOLD).tables
                   if table_chart(t, 400))
    db.dispose()
    base = ["--db", str(folder / "demo.db")]
    assert run([*base, "report", "-o", str(folder / "r.pdf"), "--docx", str(folder / "r.docx"),
                "--marking", MARKING, "--organisation", "HM Inspectorate of Probation"]) == 0
    # The tables as published: each withheld cell null and marked primary or secondary.
    assert run([*base, "tables", "--json", str(folder / "t.json"),
                "--suppress-below", str(THRESHOLD)]) == 0
    tables = json.loads((folder / "t.json").read_text(encoding="utf-8"))["tables"]
    yield folder, Document(str(folder / "r.docx")), tables


def _captioned_tables(document: Any) -> dict[str, Table]:
    """Each Word table after a "Heading 2" caption, by the caption's text."""
    out: dict[str, Table] = {}
    caption: str | None = None
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = Paragraph(child, document)
            if paragraph.style is not None and paragraph.style.name == "Heading 2":
                caption = paragraph.text
        elif tag == "tbl" and caption is not None:
            out[caption] = Table(child, document)
            caption = None
    return out


def _row_texts(table: Table, index: int) -> list[str]:
    """A row's cell texts, one per grid column (a merged cell repeats its text)."""
    return [cell.text for cell in table.rows[index].cells]


def test_every_table_matches_tables_json_cell_by_cell(outputs) -> None:
    _, document, tables = outputs
    word = _captioned_tables(document)
    assert len(word) == len(tables) == 17
    compared = starred = 0
    for table in tables:
        grid = word[f"Figure {table['figure']}: {table['caption']}"]
        columns = [c for c in table["columns"] if c["id"] in PRINTED[table["id"]]]
        n_head = 2 if any(c["group"] for c in columns) else 1
        assert len(grid.columns) == len(columns)
        assert len(grid.rows) == n_head + len(table["rows"]), table["id"]
        # the labels' row (an ungrouped column's label cell spans both header rows)
        assert _row_texts(grid, n_head - 1) == [c["label"] for c in columns]
        if n_head == 2:
            assert _row_texts(grid, 0) == [c["group"] or c["label"] for c in columns]
        for r, (row, styles) in enumerate(zip(table["rows"], table["row_styles"] or
                                              [{}] * len(table["rows"]), strict=True)):
            got = _row_texts(grid, n_head + r)
            if "heading" in styles.values():
                text = next(str(row[c["id"]]) for c in columns if row.get(c["id"]))
                assert got == [text] * len(columns)  # one merged cell across the row
                continue
            for column, cell in zip(columns, got, strict=True):
                raw = row[column["id"]]
                shaded = styles.get(column["id"]) == "shade" or styles.get("*") == "shade"
                want = format_cell(raw, column["kind"]) + (" †" if shaded else "")
                if column["id"] in (row.get("suppressed") or {}):
                    # Withheld in the published JSON (primary or secondary): a star here.
                    assert cell.removesuffix(" †") == "*", (table["id"], r, column["id"])
                    assert raw is None
                    starred += 1
                    continue
                assert cell == want, (table["id"], r, column["id"], cell, want)
                # A count below the threshold is never printed as it is.
                if column["kind"] == "count" and isinstance(raw, int) and \
                        0 < raw < THRESHOLD and column["id"] in SUPPRESSIBLE[table["id"]]:
                    pytest.fail(f"{table['id']} row {r} {column['id']}: {raw} printed")
                compared += 1
    assert compared > 750 and starred > 20


def test_docx_and_pdf_print_the_same_cells(outputs) -> None:
    """Every Word table cell of Figure 5.2 and 4.7 appears in the PDF's text of it."""
    from pypdf import PdfReader

    folder, document, _ = outputs
    pdf_text = " ".join(" ".join((p.extract_text() or "").split())
                        for p in PdfReader(folder / "r.pdf").pages)
    word = _captioned_tables(document)
    for caption, grid in word.items():
        if not caption.startswith(("Figure 5.2", "Figure 4.7")):
            continue
        for row in grid.rows:
            for cell in row.cells:
                assert " ".join(cell.text.split()) in pdf_text, (caption, cell.text)


def test_headings_show_in_the_navigation_pane(outputs) -> None:
    _, document, tables = outputs
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    h1 = [t for s, t in styles if s == "Heading 1"]
    h2 = [t for s, t in styles if s == "Heading 2"]
    assert h1[:3] == ["The quality of case work to support desistance",
                      "The quality of work to keep people safe", "Understanding the impact of IOM"]
    assert "Methods" in h1
    for table in tables:
        assert f"Figure {table['figure']}: {table['caption']}" in h2
    assert any(s == "Title" for s, _ in styles)
    assert "HM Inspectorate of Probation" in [t for _, t in styles]


def test_marking_in_header_and_footer(outputs) -> None:
    _, document, _ = outputs
    section = document.sections[0]
    assert MARKING in [p.text for p in section.header.paragraphs]
    assert MARKING in [p.text for p in section.footer.paragraphs]


def test_figures_are_pictures_with_ink(outputs) -> None:
    _, document, _ = outputs
    images = [r.target_part.blob for r in document.part.rels.values()
              if r.reltype.endswith("/image")]
    # one picture for each table with a chart (4.1-4.5, 4.8-4.10 and 5.2; every bar of the
    # demo's 4.7 is suppressed, so it has none)
    assert len(CHARTED) == 9 and "index_offence" not in CHARTED
    assert len(images) == len(document.inline_shapes) == len(CHARTED)
    for blob in images:
        picture = np.asarray(Image.open(io.BytesIO(blob)).convert("L"))
        assert picture.shape[1] > 1000 and (picture < 128).mean() > 0.005


def test_notes_follow_their_table(outputs) -> None:
    _, document, _ = outputs
    texts = [p.text for p in document.paragraphs]
    assert "Base (number of cases): IOM 268; non-IOM 2,978." in texts
    assert "* fewer than 5 cases: figures suppressed to protect individuals" in texts


def test_docx_path_rules_are_the_pdfs(outputs, tmp_path: Path) -> None:
    folder, _, tables = outputs
    base = ["--db", str(folder / "demo.db"), "report", "-o", str(tmp_path / "x.pdf")]
    existing = tmp_path / "old.docx"
    existing.write_bytes(b"keep")
    assert run([*base, "--docx", str(existing)]) == 1
    assert existing.read_bytes() == b"keep" and not (tmp_path / "x.pdf").exists()
    link = tmp_path / "link.docx"
    os.symlink(existing, link)
    assert run([*base, "--docx", str(link), "--force"]) == 1
    assert existing.read_bytes() == b"keep"
    assert run([*base, "--docx", str(tmp_path / "x.doc")]) == 1
    # A missing folder is refused, as for the PDF: a typing mistake makes no folders.
    assert run([*base, "--docx", str(tmp_path / "no" / "such" / "r.docx")]) == 1
    assert not (tmp_path / "no").exists()
    assert run([*base, "--docx", str(tmp_path / "new" / "r.docx")]) == 1
    assert not (tmp_path / "new").exists()
    (tmp_path / "new").mkdir()
    # One table is enough to show the path taken (the whole report is the fixture's).
    assert run([*base, "--docx", str(tmp_path / "new" / "r.docx"), "--tables", "profile"]) == 0
    written = _captioned_tables(Document(str(tmp_path / "new" / "r.docx")))
    profile = next(t["caption"] for t in tables if t["id"] == "profile")
    assert [caption.split(": ", 1)[1] for caption in written] == [profile]
