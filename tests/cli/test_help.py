"""What `--help` shows: flags as flags, every command's help, completion on offer."""

from __future__ import annotations

import pytest

from cli.app import COMMANDS, run

SUBCOMMANDS = [["init"], ["info"], ["compare"], ["report"], ["tables"], ["export"],
               ["import", "cases"], ["import", "ratings"], ["history"], ["verify"],
               ["backup"], ["demo"]]


@pytest.mark.parametrize("args", [[], *SUBCOMMANDS])
def test_flags_show_no_bool_value(args: list[str], capsys: pytest.CaptureFixture[str]
                                  ) -> None:
    assert run([*args, "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--help" in shown
    assert "<bool>" not in shown


def test_root_help_lists_flags_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "--debug" in ln]
    assert lines and "Show tracebacks" in lines[0]


def test_shell_completion_is_offered(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    assert "--install-completion" in capsys.readouterr().out
    assert len(COMMANDS) >= 12


@pytest.mark.parametrize(("args", "says"), [
    (["compare", "--nope"], "No such option: --nope"),
    (["compare", "--by"], "Option '--by' requires an argument"),
    (["report", "--suppress-below", "-1"], "Invalid value for '--suppress-below'"),
    (["nosuchcommand"], "No such command 'nosuchcommand'"),
])
def test_usage_errors_are_one_plain_line(args: list[str], says: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run(args) == 1
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"Error: {says}")
    assert "unexpected problem" not in lines[0] and "Exception" not in lines[0]
    assert "Usage:" not in captured.out + captured.err
