"""Red team of the week's features: allocation, data queries and the moderated final
record. Each test plays an attack by an inspector with import rights (or a lead acting
out of turn) and asserts it is refused, with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit import allocation, cases, queries
from audit.errors import PermissionDenied, UsageError
from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.store.engine import Database
from tests.audit.imports.helpers import dump, write_csv
from tests.databases import Prepare
from tests.helpers import make_inspection, rate_qa, set_role
from tests.security.lifecycle_setup import INSPECTOR, LEAD, OTHER, answer_all, status, version

QA = Actor("Quinn QA")


def _week(any_db: Database) -> list[int]:
    """C-0001 complete (Ivy) and blind-QA rated by Quinn, agreeing (yes throughout);
    C-0002 answered by Ivy, no QA at all, allocated to Ivy; C-0003 untouched."""
    made = make_inspection(any_db)
    set_role(any_db, LEAD.name, "lead")
    for person in (INSPECTOR, OTHER, QA):
        set_role(any_db, person.name, "inspector")
    answer_all(any_db, made[0])
    cases.set_status(any_db, made[0], "complete", actor=INSPECTOR,
                     expected_version=version(any_db, made[0]))
    rate_qa(any_db, made[0], QA.name)
    answer_all(any_db, made[1])
    allocation.allocate(any_db, ["C-0002"], to=INSPECTOR.name, actor=LEAD)
    return made


@pytest.fixture(params=["sqlite", "postgres"])
def prepared(request: pytest.FixtureRequest, prepare: Prepare) -> tuple[Database, list[int]]:
    """A copy of `_week`'s cases (rated answer by answer: built once, not per test)."""
    db, ids = prepare(request.param, "redteam-week", _week)
    return db, ids


@pytest.fixture
def any_db(prepared: tuple[Database, list[int]]) -> Database:
    """This file's database: `_week`'s cases, on SQLite and on PostgreSQL."""
    return prepared[0]


@pytest.fixture
def ids(prepared: tuple[Database, list[int]]) -> list[int]:
    return prepared[1]


def _rejected(db: Database, work: object) -> list[str]:
    before = dump(db)
    with pytest.raises(ImportRejected) as caught:
        work()  # type: ignore[operator]
    assert dump(db) == before
    return caught.value.lines


# -- allocation ---------------------------------------------------------------------

def test_a_case_file_cannot_change_the_profile_of_someone_elses_case(
        any_db: Database, ids: list[int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "profile.csv", [["case_ref", "iom"], ["C-0002", "no"]])
    for who in (OTHER, LEAD):
        lines = _rejected(any_db, lambda who=who: import_cases(any_db, path, actor=who))
        assert lines == [f"{path}:2: column case_ref: value 'C-0002': read only: case "
                         "C-0002 is allocated to Ivy Inspector, who rates it (a lead can "
                         "allocate it to someone else)"]
    import_cases(any_db, path, actor=INSPECTOR)  # hers to change


def test_a_case_file_cannot_complete_someone_elses_case(
        any_db: Database, ids: list[int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "complete.csv", [["case_ref", "iom", "status"],
                                                 ["C-0002", "yes", "complete"]])
    lines = _rejected(any_db, lambda: import_cases(any_db, path, actor=OTHER))
    assert len(lines) == 1 and "allocated to Ivy Inspector" in lines[0]
    assert lines[0].startswith(f"{path}:2: column case_ref")
    import_cases(any_db, path, actor=INSPECTOR)
    assert status(any_db, ids[1]) == "complete"


def test_a_ratings_file_cannot_attribute_an_allocated_case_to_another(
        any_db: Database, ids: list[int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [["case_ref", "question_id", "answer"],
                                          ["C-0002", "2.1.1", "no"]])
    # Oli naming Ivy: attributing answers to someone else is a lead's move.
    with pytest.raises((ImportRejected, PermissionDenied, UsageError)):
        import_ratings(any_db, path, actor=OTHER, inspector=INSPECTOR.name)
    # Oli as himself: the case is Ivy's.
    lines = _rejected(any_db, lambda: import_ratings(any_db, path, actor=OTHER))
    assert "allocated to Ivy Inspector" in lines[0]


def test_undo_and_query_change_respect_the_allocation(any_db: Database,
                                                      ids: list[int]) -> None:
    cid = ids[1]
    cases.record_answer(any_db, cid, "2.1.1", "no", actor=INSPECTOR,
                        expected_version=version(any_db, cid))
    allocation.allocate(any_db, ["C-0002"], to=OTHER.name, actor=LEAD)
    with pytest.raises(PermissionDenied, match="allocated to Oli Other"):
        cases.undo_last_change(any_db, cid, actor=INSPECTOR,
                               expected_version=version(any_db, cid))
    step = queries.open_query(any_db, cid, "2.1.1", "why no?", actor=LEAD)
    # Ivy gave the answer and may respond, but the rating is Oli's now.
    with pytest.raises(PermissionDenied, match="allocated to Oli Other"):
        queries.change_answer(any_db, step.id, "yes", "fix", actor=INSPECTOR)
    with pytest.raises(PermissionDenied, match="allocated to Oli Other"):
        queries.change_answer(any_db, step.id, "yes", "fix", actor=LEAD)
    assert cases.load_case(any_db, cid, actor=LEAD).values()["2.1.1"] == "no"


# -- data queries -------------------------------------------------------------------

def test_only_qa_or_a_lead_opens_and_closes(any_db: Database, ids: list[int]) -> None:
    cid = ids[0]
    with pytest.raises(PermissionDenied, match="only a lead or a QA rater"):
        queries.open_query(any_db, cid, "2.1.1", "odd", actor=OTHER)
    step = queries.open_query(any_db, cid, "2.1.1", "odd", actor=QA)
    queries.respond(any_db, step.id, "it is fine", actor=INSPECTOR)
    for who in (INSPECTOR, OTHER):
        with pytest.raises(PermissionDenied, match="only a lead or a QA rater"):
            queries.close_query(any_db, step.id, actor=who)


def test_the_answers_author_does_not_close_the_query_put_to_them(
        any_db: Database, ids: list[int]) -> None:
    """A lead queries Quinn's QA answer; Quinn, a QA rater of the case, answers it and
    may not then close it: the query would be settled by the person it questions."""
    cid = ids[0]
    step = queries.open_query(any_db, cid, "2.1.1", "QA yes here?", actor=LEAD, rater="qa")
    queries.respond(any_db, step.id, "yes, I checked", actor=QA)
    with pytest.raises(PermissionDenied, match="Quinn QA gave the qa answer"):
        queries.close_query(any_db, step.id, actor=QA)
    assert queries.close_query(any_db, step.id, actor=LEAD).status == "closed"


def test_a_query_cannot_change_a_locked_case(any_db: Database, ids: list[int]) -> None:
    cid = ids[0]
    step = queries.open_query(any_db, cid, "2.1.1", "odd", actor=QA)
    queries.respond(any_db, step.id, "fine", actor=INSPECTOR)
    queries.close_query(any_db, step.id, actor=QA)
    cases.set_status(any_db, cid, "locked", actor=LEAD, expected_version=version(any_db, cid))
    with pytest.raises((UsageError, PermissionDenied), match="closed|locked"):
        queries.change_answer(any_db, step.id, "no", "late fix", actor=INSPECTOR)
    with pytest.raises(PermissionDenied, match="locked"):
        queries.reopen_query(any_db, step.id, "again", actor=QA)
    assert cases.load_case(any_db, cid, actor=LEAD).values()["2.1.1"] == "yes"


# -- the moderated final record ---------------------------------------------------------

RATINGS = ["case_ref", "question_id", "answer", "rater", "note"]


def test_a_ratings_file_gives_no_moderated_answer_to_a_case_without_blind_qa(
        any_db: Database, ids: list[int], tmp_path: Path) -> None:
    """Oli (not a rater of C-0002) cannot slip a moderated answer into a case nobody QA
    rated: it would silently replace the primary answer in the published tables."""
    path = write_csv(tmp_path / "m.csv", [RATINGS, ["C-0002", "2.1.1", "no", "moderated", ""]])
    lines = _rejected(any_db, lambda: import_ratings(any_db, path, actor=OTHER))
    assert lines == [f"{path}:2: column rater: value 'moderated': case C-0002 has no blind "
                     "QA rating yet: there is nothing to compare"]


def test_a_ratings_file_gives_no_third_answer_without_a_comment(
        any_db: Database, ids: list[int], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [RATINGS, ["C-0001", "2.1.1", "no", "moderated", ""]])
    lines = _rejected(any_db, lambda: import_ratings(any_db, path, actor=LEAD))
    assert lines == [f"{path}:2: column answer: value 'no': case C-0001, 2.1.1: the "
                     "moderated answer no is neither rating's (primary yes, QA yes): give "
                     "a comment saying why"]
    with_note = write_csv(tmp_path / "n.csv", [RATINGS, ["C-0001", "2.1.1", "no",
                                                         "moderated", "file says no"]])
    import_ratings(any_db, with_note, actor=LEAD)
    assert cases.load_case(any_db, ids[0], actor=LEAD).values("moderated") == {"2.1.1": "no"}


def test_a_query_change_gives_no_third_moderated_answer_without_a_comment(
        any_db: Database, ids: list[int]) -> None:
    cid = ids[0]
    cases.moderate(any_db, cid, "2.1.1", "yes", comment=None, actor=LEAD,
                   expected_version=version(any_db, cid))
    step = queries.open_query(any_db, cid, "2.1.1", "sure?", actor=QA, rater="moderated")
    with pytest.raises(UsageError, match="neither rating's"):
        queries.change_answer(any_db, step.id, "no", "changed my mind", actor=LEAD)
    assert cases.load_case(any_db, cid, actor=LEAD).values("moderated") == {"2.1.1": "yes"}


def test_no_moderated_answer_by_keystroke_before_the_blind_qa(any_db: Database,
                                                              ids: list[int]) -> None:
    cid = ids[2]
    with pytest.raises(UsageError, match="no blind QA rating yet"):
        cases.record_answer(any_db, cid, "2.1.1", "no", actor=LEAD, rater="moderated",
                            expected_version=version(any_db, cid))
