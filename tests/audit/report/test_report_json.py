"""The JSON export: raw values, unsuppressed, reproducing the published figures."""

import csv
import io
import json
import math
from dataclasses import replace
from pathlib import Path

from audit.demo import published
from audit.formatting import format_pct
from audit.report.jsonout import report_to_json, write_json
from audit.report.model import Report

REFERENCE = published.FOLDER


def _rows(doc: dict, table_id: str) -> list[dict]:
    return next(t for t in doc["tables"] if t["id"] == table_id)["rows"]


def _reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_shape_and_meta(report: Report) -> None:
    doc = report_to_json(report)
    assert set(doc) == {"meta", "tables"}
    assert doc["meta"]["generated_at"] == "2026-11-23T09:30:00"
    assert doc["meta"]["samples"][1] == {"label": "Core programme cases with IOM status",
                                         "n": 3247}
    table = doc["tables"][2]
    assert {"id", "figure", "caption", "columns", "rows", "notes", "base", "tests"} <= set(table)
    assert table["columns"][1] == {"id": "thematic_n", "label": "Number", "kind": "count",
                                   "group": "Thematic IOM sample"}
    json.dumps(doc, allow_nan=False)  # valid JSON, no NaN


def test_figure_4_3_reproduces_the_published_table(report: Report) -> None:
    rows = _rows(report_to_json(report), "factors_linked")
    for row, ref in zip(rows, _reference("fig4_3_factors_linked.csv"), strict=True):
        assert row["factor"] == ref["label"]
        assert row["thematic_n"] == int(ref["thematic_n"])
        assert format_pct(row["thematic_pct"], percent_sign=False) == ref["thematic_pct"]
        assert row["core_n"] == int(ref["core_iom_n"])
        assert format_pct(row["core_pct"], percent_sign=False) == ref["core_iom_pct"]


def test_figure_4_6_yes_rows_match_the_reference(report: Report) -> None:
    rows = _rows(report_to_json(report), "factors_delivered")
    yes = [r for r in rows if r["answer"] == "Yes"]
    published_pct = [38, 32, 39, 38, 44, 46, 75, 70]  # Figure 4.6, thematic "Yes"
    for row, ref, pct in zip(yes, _reference("fig4_6_factors_delivered.csv"), published_pct,
                             strict=True):
        assert row["thematic_n"] == int(ref["thematic_yes"])
        assert row["core_n"] == int(ref["core_iom_yes"])
        assert format_pct(row["thematic_pct"], percent_sign=False) == str(pct)


def test_figure_5_2_and_raw_counts_stay_unsuppressed(report: Report) -> None:
    doc = report_to_json(report)
    rows = _rows(doc, "iom_comparison")
    assert len(rows) == 14
    assert rows[0]["non_iom_n"] == 2976 and rows[0]["iom_pct"] == 78.0
    # JSON is not a published output: the count of 2 and ETE's 4 stay as they are.
    assert {"category": "Low", "n": 2, "pct": 100 * 2 / 60} in _rows(doc, "profile")
    ete = _rows(doc, "factors_linked")[6]
    assert ete["thematic_n"] == 4
    assert not any("suppressed" in n for t in doc["tables"] for n in t["notes"])


def test_nan_and_inf_become_null(report: Report) -> None:
    table = report.tables[0]
    bad = replace(table, rows=({"category": "x", "n": math.nan, "pct": math.inf},))
    doc = report_to_json(replace(report, tables=(bad,)))
    assert doc["tables"][0]["rows"] == [{"category": "x", "n": None, "pct": None}]


def test_write_json_to_a_path_and_a_stream(report: Report, tmp_path: Path) -> None:
    path = tmp_path / "tables.json"
    write_json(report, path)
    stream = io.StringIO()
    write_json(report, stream)
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(stream.getvalue())
