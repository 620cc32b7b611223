"""Identity on SQLite (one machine, one user): what the roles guard, and that every role
given goes through audit/people.py and into the trail.

On SQLite the acting person is IOM_AUDIT_INSPECTOR, else the OS login: a claim the
README and docs/security.md call a guard rail, not security. Within it, the rules are
the same as on PostgreSQL: `--inspector` and an `inspector` column name whose judgement a
row records, only a lead may name someone else, and the trail records both people.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.cases import record_answer
from audit.demo.build import _people
from audit.demo.people import PEOPLE, WHO
from audit.people import add_inspector, identify
from audit.permissions import Actor
from audit.store.engine import Database
from tests.audit.imports.helpers import CASES, cli, new_inspection, write_csv
from tests.helpers import make_inspection

LEAD = "Lee Lead"
IVY = "Ivy Inspector"


def _rows(db: Database, sql: str, **params: object) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def _role_events(db: Database, key: str) -> list[tuple[object, ...]]:
    return _rows(db, "SELECT who, old_value, new_value FROM audit_event WHERE "
                     "entity = 'inspector' AND key = :k ORDER BY id", k=key)


@pytest.fixture
def led(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """An inspection with cases A1-A3, a lead and an inspector (Ivy, who is acting)."""
    new_inspection(sqlite_db)
    add_inspector(sqlite_db, LEAD, "lead", actor=Actor(LEAD))
    add_inspector(sqlite_db, IVY, "inspector", actor=Actor(LEAD))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    assert cli(sqlite_db, "import", "cases", str(write_csv(
        sqlite_db.location.path.parent / "cases.csv", CASES))) == 0  # type: ignore[union-attr]
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", IVY)
    return sqlite_db


def _file(path: Path, inspector: str | None) -> Path:
    header = ["case_ref", "question_id", "answer"] + (["inspector"] if inspector else [])
    rows = [["A1", "2.1.1", "yes"], ["A2", "2.1.1", "no"]]
    return write_csv(path, [header] + [r + ([inspector] if inspector else []) for r in rows])


def test_an_inspector_cannot_attribute_answers_to_another_name(
        led: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(led, "import", "ratings", str(_file(tmp_path / "r.csv", None)),
               "--inspector", LEAD) == 1
    assert "--inspector Lee Lead: only the lead role may import ratings given by others " \
           "(Ivy Inspector has the inspector role)" in capsys.readouterr().err
    assert cli(led, "import", "ratings", str(_file(tmp_path / "c.csv", "root"))) == 1
    err = capsys.readouterr().err
    assert "c.csv:2: column inspector: value 'root': only the lead role may import ratings " \
           "given by others" in err
    assert "c.csv:3: column inspector" in err
    assert _rows(led, "SELECT count(*) FROM answer") == [(0,)]
    assert _rows(led, "SELECT count(*) FROM inspector WHERE name = 'root'") == [(0,)]


def test_an_inspector_imports_under_their_own_name(led: Database, tmp_path: Path) -> None:
    assert cli(led, "import", "ratings", str(_file(tmp_path / "r.csv", IVY)),
               "--rater", "primary") == 0
    assert _rows(led, "SELECT DISTINCT p.name FROM answer a JOIN inspector p ON "
                      "p.id = a.inspector_id") == [(IVY,)]
    assert _rows(led, "SELECT count(*) FROM audit_event WHERE entity = 'rating'") == [(0,)]


def test_a_lead_attributes_answers_and_the_trail_names_both(
        led: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    assert cli(led, "import", "ratings", str(_file(tmp_path / "r.csv", "New Rater"))) == 0
    # One machine, one user: a new name is registered, by the importer, in the trail.
    assert _role_events(led, "New Rater") == [(LEAD, None, "inspector")]
    assert _rows(led, "SELECT DISTINCT who FROM audit_event WHERE entity = 'answer'") == [
        (LEAD,)]
    assert _rows(led, "SELECT who, key, field, new_value FROM audit_event WHERE "
                      "entity = 'rating' ORDER BY key") == [
        (LEAD, "A1/primary", "rated_by", "New Rater"),
        (LEAD, "A2/primary", "rated_by", "New Rater")]
    # Importing the same file again changes nothing, and claims nothing new.
    assert cli(led, "import", "ratings", str(tmp_path / "r.csv")) == 0
    assert _rows(led, "SELECT count(*) FROM audit_event WHERE entity = 'rating'") == [(2,)]


def test_a_first_answer_registers_the_rater_in_the_trail(sqlite_db: Database) -> None:
    case_id = make_inspection(sqlite_db, cases=1)[0]
    add_inspector(sqlite_db, LEAD, "lead", actor=Actor(LEAD))
    record_answer(sqlite_db, case_id, "2.1.1", "yes", actor=Actor("Nell New"),
                  expected_version=1)
    assert _role_events(sqlite_db, "Nell New") == [("Nell New", None, "inspector")]


def test_a_newcomer_cannot_pick_lead_once_there_is_one(sqlite_db: Database) -> None:
    add_inspector(sqlite_db, LEAD, "lead", actor=Actor(LEAD))
    who = identify(sqlite_db, "root", "lead")
    assert (who.actor.name, who.actor.role) == ("root", "inspector")
    assert _role_events(sqlite_db, "root") == [("root", None, "inspector")]


def test_the_demo_registers_its_people_in_the_trail(sqlite_db: Database) -> None:
    with sqlite_db.write() as conn:
        _people(conn)
        _people(conn)  # the second inspection: nothing new
    events = _rows(sqlite_db, "SELECT who, key, new_value FROM audit_event "
                              "WHERE entity = 'inspector' ORDER BY id")
    assert events == [(WHO, name, role) for name, role in PEOPLE]
