"""`compare --json`: the documented shape, and Figure 5.2 through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.demo.published import rows as read
from cli.app import run
from tests.databases import fresh_sqlite
from tests.published import build_published


@pytest.fixture(scope="module")
def published_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cmp") / "p.db"
    db = fresh_sqlite(path)
    build_published(db)
    db.dispose()
    return str(path)


def _compare(db: str, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert run(["--db", db, "compare", "--by", "iom", "--json", "-", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_shape(published_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = _compare(published_db, capsys)
    assert out["by"] == "iom" and out["levels"] == ["iom", "non_iom"]
    row = out["rows"][0]
    for key in ("question_id", "label", "section", "groups", "diff_pp", "diff_ci", "test",
                "statistic", "p_value", "p_adjusted", "odds_ratio", "or_ci", "significant",
                "independent_effect"):
        assert key in row
    for key in ("yes", "n", "na", "missing", "pct"):
        assert key in row["groups"]["iom"]
    assert set(row["independent_effect"]) >= {"odds_ratio", "ci", "p", "n", "status"}
    assert {"mean_diff_pp", "pooled"} <= set(out["summary"])


def test_figure_5_2_through_the_cli(published_db: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = _compare(published_db, capsys, "--correction", "none")
    rows = {r["question_id"]: r for r in out["rows"]}
    for ref in read("fig5_2_core_iom_vs_non_iom.csv"):
        row = rows[ref["question_id"]]
        assert row["groups"]["iom"]["n"] == int(ref["iom_n"])
        assert row["groups"]["non_iom"]["n"] == int(ref["non_iom_n"])
        assert round(row["groups"]["iom"]["pct"]) == int(ref["iom_pct"])
        assert round(row["groups"]["non_iom"]["pct"]) == int(ref["non_iom_pct"])
        # iom minus non_iom, unrounded, in points
        diff = row["groups"]["iom"]["pct"] - row["groups"]["non_iom"]["pct"]
        assert row["diff_pp"] == pytest.approx(diff)
    assert abs(out["summary"]["mean_diff_pp"] - 10) < 0.5
    assert rows["2.3.2"]["significant"] is False
    assert all(rows[q]["significant"] for q in ("2.1.2", "2.2.2", "2.2.3", "2.3.3", "2.4.1"))


def test_questions_option(published_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = _compare(published_db, capsys, "--questions", "2.1.1,2.3.2",
                   "--no-independent-effect")
    assert [r["question_id"] for r in out["rows"]] == ["2.1.1", "2.3.2"]
    assert out["rows"][0]["independent_effect"] is None


def test_group_by_another_field(published_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", published_db, "compare", "--by", "provider", "--questions", "2.1.1",
                "--json", "-", "--inspection", "core"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["levels"]) == {"crc", "nps"}


def test_table_output(published_db: str, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert run(["--db", published_db, "compare"]) == 0
    out = capsys.readouterr().out
    assert "2.3.2" in out and "of 2,962" in out and "mean difference +9.9" in out


def test_writes_json_file(published_db: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cmp.json"
    assert run(["--db", published_db, "compare", "--json", str(target)]) == 0
    assert json.loads(target.read_text())["by"] == "iom"
