"""`compare` fits the terminal and offers csv and json on standard output (issue 18)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cli.app import run
from tests.databases import fresh_sqlite
from tests.published import build_published

HEADS = ("iom", "non_iom", "Diff pp [95% CI]", "Test", "p adj.", "Indep. OR")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("fmt") / "p.db"
    database = fresh_sqlite(path)
    build_published(database)
    database.dispose()
    return str(path)


def _out(db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         columns: int, *extra: str) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    capsys.readouterr()
    assert run(["--db", db, "compare", *extra]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", [60, 80, 130])
def test_a_narrow_terminal_gets_every_column_of_every_question(
        db: str, columns: int, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = _out(db, capsys, monkeypatch, columns)
    assert all(len(line) <= columns for line in out.splitlines())
    assert "…" not in out  # nothing cut off
    rows = json.loads(_out(db, capsys, monkeypatch, columns, "--format", "json"))["rows"]
    for head in HEADS:
        assert out.count(f"  {head} ") >= len(rows) or out.count(f"  {head}") >= len(rows)


def test_a_wide_terminal_gets_the_table(db: str, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = _out(db, capsys, monkeypatch, 220)
    header = next(line for line in out.splitlines() if "Question" in line)
    for head in HEADS:
        assert head in header


def test_csv_holds_the_jsons_numbers(db: str, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rows = json.loads(_out(db, capsys, monkeypatch, 80, "--format", "json"))["rows"]
    table = list(csv.DictReader(io.StringIO(_out(db, capsys, monkeypatch, 80, "-f", "csv"))))
    assert [r["question_id"] for r in table] == [r["question_id"] for r in rows]
    for got, want in zip(table, rows, strict=True):
        assert float(got["p_value"]) == pytest.approx(want["p_value"])
        assert int(got["iom_n"]) == want["groups"]["iom"]["n"]
        assert float(got["diff_low"]) == pytest.approx(want["diff_ci"][0])


def test_an_unknown_format_is_one_line(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", db, "compare", "--format", "xml"]) == 1
    assert capsys.readouterr().err.strip() == (
        "Error: --format must be one of table, csv, json, not 'xml'")
