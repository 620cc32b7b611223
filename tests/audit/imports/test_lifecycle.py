"""A file is refused what the app refuses: QA-checking and locking by a non-lead, moves
the lifecycle does not have, moving back or unlocking without a reason, and any change
to a locked case. The words are the app's, row by row; nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from audit import cases
from audit.errors import PermissionDenied
from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.rules import rule_case
from audit.store.engine import Database
from audit.store.models import Inspector
from question_sets import load_set
from tests.audit.imports.helpers import dump, new_inspection, write_csv
from tests.helpers import required_answers

LEAD, INSPECTOR = Actor("Lee Lead"), Actor("Ivy Inspector")
HEADER = ["case_ref", "iom", "rosh", "status"]
PROFILES = {"A1": {"iom": True, "rosh": "high"}, "A2": {"iom": False, "rosh": "low"},
            "A3": {"iom": False, "rosh": "low"}}


def full_ratings(path: Path, refs: list[str]) -> Path:
    """A ratings file answering every required question of these cases."""
    qs = load_set("iom-thematic-2019")
    rows = [["case_ref", "question_id", "answer"]]
    for ref in refs:
        profile = PROFILES[ref]
        for qid, value in required_answers(qs, rule_case(profile, None, "complete")).items():
            rows.append([ref, qid, value])
    return write_csv(path, rows)


@pytest.fixture
def db(any_db: Database, tmp_path: Path) -> Database:
    """Cases A1 (locked), A2 (complete) and A3 (in progress), every one fully answered,
    set up by the lead."""
    new_inspection(any_db)
    with any_db.write_session() as session:
        session.add(Inspector(name=LEAD.name, role="lead"))
        session.add(Inspector(name=INSPECTOR.name, role="inspector"))
    import_cases(any_db, write_csv(tmp_path / "setup.csv", [
        HEADER, ["A1", "yes", "high", "in_progress"], ["A2", "no", "low", "in_progress"],
        ["A3", "no", "low", "in_progress"]]), actor=LEAD)
    import_ratings(any_db, full_ratings(tmp_path / "answers.csv", ["A1", "A2", "A3"]),
                   actor=LEAD)
    import_cases(any_db, write_csv(tmp_path / "lock.csv", [
        HEADER, ["A1", "yes", "high", "locked"], ["A2", "no", "low", "complete"]]), actor=LEAD)
    return any_db


def _refused(db: Database, path: Path, actor: Actor, ratings: bool = False,
             reason: str | None = None) -> list[str]:
    before = dump(db)
    with pytest.raises(ImportRejected) as caught:
        (import_ratings if ratings else import_cases)(db, path, actor=actor,
                                                      reopen_reason=reason)
    assert dump(db) == before  # nothing stored, not even a trail event
    return caught.value.lines


def _statuses(db: Database) -> dict[str, str]:
    with db.engine.connect() as conn:
        return dict(tuple(r) for r in conn.execute(sa.text(
            'SELECT case_ref, status FROM "case" ORDER BY case_ref')))


def test_only_a_lead_locks_unlocks_or_qa_checks_by_file(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "status.csv", [
        HEADER, ["A1", "yes", "high", "in_progress"], ["A2", "no", "low", "qa_checked"],
        ["A3", "no", "low", "locked"]])
    lines = _refused(db, path, INSPECTOR, reason="corrections")
    assert lines == [
        f"{path}:2: column status: value 'in_progress': only the lead role may lock or "
        "unlock cases (Ivy Inspector has the inspector role)",
        f"{path}:3: column status: value 'qa_checked': only the lead role may QA-check cases "
        "(Ivy Inspector has the inspector role)",
        f"{path}:4: column status: value 'locked': only the lead role may lock or unlock "
        "cases (Ivy Inspector has the inspector role)"]
    # A lead may, but unlocking needs a reason, in a file as in the app.
    assert _refused(db, path, LEAD) == [
        f"{path}:2: column status: value 'in_progress': case A1 is locked: unlocking it "
        "needs a reason (give it with --reopen-reason)"]
    summary = import_cases(db, path, actor=LEAD, reopen_reason="corrections")
    assert summary.result.updated == 3
    assert _statuses(db) == {"A1": "in_progress", "A2": "qa_checked", "A3": "locked"}


def test_a_status_the_case_already_has_needs_no_lead(db: Database, tmp_path: Path) -> None:
    same = write_csv(tmp_path / "same.csv", [HEADER, ["A1", "yes", "high", "locked"],
                                             ["A2", "no", "low", "complete"]])
    assert import_cases(db, same, actor=INSPECTOR).result.unchanged == 2


def test_a_locked_case_is_read_only_in_a_case_file(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rosh.csv", [HEADER, ["A1", "yes", "low", ""]])
    for actor in (INSPECTOR, LEAD):  # a lead unlocks first, with a reason, as in the app
        assert _refused(db, path, actor) == [
            f"{path}:2: column case_ref: value 'A1': case A1 is locked: unlocking it needs a "
            "reason (give it with --reopen-reason)"]
    assert _refused(db, path, INSPECTOR, reason="typo") == [
        f"{path}:2: column case_ref: value 'A1': only the lead role may lock or unlock cases "
        "(Ivy Inspector has the inspector role)"]
    assert import_cases(db, path, actor=LEAD, reopen_reason="typo").result.updated == 1
    assert _statuses(db)["A1"] == "in_progress"  # unlocked, then changed


def test_a_locked_case_is_read_only_in_a_ratings_file(db: Database, tmp_path: Path) -> None:
    header = ["case_ref", "question_id", "answer", "note"]
    path = write_csv(tmp_path / "r.csv", [header, ["A1", "2.1.1", "no", ""],
                                          ["A1", "2.1.2", "no", ""],
                                          ["A2", "2.1.2", "yes", ""]])
    for actor, reason in ((INSPECTOR, None), (LEAD, None), (LEAD, "typo")):
        assert _refused(db, path, actor, ratings=True, reason=reason) == [
            f"{path}:{row}: column case_ref: value 'A1': case A1 is locked: it can no longer "
            "be changed until a lead unlocks it (with a reason)" for row in (2, 3)]
    # Saying again what is stored changes nothing, so it is no edit of the locked case.
    again = write_csv(tmp_path / "again.csv", [header[:3], ["A1", "2.1.1", "yes"],
                                               ["A2", "2.1.2", "yes"]])
    result = import_ratings(db, again, actor=INSPECTOR).result
    assert (result.created, result.unchanged) == (0, 2)


def test_the_app_refuses_the_same_edit_in_the_same_words(db: Database, tmp_path: Path) -> None:
    a1 = next(i for i in (1, 2, 3) if cases.load_case(db, i, actor=LEAD).case_ref == "A1")
    view = cases.load_case(db, a1, actor=LEAD)
    with pytest.raises(PermissionDenied) as app:
        cases.record_answer(db, a1, "2.1.1", "no", actor=INSPECTOR,
                            expected_version=view.version)
    path = write_csv(tmp_path / "r.csv", [["case_ref", "question_id", "answer"],
                                          ["A1", "2.1.1", "no"]])
    line = _refused(db, path, INSPECTOR, ratings=True)[0]
    assert line.endswith(f": {app.value}")


def test_a_move_the_lifecycle_does_not_have_is_refused(db: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "back.csv", [HEADER, ["A3", "no", "low", "not_started"]])
    assert _refused(db, path, LEAD, reason="again") == [
        f"{path}:2: column status: value 'not_started': a case cannot go from In progress to "
        "Not started (from In progress it can go to Complete, QA-checked, Locked)"]
