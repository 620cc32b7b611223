"""Lifecycle bypass (issue 15, Why): a case stayed "Complete" after a rule removed a
required answer. Now nothing changes a signed-off case without reopening it first, and
a signed-off case found missing a required answer (a database written before this fix)
is withdrawn to in progress by its next change, in the same transaction, with a trail
event saying why."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit import cases
from audit.imports.ratings import import_ratings
from audit.lifecycle import ReasonRequired
from audit.store.engine import Database
from tests.audit.imports.helpers import write_csv
from tests.databases import Prepare
from tests.helpers import make_inspection
from tests.security.lifecycle_setup import (
    INSPECTOR,
    LEAD,
    answer_all,
    people,
    sign_off,
    status,
    status_moves,
    version,
)


def _complete_case(db: Database) -> int:
    """A complete case (post-release, IOM, no domestic abuse recorded)."""
    made = make_inspection(db, cases=1)
    people(db)
    sign_off(db, made[0], "complete")
    return made[0]


@pytest.fixture(params=["sqlite", "postgres"])
def prepared(request: pytest.FixtureRequest, prepare: Prepare) -> tuple[Database, int]:
    """A copy of `_complete_case`'s database (answered one by one: built once)."""
    db, case_id = prepare(request.param, "withdraw-complete-case", _complete_case)
    return db, case_id


@pytest.fixture
def any_db(prepared: tuple[Database, int]) -> Database:
    """This file's database: one complete case, on SQLite and on PostgreSQL."""
    return prepared[0]


@pytest.fixture
def case(prepared: tuple[Database, int]) -> int:
    return prepared[1]


def test_a_rule_that_makes_a_new_required_question_apply_withdraws_complete(
        any_db: Database, case: int) -> None:
    # The attack: domestic abuse is now recorded, so safe.da_enquiries (required) applies.
    with pytest.raises(ReasonRequired):
        cases.update_profile(any_db, case, {"domestic_abuse": "yes"}, actor=INSPECTOR,
                             expected_version=version(any_db, case))
    assert status(any_db, case) == "complete"
    cases.update_profile(any_db, case, {"domestic_abuse": "yes"}, actor=INSPECTOR,
                         expected_version=version(any_db, case), reason="DA found on file")
    assert status(any_db, case) == "in_progress"
    with pytest.raises(cases.IncompleteError, match=r"safe\.da_enquiries"):
        cases.set_status(any_db, case, "complete", actor=INSPECTOR,
                         expected_version=version(any_db, case))
    answer_all(any_db, case)
    cases.set_status(any_db, case, "complete", actor=INSPECTOR,
                     expected_version=version(any_db, case))
    assert status(any_db, case) == "complete"


def test_clearing_a_required_answer_withdraws_complete(any_db: Database, case: int) -> None:
    change = cases.record_answer(any_db, case, "2.1.1", None, actor=INSPECTOR,
                                 expected_version=version(any_db, case), reason="unsure")
    assert change.status == "in_progress" and status(any_db, case) == "in_progress"


def _legacy_gap(db: Database, case_id: int, qid: str) -> None:
    """What the old code left: a complete case whose required answer a rule deleted."""
    with db.write() as conn:
        conn.execute(sa.text("DELETE FROM answer WHERE case_id = :c AND question_id = :q "
                             "AND rater = 'primary'"), {"c": case_id, "q": qid})


def test_a_signed_off_case_missing_a_required_answer_is_withdrawn_by_its_next_change(
        any_db: Database, case: int) -> None:
    cases.set_status(any_db, case, "qa_checked", actor=LEAD,
                     expected_version=version(any_db, case))
    _legacy_gap(any_db, case, "2.1.2")
    # A QA answer needs no reopening, but the case it lands on is found incomplete.
    change = cases.record_answer(any_db, case, "2.1.1", "no", actor=LEAD,
                                 expected_version=version(any_db, case), rater="qa")
    assert change.withdrawn and change.status == "in_progress"
    assert status_moves(any_db, case)[-2:] == [
        (LEAD.name, "qa_checked", "in_progress"),
        ("reason", LEAD.name, "withdrawn automatically: required answer(s) missing (2.1.2)")]


def test_the_bulk_path_withdraws_the_same_way(any_db: Database, case: int,
                                              tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    _legacy_gap(any_db, case, "2.1.2")
    path = write_csv(tmp_path / "qa.csv", [["case_ref", "question_id", "answer", "rater"],
                                          ["C-0001", "2.1.1", "no", "qa"]])
    import_ratings(any_db, path, actor=LEAD)
    assert status(any_db, case) == "in_progress"
    assert status_moves(any_db, case)[-1][2] == (
        "withdrawn automatically: required answer(s) missing (2.1.2)")
