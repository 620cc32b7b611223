"""Ways round issue 15's rules that a red-team trial of the merged work found, now refused.

- `IOM_AUDIT_INSPECTOR` was taken as typed: "Birch\\u200b", "Birch " or "Birch\\x1b[2K"
  became new people beside Birch (whose blind QA of Birch's own case then counted as
  independent), and an escape sequence in a name rewrote lines of `history`.
- `--reopen-reason` kept escape and bidi characters, which `history` printed raw.
- `verify --json FILE` followed a planted link and overwrote an existing file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.errors import UsageError
from audit.identity import current_user
from audit.lifecycle import clean_reason
from audit.store.engine import Database
from tests.audit.imports.helpers import cli, populated
from tests.security.disclosure_kit import outside_file

PRECIOUS = "precious: not yours to overwrite\n"


@pytest.mark.parametrize("typed", ["Demo Inspector Birch\u200b", "Demo Inspector Birch\x01",
                                   "Demo Inspector Birch\x1b[2K", "Demo\u202eInspector"])
def test_a_hidden_character_in_the_environment_name_is_refused(
        typed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", typed)
    with pytest.raises(UsageError, match="IOM_AUDIT_INSPECTOR"):
        current_user()


@pytest.mark.parametrize("typed", [" Demo Inspector Birch ", "Demo  Inspector Birch",
                                   "Demo\u00a0Inspector Birch"])
def test_the_environment_name_is_the_same_person_however_spaced(
        typed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", typed)
    assert current_user() == "Demo Inspector Birch"


def test_the_command_line_refuses_a_hidden_character_in_the_acting_name(
        sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path)
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Ann Inspector\u200b")
    capsys.readouterr()
    assert cli(sqlite_db, "history", "C-0001") == 1
    err = capsys.readouterr().err
    assert "IOM_AUDIT_INSPECTOR" in err and "U+200B" in err and err.count("\n") == 1


@pytest.mark.parametrize("reason", ["ok \x1b[2K\x1b[1Ahidden", "wrong case\u202e",
                                    "typo\u200b"])
def test_a_reason_with_control_or_invisible_characters_is_refused(reason: str) -> None:
    with pytest.raises(UsageError, match="the reason"):
        clean_reason(reason)


def test_a_reason_is_kept_as_one_trimmed_line() -> None:
    assert clean_reason("  wrong\n site\trecorded ") == "wrong site recorded"


def test_verify_json_refuses_a_planted_link_and_an_existing_file(
        sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path)
    victim = outside_file(tmp_path)
    link = tmp_path / "v.json"
    link.symlink_to(victim)
    capsys.readouterr()
    assert cli(sqlite_db, "verify", "--json", str(link), "--force") == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert victim.read_text() == PRECIOUS
    existing = tmp_path / "existing.json"
    existing.write_text(PRECIOUS)
    assert cli(sqlite_db, "verify", "--json", str(existing)) == 1
    assert existing.read_text() == PRECIOUS
    assert cli(sqlite_db, "verify", "--json", str(existing), "--force") == 0
    assert json.loads(existing.read_text())  # replaced by the whole JSON
