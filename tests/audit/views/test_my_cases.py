"""My cases (audit/views/my_cases.py): an inspector's allocated cases, their progress,
due dates and open queries, the next case to rate, and allocation per inspector."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from audit import allocation, cases
from audit.errors import PermissionDenied
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case, Inspector, Query, table_of
from audit.views.my_cases import allocation_overview, my_cases
from tests.helpers import make_inspection, set_role

LEAD, IVY, BO = "Lena Lead", "Ivy Inspector", "Bo Inspector"
TODAY = date(2026, 12, 1)


@pytest.fixture
def db(any_db: Database) -> Database:
    """Six cases: C-0001..C-0004 Ivy's (due dates set apart), C-0005 Bo's, C-0006 free."""
    make_inspection(any_db, cases=6)
    for name, role in ((LEAD, "lead"), (IVY, "inspector"), (BO, "inspector")):
        set_role(any_db, name, role)
    lead = Actor(LEAD)
    allocation.allocate(any_db, ["C-0003"], to=IVY, due=date(2026, 11, 20), actor=lead)
    allocation.allocate(any_db, ["C-0002"], to=IVY, due=date(2026, 12, 10), actor=lead)
    allocation.allocate(any_db, ["C-0001", "C-0004"], to=IVY, actor=lead)
    allocation.allocate(any_db, ["C-0005"], to=BO, due=date(2026, 11, 1), actor=lead)
    return any_db


def _id(db: Database, ref: str) -> int:
    case = table_of(Case).c
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(case.id).where(case.case_ref == ref)).scalar_one())


def _query(db: Database, ref: str, status: str, assignee: str) -> None:
    person = table_of(Inspector).c
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with db.engine.begin() as conn:
        ids = dict(conn.execute(sa.select(person.name, person.id)).all())
        conn.execute(sa.insert(table_of(Query)).values(
            case_id=_id(db, ref), question_id="2.1.1", rater="primary", status=status,
            opened_by=ids[LEAD], assignee_id=ids[assignee], opened_at=now, updated_at=now))


def test_my_cases_in_order_with_progress_due_dates_and_queries(db: Database) -> None:
    ivy = Actor(IVY)
    c1 = _id(db, "C-0001")
    version = cases.load_case(db, c1, actor=ivy).version
    for qid in ("2.1.1", "2.1.2"):
        version = cases.record_answer(db, c1, qid, "yes", actor=ivy,
                                      expected_version=version).version
    _query(db, "C-0001", "open", IVY)
    _query(db, "C-0001", "answered", IVY)
    _query(db, "C-0001", "closed", IVY)
    _query(db, "C-0005", "open", IVY)  # Bo's case, but Ivy gave the answer queried

    mine = my_cases(db, _inspection(db), actor=ivy, today=TODAY)
    assert (mine.total, mine.done, mine.overdue, mine.to_rate) == (4, 0, 1, 4)
    assert (mine.open_queries, mine.assigned_queries) == (2, 3)
    assert [r.case_ref for r in mine.rows] == ["C-0003", "C-0002", "C-0001", "C-0004"]
    assert [r.overdue for r in mine.rows] == [True, False, False, False]
    first = {r.case_ref: r for r in mine.rows}
    assert first["C-0001"].answered == 2 and first["C-0001"].open_queries == 2
    assert first["C-0001"].required == first["C-0004"].required > 2
    assert first["C-0004"].answered == 0
    assert mine.next_case is not None and mine.next_case.case_ref == "C-0003"


def test_a_signed_off_case_is_done_never_overdue_and_not_next(db: Database) -> None:
    c3 = _id(db, "C-0003")
    with db.engine.begin() as conn:
        conn.execute(sa.update(table_of(Case)).where(table_of(Case).c.id == c3)
                     .values(status="complete"))
    mine = my_cases(db, _inspection(db), actor=Actor(IVY), today=TODAY)
    assert (mine.done, mine.overdue) == (1, 0)
    assert mine.rows[-1].case_ref == "C-0003" and mine.rows[-1].done
    assert mine.next_case is not None and mine.next_case.case_ref == "C-0002"


def test_paging_and_someone_with_nothing_allocated(db: Database) -> None:
    page = my_cases(db, _inspection(db), actor=Actor(IVY), today=TODAY, offset=2, limit=2)
    assert [r.case_ref for r in page.rows] == ["C-0001", "C-0004"]
    assert page.next_case is not None and page.next_case.case_ref == "C-0003"
    nobody = my_cases(db, _inspection(db), actor=Actor(LEAD), today=TODAY)
    assert (nobody.total, nobody.rows, nobody.next_case) == (0, [], None)


def test_a_researcher_reads_no_one_s_cases(db: Database) -> None:
    set_role(db, "Rita Research", "researcher")
    with pytest.raises(PermissionDenied):
        my_cases(db, _inspection(db), actor=Actor("Rita Research"), inspector=IVY)


def test_allocation_per_inspector(db: Database) -> None:
    overview = allocation_overview(db, _inspection(db), actor=Actor(LEAD), today=TODAY)
    assert [(i.name, i.allocated, i.done, i.overdue) for i in overview.inspectors] == [
        (BO, 1, 0, 1), (IVY, 4, 0, 1)]
    assert (overview.unallocated, overview.unallocated_to_rate, overview.in_use) == (1, 1, True)


def _inspection(db: Database) -> int:
    case = table_of(Case).c
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(case.inspection_id).limit(1)).scalar_one())
