"""`iom-audit question-sets list | show | validate`, through the typer app."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.question_sets import app

runner = CliRunner()
KEY_IDS = ["2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.2.3",
           "2.3.1", "2.3.2", "2.3.3", "2.4.1", "2.4.2", "2.4.3"]
NA_KEYS = {"2.2.3", "2.3.3", "2.4.1", "2.4.2", "2.4.3"}


def test_list_shows_both_sets_with_counts() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:2]): line.split() for line in result.stdout.splitlines()
            if line.strip().startswith(("hmip", "iom-"))}
    assert sorted(rows) == [("hmip-adult-2018", "1.0"), ("hmip-adult-2018", "1.1"),
                            ("iom-thematic-2019", "1.0"), ("iom-thematic-2019", "1.1")]
    for version in ("1.0", "1.1"):
        assert rows["hmip-adult-2018", version][-2:] == ["30", "12"]
        assert rows["iom-thematic-2019", version][-2:] == ["50", "12"]


def show(*args: str) -> list[list[str]]:
    """The rows of `show` as lists of cells (a wide terminal keeps each row on one line)."""
    result = runner.invoke(app, ["show", *args], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return [line.split() for line in result.stdout.splitlines() if line.strip()]


def test_show_lists_the_key_questions_under_their_standards() -> None:
    rows = show("hmip-adult-2018")
    standards = {"2.1": "Assessment", "2.2": "Planning", "2.3": "Implementation",
                 "2.4": "Reviewing", "ro": "Responsible"}
    under: dict[str, list[str]] = {}
    current = None
    for cells in rows:
        if cells[0] in standards and cells[1] == standards[cells[0]]:
            current = cells[0]
        elif cells[0] == "★":
            assert current is not None
            under.setdefault(current, []).append(cells[1])
            assert cells[2] == ("yes_no_na" if cells[1] in NA_KEYS else "yes_no")
    assert under == {sid: [k for k in KEY_IDS if k.startswith(sid + ".")]
                     for sid in ("2.1", "2.2", "2.3", "2.4")}
    assert rows[-1][:5] == ["30", "questions,", "12", "key", "(★);"]


def test_show_includes_rules_and_versions() -> None:
    rows = show("iom-thematic-2019", "--version", "1.0")
    recalled = next(r for r in rows if r[0] == "iom.recalled")
    assert recalled[1] == "yes_no"
    assert " ".join(recalled).endswith("case.case_type == 'post_release'")
    delivered = next(r for r in rows if r[0] == "factor.drugs.delivered")
    assert " ".join(delivered).endswith("answers['factor.drugs.linked'] == 'yes'")


@pytest.mark.parametrize(("args", "message"), [
    (["show", "nope"], "error: no question set 'nope'\n"),
    (["show", "hmip-adult-2018", "--version", "9"],
     "error: no version 9 of question set 'hmip-adult-2018' (known: 1.0, 1.1)\n"),
])
def test_errors_are_one_line_on_stderr(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr == message
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_validate_ok(tmp_path: Path) -> None:
    from question_sets.loader import PACKAGE_DIR

    files = [str(PACKAGE_DIR / "hmip-adult-2018-1.1.yaml"),
             str(PACKAGE_DIR / "iom-thematic-2019-1.1.yaml")]
    result = runner.invoke(app, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{files[0]}: ok (30 questions)",
                                          f"{files[1]}: ok (50 questions)"]


def test_validate_prints_every_problem_and_exits_1(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text('id: g\nversion: "1.0"\ntitle: G\nsections:\n  - id: s\n    title: S\n'
                    '    questions:\n      - id: q\n        text: Q?\n        type: yes_no\n')
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("id: g", "id: b").replace(
        "type: yes_no", "type: yes_no\n        applies_when: \"answers['x'] == 'y'\"\n"
        "        colour: red"))
    result = runner.invoke(app, ["validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{good}: ok (1 questions)",
        f"{bad}:12:9: unknown key 'colour'",
    ]
    bad.write_text(bad.read_text().replace("        colour: red\n", ""))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{bad}:11:32: unknown question 'x'"]


def test_validate_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{tmp_path / 'none.yaml'}:1:1: cannot read:")


def test_extra_dir_option(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text('id: extra\nversion: "2.0"\ntitle: Extra\nsections:\n'
                                     '  - id: s\n    title: S\n    questions:\n      - id: q\n'
                                     '        text: Q?\n        type: yes_no\n        key: true\n')
    result = runner.invoke(app, ["list", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"extra\s+2\.0\s+Extra\s+1\s+1", result.stdout)
