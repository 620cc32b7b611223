"""Case files allocate: `allocated_to` (a name or initials) and `due_date` columns, a lead's
move like the file's others; every bad cell named by file, row and column; nothing stored
when any row is refused; the version of an allocated case stays."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case, Inspector, table_of
from tests.audit.imports.helpers import dump, new_inspection, write_csv

LEAD, IVY = Actor("Lee Lead"), Actor("Ivy Inspector")


@pytest.fixture
def db(any_db: Database, tmp_path: Path) -> Database:
    """Cases A1 (locked) and A2 (in progress), set up by the lead; Ivy, Bo and Rita."""
    new_inspection(any_db)
    with any_db.write_session() as session:
        session.add_all([Inspector(name=LEAD.name, initials="LL", role="lead"),
                         Inspector(name=IVY.name, initials="II", role="inspector"),
                         Inspector(name="Bo Inspector", initials="BI", role="inspector"),
                         Inspector(name="Rita Research", initials="RR", role="researcher")])
    import_cases(any_db, write_csv(tmp_path / "setup.csv", [
        ["case_ref", "iom"], ["A1", "yes"], ["A2", "no"]]), actor=LEAD)
    with any_db.engine.begin() as conn:
        conn.execute(sa.update(table_of(Case)).where(table_of(Case).c.case_ref == "A1")
                     .values(status="locked"))
    return any_db


def _allocations(db: Database) -> dict[str, tuple[str | None, str | None, int]]:
    case, person = table_of(Case).c, table_of(Inspector)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(case.case_ref, person.c.name, case.due_date, case.version)
                            .outerjoin(person, person.c.id == case.allocated_to)).all()
    return {r[0]: (r[1], r[2].isoformat() if r[2] else None, r[3]) for r in rows}


def _refused(db: Database, path: Path, actor: Actor) -> list[str]:
    before = dump(db)
    with pytest.raises(ImportRejected) as caught:
        import_cases(db, path, actor=actor)
    assert dump(db) == before  # nothing stored, not even a trail event
    return caught.value.lines


def test_a_lead_allocates_new_and_known_cases_by_file(db: Database, tmp_path: Path) -> None:
    version = _allocations(db)["A2"][2]
    summary = import_cases(db, write_csv(tmp_path / "alloc.csv", [
        ["case_ref", "iom", "allocated_to", "due_date"],
        ["A2", "no", "II", "2026-12-15"],
        ["A3", "yes", "Bo Inspector", ""],
        ["A4", "yes", "", ""]]), actor=LEAD)
    assert summary.allocated == 2 and summary.result.created == 2
    found = _allocations(db)
    assert found["A2"] == (IVY.name, "2026-12-15", version)  # the version stays
    assert found["A3"][:2] == ("Bo Inspector", None)
    assert found["A4"][:2] == (None, None)
    # An empty cell keeps the allocation; a due date alone changes only the date.
    again = import_cases(db, write_csv(tmp_path / "again.csv", [
        ["case_ref", "iom", "allocated_to", "due_date"], ["A2", "no", "", "2027-01-04"],
        ["A3", "yes", "", ""]]), actor=LEAD)
    assert again.allocated == 1
    assert _allocations(db)["A2"] == (IVY.name, "2027-01-04", version)
    assert _allocations(db)["A3"][:2] == ("Bo Inspector", None)


def test_bad_cells_are_named_by_file_row_and_column(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [
        ["case_ref", "iom", "allocated_to", "due_date"],
        ["A2", "no", "Nobody Known", ""],
        ["A3", "no", "Rita Research", ""],
        ["A4", "no", "II", "15/12/2026"],
        ["A5", "no", "II\x1b[31m", ""],
        ["A6", "no", "", "2026-12-15"]])
    assert _refused(db, path, LEAD) == [
        f"{path}:2: column allocated_to: value 'Nobody Known': no inspector named or with "
        "the initials 'Nobody Known' (`iom-audit inspectors list` shows who is registered)",
        f"{path}:3: column allocated_to: value 'Rita Research': Rita Research has the "
        "researcher role: cases are allocated to inspectors and leads, who rate them",
        f"{path}:4: column due_date: value '15/12/2026': '15/12/2026' is not a date (write "
        "it as YYYY-MM-DD)",
        f"{path}:5: column allocated_to: value 'II\\x1b[31m': holds a control character "
        "(\\x1b, at character 3): names and case refs may hold only visible characters and "
        "spaces"]
    # Once the names are right, a due date on a case allocated to no one is refused.
    path = write_csv(tmp_path / "due.csv", [["case_ref", "iom", "due_date"],
                                            ["A2", "no", "2026-12-15"]])
    assert _refused(db, path, LEAD) == [
        f"{path}:2: column due_date: value '2026-12-15': case A2 is not allocated: a due "
        "date needs an inspector (allocated_to)"]


def test_a_non_lead_allocating_by_file_is_refused(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ivy.csv", [["case_ref", "iom", "allocated_to"],
                                            ["A2", "no", "Ivy Inspector"]])
    assert _refused(db, path, IVY) == [
        f"{path}:2: column allocated_to: value 'Ivy Inspector': only the lead role may "
        "allocate cases to inspectors (Ivy Inspector has the inspector role)"]
    # A row repeating the stored allocation changes nothing, so it passes for anyone.
    import_cases(db, write_csv(tmp_path / "lead.csv", [["case_ref", "iom", "allocated_to"],
                                                       ["A2", "no", "II"]]), actor=LEAD)
    summary = import_cases(db, path, actor=IVY)
    assert summary.allocated == 0


def test_a_locked_case_is_not_allocated_by_file(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "locked.csv", [["case_ref", "iom", "allocated_to"],
                                               ["A1", "yes", "II"]])
    assert _refused(db, path, LEAD) == [
        f"{path}:2: column allocated_to: value 'II': case A1 is locked: nothing is left to "
        "rate until a lead unlocks it (its allocation can still be cleared)"]


def test_a_ratings_file_gives_an_allocated_case_only_its_inspector_s_answers(
        db: Database, tmp_path: Path) -> None:
    """As in the app: no one else changes the primary rating of an allocated case."""
    import_cases(db, write_csv(tmp_path / "alloc.csv", [["case_ref", "iom", "allocated_to"],
                                                        ["A2", "no", "II"]]), actor=LEAD)
    bo = write_csv(tmp_path / "bo.csv", [["case_ref", "question_id", "answer", "inspector"],
                                         ["A2", "2.1.1", "yes", "Bo Inspector"]])
    lines = _refused_ratings(db, bo, LEAD)  # a lead may attribute answers, not to him
    assert lines == [f"{bo}:2: column inspector: value 'Bo Inspector': case A2 is allocated "
                     "to Ivy Inspector: its primary answers are theirs (this row gives them "
                     "as Bo Inspector's)"]
    own = write_csv(tmp_path / "own.csv", [["case_ref", "question_id", "answer"],
                                           ["A2", "2.1.1", "yes"]])
    assert _refused_ratings(db, own, Actor("Bo Inspector"), inspector="Bo Inspector")
    qa = write_csv(tmp_path / "qa.csv", [["case_ref", "question_id", "answer", "rater"],
                                         ["A2", "2.1.1", "no", "qa"]])
    assert import_ratings(db, qa, actor=Actor("Bo Inspector"),
                          inspector="Bo Inspector").rows == 1  # QA is not the primary
    assert import_ratings(db, own, actor=IVY, inspector=IVY.name).rows == 1


def _refused_ratings(db: Database, path: Path, actor: Actor,
                     inspector: str | None = None) -> list[str]:
    before = dump(db)
    with pytest.raises(ImportRejected) as caught:
        import_ratings(db, path, actor=actor, inspector=inspector)
    assert dump(db) == before
    return caught.value.lines
