"""The CLI foundation: init, info, --version, errors as one line with exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit import __version__
from cli.app import make_app, run


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"iom-audit {__version__}"


@pytest.mark.parametrize("command", [[], ["init"], ["info"], ["compare"], ["report"],
                                     ["tables"], ["question-sets"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(make_app(), [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_init_then_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.db")
    assert run(["--db", db, "init"]) == 0
    assert "Created thematic inspection 'default'" in capsys.readouterr().out
    assert run(["--db", db, "init", "--inspection", "core", "--kind", "core",
                "--question-set", "hmip-adult-2018"]) == 0
    capsys.readouterr()
    assert run(["--db", db, "info"]) == 0
    out = capsys.readouterr().out
    assert "default (thematic; iom-thematic-2019 v1.1)" in out
    assert "core (core; hmip-adult-2018 v1.1)" in out


def test_init_on_postgresql(postgres_empty_url: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    # An empty database, not a copy of the migrated template: init creates the schema.
    assert run(["--db", postgres_empty_url, "init"]) == 0
    assert run(["--db", postgres_empty_url, "info"]) == 0
    assert "default (thematic" in capsys.readouterr().out


def test_environment_names_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_DB", str(tmp_path / "env.db"))
    assert run(["init"]) == 0
    assert (tmp_path / "env.db").exists()


@pytest.mark.parametrize("argv, message", [
    (["init"], "inspection 'default' already exists"),
    (["init", "--inspection", "x", "--kind", "weekly"], "kind must be one of thematic, core"),
    (["init", "--inspection", "y", "--question-set", "nope"], "unknown question set 'nope'"),
    (["compare", "--by", "colour"], "cannot group by 'colour'"),
    (["compare", "--inspection", "missing"], "no inspection named 'missing'"),
    (["report", "--out", "x.txt"], "--out must name a .pdf file"),
])
def test_errors_are_one_line_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         argv: list[str], message: str) -> None:
    db = str(tmp_path / "x.db")
    assert run(["--db", db, "init"]) == 0
    capsys.readouterr()
    assert run(["--db", db, *argv]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["info", "--frobnicate"]) == 1
    assert "No such option" in capsys.readouterr().err


def test_no_inspection_yet_is_explained(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", str(tmp_path / "empty.db"), "compare"]) == 1
    assert "run `iom-audit init` first" in capsys.readouterr().err
