"""Lifecycle bypass by file (issue 15, Why): an inspector used `import cases` with a
status column to lock, unlock and QA-check cases, and `import ratings` to rewrite
answers and notes of a locked case. Both are refused now, row by row (file, row, column
named), the whole file with them, on SQLite and on PostgreSQL; a signed-off case takes a
ratings file only with a reason, which the trail keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.store.engine import Database
from tests.audit.imports.helpers import cli, dump, write_csv
from tests.databases import Prepare
from tests.helpers import KEY_QUESTIONS, make_inspection, rate_qa
from tests.security.lifecycle_setup import (
    INSPECTOR,
    LEAD,
    people,
    sign_off,
    status,
    status_moves,
)

CASE_HEADER = ["case_ref", "iom", "status"]
RATING_HEADER = ["case_ref", "question_id", "answer", "note"]


def agree_in_qa(db: Database, case_id: int) -> None:
    """A complete blind QA rating by a third person that agrees with the primary one:
    nothing to reconcile, so a lead may mark the case moderated."""
    from audit import cases

    primary = cases.load_case(db, case_id, actor=LEAD).values("primary")
    rate_qa(db, case_id, "Quinn QA", {q: v for q, v in primary.items()
                                      if q in KEY_QUESTIONS and v is not None})


def _cases(db: Database) -> dict[str, int]:
    """C-0001 locked, C-0002 complete, C-0003 QA-checked, C-0004 in progress; all answered."""
    made = make_inspection(db, cases=4)
    people(db)
    sign_off(db, made[0], "complete", "locked")
    sign_off(db, made[1], "complete")
    sign_off(db, made[2], "complete", "qa_checked")
    sign_off(db, made[3])
    return {f"C-{i:04d}": case_id for i, case_id in enumerate(made, start=1)}


@pytest.fixture(params=["sqlite", "postgres"])
def prepared(request: pytest.FixtureRequest, prepare: Prepare) -> tuple[Database, dict[str, int]]:
    """A copy of the four signed-off cases of `_cases` (about 160 answers recorded one by
    one through the use cases: built once, not per test)."""
    db, ids = prepare(request.param, "lifecycle-imports", _cases)
    return db, ids


@pytest.fixture
def any_db(prepared: tuple[Database, dict[str, int]]) -> Database:
    """This file's database: the prepared cases, on SQLite and on PostgreSQL."""
    return prepared[0]


@pytest.fixture
def ids(prepared: tuple[Database, dict[str, int]]) -> dict[str, int]:
    return prepared[1]


def refused(db: Database, path: Path, actor: Actor, *, ratings: bool = False,
            reason: str | None = None) -> list[str]:
    """The located lines of a refused import; nothing at all was written."""
    before = dump(db)
    with pytest.raises(ImportRejected) as caught:
        (import_ratings if ratings else import_cases)(db, path, actor=actor,
                                                      reopen_reason=reason)
    assert dump(db) == before
    return caught.value.lines


def test_an_inspector_cannot_lock_unlock_or_qa_check_with_a_case_file(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "status.csv", [
        CASE_HEADER, ["C-0001", "no", "in_progress"],   # unlock
        ["C-0002", "yes", "qa_checked"],                  # QA-check
        ["C-0004", "yes", "locked"]])                     # lock
    for reason in (None, "my own reasons"):
        assert refused(any_db, path, INSPECTOR, reason=reason) == [
            f"{path}:2: column status: value 'in_progress': only the lead role may lock or "
            "unlock cases (Ivy Inspector has the inspector role)",
            f"{path}:3: column status: value 'qa_checked': only the lead role may QA-check "
            "cases (Ivy Inspector has the inspector role)",
            f"{path}:4: column status: value 'locked': only the lead role may lock or unlock "
            "cases (Ivy Inspector has the inspector role)"]
    assert [status(any_db, ids[r]) for r in ("C-0001", "C-0002", "C-0004")] == [
        "locked", "complete", "in_progress"]


def test_the_command_line_refuses_it_in_one_line_per_row(
        sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite: the CLI acts as IOM_AUDIT_INSPECTOR (on PostgreSQL, as the login).
    _cases(sqlite_db)
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", INSPECTOR.name)
    path = write_csv(tmp_path / "lock.csv", [CASE_HEADER, ["C-0002", "yes", "locked"]])
    before = dump(sqlite_db)
    assert cli(sqlite_db, "import", "cases", str(path), "--reopen-reason", "x") == 1
    err = capsys.readouterr().err
    assert f"{path}:2: column status: value 'locked': only the lead role may lock" in err
    assert "Traceback" not in err and "SELECT" not in err
    assert dump(sqlite_db) == before


def test_moves_the_lifecycle_does_not_have_are_refused_even_for_a_lead(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "skip.csv", [
        CASE_HEADER, ["C-0004", "yes", "moderated"], ["C-0002", "yes", "not_started"]])
    assert refused(any_db, path, LEAD, reason="tidying") == [
        f"{path}:2: column status: value 'moderated': a case cannot go from In progress to "
        "Moderated (from In progress it can go to Complete, QA-checked, Locked)",
        f"{path}:3: column status: value 'not_started': a case cannot go from Complete to "
        "Not started (from Complete it can go to QA-checked, Locked, In progress)"]


def test_a_case_file_cannot_sign_off_a_case_with_unanswered_questions(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    new = write_csv(tmp_path / "new.csv", [CASE_HEADER, ["N-1", "yes", "complete"]])
    lines = refused(any_db, new, INSPECTOR)
    assert len(lines) == 1 and lines[0].startswith(
        f"{new}:2: column status: value 'complete': case N-1 cannot be completed: ")


def test_a_lead_unlocks_by_file_only_with_a_reason_and_the_trail_keeps_it(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "unlock.csv", [CASE_HEADER, ["C-0001", "no", "in_progress"]])
    assert refused(any_db, path, LEAD) == [
        f"{path}:2: column status: value 'in_progress': case C-0001 is locked: unlocking it "
        "needs a reason (give it with --reopen-reason)"]
    import_cases(any_db, path, actor=LEAD, reopen_reason="  wrong   site\nrecorded ")
    assert status(any_db, ids["C-0001"]) == "in_progress"
    assert status_moves(any_db, ids["C-0001"])[-2:] == [
        (LEAD.name, "locked", "in_progress"), ("reason", LEAD.name, "wrong site recorded")]


def test_a_ratings_file_cannot_rewrite_answers_or_notes_of_a_locked_case(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "rewrite.csv", [
        RATING_HEADER, ["C-0001", "2.1.1", "no", ""],               # another answer
        ["C-0001", "2.1.2", "yes", "planted note"],                  # the same answer, a note
        ["C-0002", "2.1.1", "yes", ""]])                             # what C-0002 holds
    for actor, reason in ((INSPECTOR, None), (INSPECTOR, "fix"), (LEAD, None), (LEAD, "fix")):
        assert refused(any_db, path, actor, ratings=True, reason=reason) == [
            f"{path}:{row}: column case_ref: value 'C-0001': case C-0001 is locked: it can no "
            "longer be changed until a lead unlocks it (with a reason)" for row in (2, 3)]


def test_a_ratings_file_reopens_a_signed_off_case_only_with_a_reason(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "change.csv", [
        RATING_HEADER, ["C-0002", "2.1.1", "no", ""], ["C-0003", "2.1.2", "yes", "later note"]])
    assert refused(any_db, path, INSPECTOR, ratings=True) == [
        f"{path}:2: column case_ref: value 'C-0002': case C-0002 is Complete: changing it moves "
        "it back to In progress, which needs a reason (give it with --reopen-reason)",
        f"{path}:3: column case_ref: value 'C-0003': case C-0003 is QA-checked: changing it "
        "moves it back to In progress, which needs a reason (give it with --reopen-reason)"]
    import_ratings(any_db, path, actor=INSPECTOR, reopen_reason="answers from the re-read")
    for ref, was in (("C-0002", "complete"), ("C-0003", "qa_checked")):
        assert status(any_db, ids[ref]) == "in_progress"
        assert status_moves(any_db, ids[ref])[-2:] == [
            (INSPECTOR.name, was, "in_progress"),
            ("reason", INSPECTOR.name, "answers from the re-read")]


def test_qa_answers_of_a_moderated_case_need_a_lead_and_a_reason(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    from audit import cases

    case_id = ids["C-0003"]
    agree_in_qa(any_db, case_id)
    cases.set_status(any_db, case_id, "moderated", actor=LEAD,
                     expected_version=cases.load_case(any_db, case_id, actor=LEAD).version)
    path = write_csv(tmp_path / "qa.csv", [[*RATING_HEADER, "rater"],
                                           ["C-0003", "2.1.1", "no", "", "qa"]])
    assert refused(any_db, path, INSPECTOR, ratings=True) == [
        f"{path}:2: column case_ref: value 'C-0003': case C-0003 is Moderated: changing it "
        "moves it back to QA-checked, which needs a reason (give it with --reopen-reason)"]
    assert refused(any_db, path, INSPECTOR, ratings=True, reason="second look") == [
        f"{path}:2: column case_ref: value 'C-0003': only the lead role may mark cases "
        "moderated (Ivy Inspector has the inspector role)"]
    import_ratings(any_db, path, actor=LEAD, reopen_reason="second look")
    assert status(any_db, case_id) == "qa_checked"


def test_a_case_file_marks_moderated_only_a_reconciled_case(
        any_db: Database, ids: dict[str, int], tmp_path: Path) -> None:
    """Moderated means reconciled, from a file as in the app (`qa_rules.moderation_refusal`)."""
    from audit import cases

    iom = "yes" if cases.load_case(any_db, ids["C-0003"], actor=LEAD).profile["iom"] else "no"
    path = write_csv(tmp_path / "moderated.csv", [CASE_HEADER, ["C-0003", iom, "moderated"]])
    assert refused(any_db, path, LEAD) == [
        f"{path}:2: column status: value 'moderated': case C-0003 has no blind QA rating yet: "
        "there is nothing to compare"]
    rate_qa(any_db, ids["C-0003"], "Quinn QA", {"2.1.1": "no"})
    [line] = refused(any_db, path, LEAD)
    assert line.startswith(f"{path}:2: column status: value 'moderated': case C-0003: 0 of 1 "
                           "disagreement(s) reconciled; reconcile 2.1.1")
    cases.moderate(any_db, ids["C-0003"], "2.1.1", "no", comment=None, actor=LEAD,
                   expected_version=cases.load_case(any_db, ids["C-0003"], actor=LEAD).version)
    import_cases(any_db, path, actor=LEAD)
    assert status(any_db, ids["C-0003"]) == "moderated"
