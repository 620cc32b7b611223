"""`iom-audit allocate`: leads give cases to an inspector with a due date; refusals are
one line with exit 1; the result as JSON; the change in `history`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from audit.store.engine import open_database
from audit.store.models import Case, Inspection, Inspector, table_of
from cli.app import run


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> str:
    """`init` by Lee Lead, three cases, an inspector and a researcher."""
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    path = str(tmp_path / "alloc.db")
    assert run(["--db", path, "init", "-i", "insp"]) == 0
    db = open_database(path)
    with db.write_session() as session:
        session.add_all([Inspector(name="Jane Inspector", initials="JI", role="inspector"),
                         Inspector(name="Rita Research", role="researcher")])
        insp = session.exec(select(Inspection).where(Inspection.name == "insp")).one()
        assert insp.id is not None
        session.add_all([Case(inspection_id=insp.id, case_ref=f"C-{i:04d}")
                         for i in range(1, 4)])
    db.dispose()
    capsys.readouterr()
    return path


def _allocations(path: str) -> dict[str, tuple[str | None, str | None, int]]:
    db = open_database(path)
    case, person = table_of(Case).c, table_of(Inspector)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(case.case_ref, person.c.name, case.due_date, case.version)
                            .outerjoin(person, person.c.id == case.allocated_to)).all()
    db.dispose()
    return {r[0]: (r[1], r[2].isoformat() if r[2] else None, r[3]) for r in rows}


def test_a_lead_allocates_and_history_shows_it(db_path: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", db_path, "allocate", "C-0001", "C-0002", "--to", "JI",
                "--due", "2026-12-15"]) == 0
    assert capsys.readouterr().out.strip() == (
        "2 cases of insp allocated to Jane Inspector, due 2026-12-15 (2 changed).")
    assert _allocations(db_path)["C-0001"] == ("Jane Inspector", "2026-12-15", 1)
    assert run(["--db", db_path, "history", "C-0001", "--json", "-"]) == 0
    events = json.loads(capsys.readouterr().out)[0]["events"]
    assert [(e["who"], e["field"], e["old"], e["new"]) for e in events[-2:]] == [
        ("Lee Lead", "allocated_to", None, "Jane Inspector"),
        ("Lee Lead", "due_date", None, "2026-12-15")]


def test_clear_and_json(db_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", db_path, "allocate", "C-0003", "--to", "Jane Inspector",
                "--due", "2026-12-15"]) == 0
    capsys.readouterr()
    assert run(["--db", db_path, "allocate", "C-0003", "--clear", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "inspection": "insp", "allocated_to": None, "due_date": None, "cases": ["C-0003"],
        "changed": 1}
    assert _allocations(db_path)["C-0003"] == (None, None, 1)


@pytest.mark.parametrize("who, argv, message", [
    ("Jane Inspector", ["C-0001", "--to", "JI"], "only the lead role may allocate cases"),
    ("Rita Research", ["C-0001", "--clear"], "only the lead role may allocate cases"),
    ("Lee Lead", ["C-0001", "--to", "Nobody"], "no inspector named or with the initials "
                                               "'Nobody'"),
    ("Lee Lead", ["C-0001", "--to", "Rita Research"], "Rita Research has the researcher role"),
    ("Lee Lead", ["C-0001", "C-0404", "--to", "JI"], "no case C-0404 in inspection 'insp'"),
    ("Lee Lead", ["C-0001", "--to", "JI", "--due", "2026-02-30"], "is not a date"),
    ("Lee Lead", ["C-0001", "--to", "JI", "--clear"], "--clear allocates the cases to no one"),
    ("Lee Lead", ["C-0001"], "give --to NAME"),
    ("Lee Lead", ["C-0001", "--to", "JI", "-i", "nope"], "no inspection named 'nope'"),
])
def test_refusals_are_one_line_and_change_nothing(
        db_path: str, who: str, argv: list[str], message: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", who)
    before = _allocations(db_path)
    assert run(["--db", db_path, "allocate", *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert _allocations(db_path) == before


def test_help_loads_no_heavy_package() -> None:
    from tests.cli.test_lazy_imports import loaded_by

    assert loaded_by(["allocate", "--help"]) == []
