"""The command line prints names, refs, sites and inspections as typed: `[/b]` in a site
name is text, and used to stop `info`, `history` and `compare` with a MarkupError."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.app import run

NAME, SITE, REF, INSPECTION = "Zed [/i]", "Leeds[/i]", "AAA[/b]1", "insp [/b]"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", NAME)
    path = str(tmp_path / "hostile.db")
    cases = tmp_path / "cases.csv"
    cases.write_text(f"case_ref,iom,site\n{REF},yes,{SITE}\nB2,no,York\n", encoding="utf-8")
    assert run(["--db", path, "init", "-i", INSPECTION]) == 0
    assert run(["--db", path, "import", "cases", str(cases)]) == 0
    return path


@pytest.mark.parametrize("argv, shown", [
    (["info"], (INSPECTION, SITE)),
    (["history", REF], (REF, SITE, NAME)),
    (["compare", "--by", "site", "--no-independent-effect"], (SITE,)),
    (["inspectors", "list"], (NAME,)),
])
def test_hostile_text_is_printed_as_typed(db: str, argv: list[str], shown: tuple[str, ...],
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    assert run(["--db", db, *argv]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    for text in shown:
        assert text in out
