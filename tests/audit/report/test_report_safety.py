"""Small-number suppression and spreadsheet-injection defence."""

import pandas as pd

from audit.cell_safety import neutralise, neutralise_frame
from audit.report.model import Column, Report, ReportTable
from audit.report.suppression import SUPPRESSED, suppress, suppress_report, suppression_note


def _table() -> ReportTable:
    return ReportTable(
        "t", "1", "c",
        (Column("label", "Label"), Column("n", "N", "count", suppressible=True),
         Column("pct", "%", "pct", suppressible=True, count_of="n"),
         Column("other", "Other", "count")),
        ({"label": "a", "n": 2, "pct": 3.3, "other": 1},
         {"label": "b", "n": 0, "pct": 0.0, "other": 2},
         {"label": "c", "n": 5, "pct": 8.3, "other": 3},
         {"label": "d", "n": 4, "pct": 6.7, "other": 4}),
    )


def test_small_counts_and_their_percentages_become_stars() -> None:
    out = suppress(_table(), 5)
    assert [r["n"] for r in out.rows] == [SUPPRESSED, 0, 5, SUPPRESSED]
    assert [r["pct"] for r in out.rows] == [SUPPRESSED, 0.0, 8.3, SUPPRESSED]
    assert [r["other"] for r in out.rows] == [1, 2, 3, 4]  # not suppressible
    assert out.notes == (suppression_note(5),)
    assert suppression_note(5) == (
        "* fewer than 5 cases: figures suppressed to protect individuals")


def test_suppression_is_pure_and_the_note_is_added_once() -> None:
    table = _table()
    twice = suppress(suppress(table, 5), 5)
    assert twice.notes.count(suppression_note(5)) == 1
    assert table.rows[0]["n"] == 2  # the input is untouched


def test_nothing_to_suppress_leaves_the_table_alone() -> None:
    table = _table()
    assert suppress(table, 2) is table  # no count is 0 < n < 2
    assert suppress(table, 0) is table
    assert suppress(table, None) is table
    assert suppress(table, 3).rows[0]["n"] == SUPPRESSED


def test_suppress_report_covers_every_table() -> None:
    report = Report(meta=None, tables=(_table(), _table()))  # type: ignore[arg-type]
    assert all(t.rows[0]["n"] == SUPPRESSED for t in suppress_report(report, 5).tables)


def test_neutralise_prefixes_formula_triggers_only() -> None:
    for text in ("=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx"):
        assert neutralise(text) == "'" + text
    for text in ("Smith & Co", "<b>unclosed", "", "a=b", "’quoted’"):
        assert neutralise(text) == text


def test_neutralise_frame_touches_text_not_numbers() -> None:
    frame = pd.DataFrame({"site": ["=HYPERLINK(\"x\")", "Leeds"], "n": [-2, 3],
                          "=bad": ["ok", "@x"]})
    out = neutralise_frame(frame)
    assert out["site"].tolist() == ["'=HYPERLINK(\"x\")", "Leeds"]
    assert out["n"].tolist() == [-2, 3]
    assert list(out.columns) == ["site", "n", "'=bad"]
    assert out["'=bad"].tolist() == ["ok", "'@x"]
    assert frame["site"][0].startswith("=")  # the input is untouched


def test_a_percentage_is_never_suppressed_for_its_own_size() -> None:
    table = ReportTable("t", "1", "c",
                        (Column("pct", "%", "pct", suppressible=True),
                         Column("pp", "pp", "pp", suppressible=True)),
                        ({"pct": 3.0, "pp": 2.0},))
    assert suppress(table, 5) is table
