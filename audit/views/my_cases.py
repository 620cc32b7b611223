"""My cases: the cases allocated to one inspector, how far each has got, and what next.

Built for 100,000 cases: the totals are one aggregate over the inspector's cases
(`ix_case_allocated_to`), the next case one ordered LIMIT 1, and the rows one page at a
time. Progress (required answers given out of those that apply) is counted for the page
only: answers are counted in SQL, and the rules say which required questions apply, from
plain rows, never an ORM object per answer. Open queries are those still `open` or
`answered` (awaiting QA).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from audit import lifecycle
from audit.errors import NotFoundError
from audit.inspections import question_set_of
from audit.permissions import Actor, require
from audit.rules import missing_required_many, rule_case_fields
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Inspector, Query, Site, table_of
from question_sets import QuestionSet

OPEN_QUERY = ("open", "answered")
"""Query statuses that still need someone (the assignee, or QA)."""

SIGNED_OFF = lifecycle.SIGNED_OFF


@dataclass(frozen=True)
class MyCase:
    """One allocated case as My cases shows it."""

    id: int
    case_ref: str
    site: str | None
    status: str
    due_date: date | None
    overdue: bool
    answered: int  # required questions that apply and are answered
    required: int  # required questions that apply
    open_queries: int

    @property
    def done(self) -> bool:
        """Signed off (complete or beyond): nothing left to rate."""
        return self.status in SIGNED_OFF


@dataclass(frozen=True)
class MyCases:
    """An inspector's allocated cases in one inspection: totals, next case, one page."""

    inspector: str
    today: date
    total: int
    done: int
    overdue: int
    open_queries: int  # on these cases
    assigned_queries: int  # assigned to the inspector, in this inspection
    next_case: MyCase | None
    offset: int = 0
    limit: int = 0
    rows: list[MyCase] = field(default_factory=list)

    @property
    def to_rate(self) -> int:
        return self.total - self.done


@dataclass(frozen=True)
class InspectorAllocation:
    """One inspector's allocated cases in an inspection (the dashboard's section)."""

    name: str
    allocated: int
    done: int
    overdue: int


@dataclass(frozen=True)
class AllocationOverview:
    """Allocation per inspector, and the cases allocated to no one."""

    inspectors: list[InspectorAllocation]
    unallocated: int
    unallocated_to_rate: int

    @property
    def in_use(self) -> bool:
        """Whether any case of the inspection is allocated."""
        return bool(self.inspectors)


def _done() -> sa.ColumnElement[bool]:
    return table_of(Case).c.status.in_(SIGNED_OFF)


def _overdue(today: date) -> sa.ColumnElement[bool]:
    case = table_of(Case).c
    return sa.and_(case.status.not_in(SIGNED_OFF), case.due_date < today)


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def my_cases(db: Database, inspection_id: int, *, actor: Actor, inspector: str | None = None,
             today: date | None = None, offset: int = 0, limit: int = 100) -> MyCases:
    """The cases of one inspection allocated to `inspector` (the actor by default): the
    ones still to rate first, by due date (none last), then ref; done ones after."""
    today = today or date.today()
    name = inspector or actor.name
    case_t = table_of(Case)
    case = case_t.c
    with db.engine.connect() as conn:
        require(conn, actor, "read_cases")
        qs = _question_set(conn, inspection_id)
        person = conn.execute(sa.select(table_of(Inspector).c.id)
                              .where(table_of(Inspector).c.name == name)).scalar()
        if person is None:
            return MyCases(name, today, 0, 0, 0, 0, 0, None, offset, limit)
        mine = sa.and_(case.inspection_id == inspection_id, case.allocated_to == person)
        total, done, overdue = conn.execute(
            sa.select(sa.func.count(), _count(_done()), _count(_overdue(today)))
            .select_from(case_t).where(mine)).one()
        queries, assigned = _query_totals(conn, inspection_id, person)
        to_rate = (sa.case((_done(), 1), else_=0), sa.case((case.due_date.is_(None), 1),
                                                             else_=0),
                   case.due_date, case.case_ref)
        page = _cases(conn, sa.and_(mine), to_rate, offset, limit)
        following = _cases(conn, sa.and_(mine, case.status.not_in(SIGNED_OFF)),
                           to_rate[1:], 0, 1)
        shown = _with_progress(conn, qs, [*following, *page], today)
    by_id = {c.id: c for c in shown}
    return MyCases(name, today, int(total), int(done), int(overdue), int(queries),
                   int(assigned), by_id[following[0][0]] if following else None,
                   max(offset, 0), limit, [by_id[r[0]] for r in page])


def allocation_overview(db: Database, inspection_id: int, *, actor: Actor,
                        today: date | None = None) -> AllocationOverview:
    """Allocated, done and overdue cases per inspector, and the unallocated ones."""
    today = today or date.today()
    case_t, person_t = table_of(Case), table_of(Inspector)
    case, person = case_t.c, person_t.c
    per_person = (sa.select(person.name, sa.func.count(), _count(_done()),
                            _count(_overdue(today)))
                  .select_from(case_t).join(person_t, person.id == case.allocated_to)
                  .where(case.inspection_id == inspection_id)
                  .group_by(person.name).order_by(person.name))
    unallocated = (sa.select(sa.func.count(), _count(case.status.not_in(SIGNED_OFF)))
                   .select_from(case_t).where(case.inspection_id == inspection_id,
                                              case.allocated_to.is_(None)))
    with db.engine.connect() as conn:
        require(conn, actor, "read_cases")
        rows = [InspectorAllocation(str(n), int(a), int(d), int(o))
                for n, a, d, o in conn.execute(per_person)]
        free, free_to_rate = conn.execute(unallocated).one()
    return AllocationOverview(rows, int(free), int(free_to_rate))


# ----------------------------------------------------------------------------- helpers

def _question_set(conn: sa.Connection, inspection_id: int) -> QuestionSet:
    from sqlmodel import Session

    with Session(bind=conn) as session:
        found = session.get(Inspection, inspection_id)
        if found is None:
            raise NotFoundError(f"no inspection with id {inspection_id}")
        return question_set_of(found)


def _query_totals(conn: sa.Connection, inspection_id: int, person: int) -> tuple[int, int]:
    """Open queries on the person's allocated cases, and open queries assigned to them."""
    case_t, query_t = table_of(Case), table_of(Query)
    case, query = case_t.c, query_t.c
    base = (sa.select(sa.func.count()).select_from(query_t)
            .join(case_t, case.id == query.case_id)
            .where(case.inspection_id == inspection_id, query.status.in_(OPEN_QUERY)))
    on_mine = conn.execute(base.where(case.allocated_to == person)).scalar_one()
    assigned = conn.execute(base.where(query.assignee_id == person)).scalar_one()
    return int(on_mine), int(assigned)


def _cases(conn: sa.Connection, where: sa.ColumnElement[bool],
           order: Sequence[sa.ColumnElement[Any]], offset: int,
           limit: int) -> list[tuple[Any, ...]]:
    case_t, site_t = table_of(Case), table_of(Site)
    case, site = case_t.c, site_t.c
    stmt = (sa.select(case.id, case.case_ref, site.name, case.status, case.due_date)
            .select_from(case_t).outerjoin(site_t, site.id == case.site_id)
            .where(where).order_by(*order, case.id).offset(max(offset, 0)).limit(limit))
    return [tuple(r) for r in conn.execute(stmt)]


def _with_progress(conn: sa.Connection, qs: QuestionSet, rows: list[tuple[Any, ...]],
                   today: date) -> list[MyCase]:
    """The rows as MyCase, with required answers given and applying, and open queries."""
    ids = sorted({int(r[0]) for r in rows})
    if not ids:
        return []
    required = [q.id for q in qs.questions if q.required]
    answer, query = table_of(Answer).c, table_of(Query).c
    answered: dict[int, int] = dict.fromkeys(ids, 0)
    # Only the case ids in WHERE (the rest in the sum): filtered on the rater too, SQLite
    # would walk the whole tally index (rater first) instead of these cases' answers.
    given = sa.and_(answer.rater == "primary", answer.value.is_not(None),
                    answer.question_id.in_(required))
    for case_id, n in conn.execute(
            sa.select(answer.case_id, _count(given))
            .where(answer.case_id.in_(ids)).group_by(answer.case_id)):
        answered[int(case_id)] = int(n)
    queries = {int(c): int(n) for c, n in conn.execute(
        sa.select(query.case_id, sa.func.count())
        .where(query.case_id.in_(ids), query.status.in_(OPEN_QUERY))
        .group_by(query.case_id))}
    missing = _missing(conn, qs, ids)
    return [MyCase(int(i), str(ref), site, str(status), due,
                   status not in SIGNED_OFF and due is not None and due < today,
                   answered[int(i)], answered[int(i)] + missing.get(int(i), 0),
                   int(queries.get(int(i), 0)))
            for i, ref, site, status, due in rows]


def _missing(conn: sa.Connection, qs: QuestionSet, ids: list[int]) -> dict[int, int]:
    """Required questions that apply and are unanswered, per case (`audit.rules`)."""
    import numpy as np
    import pandas as pd

    answer = table_of(Answer).c
    rows = [(c, q, v) for c, q, v, rater in conn.execute(  # by case: see _with_progress
        sa.select(answer.case_id, answer.question_id, answer.value, answer.rater)
        .where(answer.case_id.in_(ids))) if rater == "primary"]
    answers = pd.DataFrame(rows, columns=["case_id", "question_id", "value"])
    fields = rule_case_fields(qs)
    profiles = _profiles(conn, ids, fields) if fields else None
    found = missing_required_many(qs, np.asarray(ids, dtype=np.int64), answers, profiles)
    counts = found.groupby("case_id").size()
    return dict(zip(counts.index.astype("int64").tolist(), counts.tolist(), strict=True))


def _profiles(conn: sa.Connection, ids: list[int], fields: set[str]) -> Any:
    """The case fields rules read, indexed by case id; the status judged as a sign-off
    judges it (`lifecycle.JUDGED_AS`), as completing the case would."""
    import pandas as pd

    case_t, site_t = table_of(Case), table_of(Site)
    case, site = case_t.c, site_t.c
    columns = [case[f].label(f) for f in sorted(fields - {"site", "status"})]
    if "site" in fields:
        columns.append(site.name.label("site"))
    stmt = (sa.select(case.id, *columns).select_from(case_t)
            .outerjoin(site_t, site.id == case.site_id).where(case.id.in_(ids)))
    frame = pd.DataFrame([tuple(r) for r in conn.execute(stmt)],
                         columns=["id", *(c.name for c in columns)], dtype=object)
    if "status" in fields:
        frame["status"] = lifecycle.JUDGED_AS
    return frame.set_index("id")


def has_allocated(db: Database, inspection_id: int, name: str) -> bool:
    """Whether any case of the inspection is allocated to `name` (the app's start screen
    opens My cases for such an inspector)."""
    case, person = table_of(Case).c, table_of(Inspector).c
    stmt = (sa.select(case.id).join(table_of(Inspector), person.id == case.allocated_to)
            .where(case.inspection_id == inspection_id, person.name == name).limit(1))
    with db.engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def next_case_id(db: Database, inspection_id: int, *, actor: Actor) -> int | None:
    """The id of the actor's next allocated case to rate (as My cases' next case), or
    None when none is allocated to them or all are done."""
    case, person = table_of(Case).c, table_of(Inspector).c
    stmt = (sa.select(case.id).join(table_of(Inspector), person.id == case.allocated_to)
            .where(case.inspection_id == inspection_id, person.name == actor.name,
                   case.status.not_in(SIGNED_OFF))
            .order_by(sa.case((case.due_date.is_(None), 1), else_=0), case.due_date,
                      case.case_ref, case.id).limit(1))
    with db.engine.connect() as conn:
        require(conn, actor, "read_cases")
        found = conn.execute(stmt).scalar()
    return None if found is None else int(found)
