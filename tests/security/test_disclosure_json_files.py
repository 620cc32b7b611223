"""The JSON files of `compare` and `history`, and a purge's snapshot, are placed as
disclosures are: a planted link is never followed, an existing file needs --force.

Why (issue 15): "Exports and `report --xlsx` follow a planted symlink and overwrite its
target", "Existing files are overwritten silently" - the same held for these files
(`history --json` carries notes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.store.engine import Database
from tests.audit.imports.helpers import cli, populated
from tests.security.disclosure_kit import leftovers, outside_file

PRECIOUS = "precious: not yours to overwrite\n"


@pytest.fixture
def db(sqlite_db: Database, tmp_path: Path) -> Database:
    populated(sqlite_db, tmp_path)
    return sqlite_db


def _ref(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.exec_driver_sql('SELECT case_ref FROM "case" ORDER BY id').scalar())


def _commands(db: Database, target: Path) -> dict[str, list[str]]:
    return {"compare": ["compare", "--by", "iom", "--json", str(target)],
            "history": ["history", _ref(db), "--json", str(target)]}


@pytest.mark.parametrize("command", ["compare", "history"])
@pytest.mark.parametrize("force", [False, True])
def test_a_planted_link_is_refused(db: Database, tmp_path: Path, command: str, force: bool,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    victim = outside_file(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "result.json").symlink_to(victim)
    capsys.readouterr()
    args = _commands(db, out / "result.json")[command] + (["--force"] if force else [])
    assert cli(db, *args) == 1
    err = capsys.readouterr().err
    assert "symbolic link: refused" in err and err.count("\n") == 1
    assert victim.read_text() == PRECIOUS
    assert leftovers(out) == []


@pytest.mark.parametrize("command", ["compare", "history"])
def test_an_existing_file_needs_force(db: Database, tmp_path: Path, command: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "result.json"
    target.write_text(PRECIOUS)
    assert cli(db, *_commands(db, target)[command]) == 1
    assert "exists: choose another name or add --force" in capsys.readouterr().err
    assert target.read_text() == PRECIOUS
    assert cli(db, *_commands(db, target)[command], "--force") == 0
    assert json.loads(target.read_text())  # replaced by the whole JSON
    assert leftovers(tmp_path) == []


def test_purge_refuses_a_snapshot_name_that_exists_before_removing_anything(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = outside_file(tmp_path)
    link = tmp_path / "snapshot.json"
    link.symlink_to(victim)
    assert cli(db, "purge", "--inspection", "thematic", "--yes", "--snapshot", str(link)) == 1
    assert "nothing was purged" in capsys.readouterr().err
    assert victim.read_text() == PRECIOUS
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql('SELECT COUNT(*) FROM "case"').scalar() > 0
    fresh = tmp_path / "fresh.json"
    assert cli(db, "purge", "--inspection", "thematic", "--yes", "--snapshot", str(fresh)) == 0
    assert json.loads(fresh.read_text())["tables"]
