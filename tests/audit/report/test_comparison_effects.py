"""Figure 5.2's effect sizes in the workbook (read back with openpyxl) against scipy, kept
off the PDF page; and, with three or more groups, the note naming the pairs that differ."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from scipy.stats.contingency import odds_ratio, relative_risk

from audit.formatting import format_p
from audit.report.registry import REGISTRY
from audit.report.tables import iom_comparison_table
from audit.store.engine import Database
from cli.app import run
from question_sets.loader import load_set
from stats import compare_groups
from tests.databases import fresh_sqlite
from tests.published import build_published


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    out = tmp_path_factory.mktemp("effects")
    db: Database = fresh_sqlite(out / "p.db")
    build_published(db)
    db.dispose()
    assert run(["--db", str(out / "p.db"), "report", "--out", str(out / "r.pdf"),
                "--xlsx", str(out / "r.xlsx")]) == 0
    assert run(["--db", str(out / "p.db"), "tables", "--json", str(out / "t.json")]) == 0
    yield {"pdf": out / "r.pdf", "xlsx": out / "r.xlsx", "json": out / "t.json"}


def _sheet_rows(path: Path) -> tuple[list[str], list[tuple]]:
    ws = openpyxl.load_workbook(path)["Figure 5.2"]
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Standard")
    body = [r for r in rows[header_at + 1:] if r and isinstance(r[2], float | int)]
    return list(rows[header_at]), body


def test_workbook_effect_sizes_equal_scipy(rendered: dict[str, Path]) -> None:
    header, body = _sheet_rows(rendered["xlsx"])
    for label in ("Odds ratio", "Risk ratio", "RR 95% CI low", "RR 95% CI high", "Cohen's h",
                  "Difference 95% CI low"):
        assert label in header
    col = {label: header.index(label) for label in header if label}
    tables = json.loads(rendered["json"].read_text())["tables"]
    published = next(t for t in tables if t["id"] == "iom_comparison")["rows"]
    assert len(body) == len(published) == 14
    for cells, row in zip(body, published, strict=True):
        n1, n2 = row["iom_n"], row["non_iom_n"]
        y1, y2 = round(row["iom_pct"] * n1 / 100), round(row["non_iom_pct"] * n2 / 100)
        rr = relative_risk(y1, n1, y2, n2)
        assert cells[col["Risk ratio"]] == pytest.approx(rr.relative_risk, rel=1e-12)
        low, high = rr.confidence_interval(0.95)
        assert cells[col["RR 95% CI low"]] == pytest.approx(low, rel=1e-10)
        assert cells[col["RR 95% CI high"]] == pytest.approx(high, rel=1e-10)
        table = np.array([[y1, n1 - y1], [y2, n2 - y2]])
        assert cells[col["Odds ratio"]] == pytest.approx(
            odds_ratio(table, kind="sample").statistic, rel=1e-12)
        assert cells[col["Cohen's h"]] == pytest.approx(
            2 * math.asin(math.sqrt(y1 / n1)) - 2 * math.asin(math.sqrt(y2 / n2)), abs=1e-12)
        # The JSON stays raw and carries them too.
        assert row["risk_ratio"] == pytest.approx(rr.relative_risk, rel=1e-12)
    ws = openpyxl.load_workbook(rendered["xlsx"])["Figure 5.2"]
    formats = {c.number_format for r in ws.iter_rows() for c in r
               if c.column == col["Risk ratio"] + 1 and isinstance(c.value, float)}
    assert formats == {"0.00"}


def test_pdf_page_keeps_the_published_columns(rendered: dict[str, Path]) -> None:
    text = " ".join(" ".join(page.extract_text() for page in
                             PdfReader(rendered["pdf"]).pages).split())
    assert "Figure 5.2" in text and "p (adjusted)" in text
    assert "RR 95% CI" not in text and "OR 95% CI" not in text
    assert "Effect sizes (in the workbook)" in text  # the note says where they are


def test_three_groups_name_the_pairs_that_differ() -> None:
    data = {"Leeds": (160, 40), "Sheffield": (120, 80), "York": (110, 90)}
    groups, answers = [], []
    for level, (yes, no) in data.items():
        groups += [level] * (yes + no)
        answers += ["yes"] * yes + ["no"] * no
    qs = load_set("hmip-adult-2018")
    qid = next(q.id for q in qs.questions if q.key)
    result = compare_groups(pd.DataFrame({"site": groups, qid: answers}), "site", [qid],
                            levels=tuple(data), independent_effect=False)
    entry = next(e for e in REGISTRY if e.id == "iom_comparison")
    table = iom_comparison_table(entry, result, qs)
    pairs = {(p.a, p.b): p for p in result.row(qid).pairwise}
    note = next(n for n in table.notes if n.startswith("Pairs of groups that differ"))
    for (a, b), pair in pairs.items():
        phrase = f"{a} > {b} (p adj. {format_p(pair.p_adjusted)})"
        assert (phrase in note) is bool(pair.significant), phrase
    assert "Sheffield > York" not in note and "Leeds > York" in note
    assert not any(n.startswith("Effect sizes") for n in table.notes)
