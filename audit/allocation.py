"""Allocation: which inspector rates a case's primary answers, and by when.

The one home of the rules of allocation, for the command line (`iom-audit allocate`),
the app (the case list's allocate key), case files (`allocated_to` and `due_date`
columns) and the demo:

* Only a lead allocates, unallocates or changes a due date (`allocate` permission).
* A case is allocated to a registered person who rates: an inspector or a lead, never a
  researcher. People are named by their full name or, failing that, their initials
  (when no one else has the same initials).
* A due date needs an allocation: unallocating a case clears its due date too. Allocating
  without a due date keeps the one the case has.
* A locked case is not allocated nor given a due date (nothing is left to rate until a
  lead unlocks it); its allocation can still be cleared.
* Allocation is planning, not case data: it is written with a Core UPDATE that leaves
  the case's optimistic `version` (and `updated_at`) alone, so an inspector rating the
  case meanwhile gets no conflict. Every change is an event of the audit trail (entity
  `case`, field `allocated_to` with people's names, or `due_date` with ISO dates).
* Many cases are allocated in one transaction: all or nothing.

Who may change a case's primary rating (`primary_refusal`): while a case is allocated,
only the person it is allocated to; an unallocated case, anyone whose role rates (as
before allocation existed). A ratings file gives a primary answer to an allocated case
only as the answer of the person it is allocated to (`file_refusal`; attributing answers
to someone else than oneself is a lead's move anyway). A lead who browses someone else's
case reads it; to rate it they allocate it to themselves first. QA, moderated answers
and a lead's status moves (QA-checking, moderating, locking and unlocking) are not the
primary rating and are not restricted by allocation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from audit import lifecycle
from audit.errors import NotFoundError, PermissionDenied, UsageError
from audit.inspections import inspection_for_writing
from audit.permissions import RATING_ROLES, Actor, require
from audit.store import chain_bulk
from audit.store.engine import Database
from audit.store.models import Case, Inspection, Inspector, table_of, utcnow
from audit.text_rules import normal, visible

SHOWN_REFS = 10  # case refs named in one refusal
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STAGE = "iom_stage_allocation"


# ------------------------------------------------------------------------ the rules

def parse_due(text: str | date) -> date:
    """A due date as people and files give it: YYYY-MM-DD (UsageError otherwise)."""
    if isinstance(text, date):
        return text
    value = text.strip()
    if value.endswith(" 00:00:00"):  # a spreadsheet's date cell, read as text
        value = value[:-9]
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise UsageError(f"'{visible(value)}' is not a date (write it as YYYY-MM-DD)")


@dataclass(frozen=True)
class Person:
    """Someone a case can be allocated to."""

    id: int
    name: str
    role: str


def person_problem(conn: sa.Connection, given: str) -> tuple[Person | None, str | None]:
    """The person `given` names (full name, else unique initials), or why none can be
    allocated cases: (person, None) or (None, reason)."""
    text = normal(given)
    if not text:
        return None, "no inspector named"
    table = table_of(Inspector).c
    row = conn.execute(sa.select(table.id, table.name, table.role)
                       .where(table.name == text)).first()
    if row is None:
        found = conn.execute(sa.select(table.id, table.name, table.role).where(
            sa.func.upper(table.initials) == text.upper()).order_by(table.name)).all()
        if len(found) > 1:
            names = ", ".join(str(r[1]) for r in found[:5])
            return None, (f"the initials '{visible(text)}' are those of several people "
                          f"({names}): give the full name")
        row = found[0] if found else None
    if row is None:
        return None, (f"no inspector named or with the initials '{visible(text)}' "
                      "(`iom-audit inspectors list` shows who is registered)")
    person = Person(int(row[0]), str(row[1]), str(row[2]))
    if person.role not in RATING_ROLES:
        return None, (f"{person.name} has the {person.role} role: cases are allocated to "
                      "inspectors and leads, who rate them")
    return person, None


def people_who_rate(db: Database) -> list[Person]:
    """Everyone cases can be allocated to (inspectors and leads), by name."""
    table = table_of(Inspector).c
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(table.id, table.name, table.role)
                            .where(table.role.in_(RATING_ROLES)).order_by(table.name)).all()
    return [Person(int(i), str(n), str(r)) for i, n, r in rows]


def find_person(conn: sa.Connection, given: str) -> Person:
    """The person `given` names, who may be allocated cases (NotFoundError, UsageError)."""
    person, reason = person_problem(conn, given)
    if person is None:
        assert reason is not None
        if reason.startswith("no inspector"):
            raise NotFoundError(reason)
        raise UsageError(reason)
    return person


def locked_allocation_refusal(refs: Sequence[str]) -> str:
    """Why locked cases are not allocated (nor given a due date)."""
    return (f"{_refs(refs)} {'is' if len(refs) == 1 else 'are'} locked: nothing is left to "
            "rate until a lead unlocks it (its allocation can still be cleared)")


def due_needs_allocation(ref: str) -> str:
    """Why a due date alone is refused on an unallocated case."""
    return f"case {ref} is not allocated: a due date needs an inspector (allocated_to)"


def primary_refusal(where: sa.Connection | Session, actor_name: str, case_ref: str,
                    allocated_to: int | None) -> str | None:
    """Why `actor_name` may not change the primary rating of a case allocated to the
    person with id `allocated_to` (None: they may; their role is checked elsewhere)."""
    if allocated_to is None:
        return None
    name = allocated_name(where, allocated_to)
    if name == actor_name:
        return None
    return (f"read only: case {case_ref} is allocated to {name}, who rates it (a lead can "
            "allocate it to someone else)")


def file_refusal(case_ref: str, allocated: str, named: str) -> str:
    """Why a ratings file row may not give a primary answer to a case allocated to
    someone else than the person the row names."""
    return (f"case {case_ref} is allocated to {allocated}: its primary answers are theirs "
            f"(this row gives them as {named}'s)")


def allocated_names(conn: sa.Connection, inspection_id: int) -> dict[int, str]:
    """Case id -> the name of the person it is allocated to, for an inspection's
    allocated cases."""
    case, person = table_of(Case).c, table_of(Inspector).c
    rows = conn.execute(sa.select(case.id, person.name)
                        .join(table_of(Inspector), person.id == case.allocated_to)
                        .where(case.inspection_id == inspection_id))
    return {int(i): str(n) for i, n in rows}


def allocated_name(where: sa.Connection | Session, person_id: int | None) -> str | None:
    """The name of the person with this id (None for None)."""
    if person_id is None:
        return None
    conn = where.connection() if isinstance(where, Session) else where
    table = table_of(Inspector).c
    return conn.execute(sa.select(table.name).where(table.id == person_id)).scalar()


def require_primary_editor(session: Session, actor: Actor, case: Case) -> None:
    """PermissionDenied unless the actor may change this case's primary rating."""
    refused = primary_refusal(session, actor.name, case.case_ref, case.allocated_to)
    if refused:
        raise PermissionDenied(refused)


# ---------------------------------------------------------------------- the use cases

@dataclass(frozen=True)
class AllocationResult:
    """What an allocation did: the cases named, and how many of them changed."""

    inspection: str
    to: str | None  # None: unallocated
    due: date | None  # the due date given (None: kept, or cleared with the allocation)
    cases: int
    changed: int
    events: int
    refs: tuple[str, ...] = ()


def allocate(db: Database, case_refs: Iterable[str], *, to: str, actor: Actor,
             due: date | None = None, inspection: str | None = None) -> AllocationResult:
    """Allocate cases (by ref, in the named inspection or the only one) to `to`, with a
    due date (None keeps each case's own). One transaction: all or nothing."""
    with db.write() as conn:
        require(conn, actor, "allocate")
        found = _inspection(conn, inspection)
        cases = _cases_by_ref(conn, found, case_refs)
        return _allocate(conn, found, cases, find_person(conn, to), due, actor.name)


def allocate_ids(db: Database, inspection_id: int, case_ids: Iterable[int], *, to: str,
                 actor: Actor, due: date | None = None) -> AllocationResult:
    """`allocate`, for cases the app has by id (all of one inspection)."""
    with db.write() as conn:
        require(conn, actor, "allocate")
        found = _inspection_by_id(conn, inspection_id)
        cases = _cases_by_id(conn, found, case_ids)
        return _allocate(conn, found, cases, find_person(conn, to), due, actor.name)


def unallocate(db: Database, case_refs: Iterable[str], *, actor: Actor,
               inspection: str | None = None) -> AllocationResult:
    """Clear the allocation (and due date) of cases, by ref. One transaction."""
    with db.write() as conn:
        require(conn, actor, "allocate")
        found = _inspection(conn, inspection)
        cases = _cases_by_ref(conn, found, case_refs)
        return _allocate(conn, found, cases, None, None, actor.name)


def unallocate_ids(db: Database, inspection_id: int, case_ids: Iterable[int], *,
                   actor: Actor) -> AllocationResult:
    """`unallocate`, for cases the app has by id."""
    with db.write() as conn:
        require(conn, actor, "allocate")
        found = _inspection_by_id(conn, inspection_id)
        cases = _cases_by_id(conn, found, case_ids)
        return _allocate(conn, found, cases, None, None, actor.name)


@dataclass(frozen=True)
class _Case:
    id: int
    ref: str
    status: str


def _allocate(conn: sa.Connection, inspection: Inspection, cases: list[_Case],
              person: Person | None, due: date | None, who: str) -> AllocationResult:
    assert inspection.id is not None
    if not cases:
        raise UsageError("no case given")
    if person is not None:
        locked = [c.ref for c in cases if c.status == lifecycle.LOCKED]
        if locked:
            raise PermissionDenied(locked_allocation_refusal(locked))
    plan = [Planned(c.id, person.id if person else None, due, due is not None)
            for c in cases]
    changed, events = apply(conn, inspection.id, plan, who)
    return AllocationResult(inspection.name, person.name if person else None, due,
                            len(cases), changed, events, tuple(c.ref for c in cases))


def _inspection(conn: sa.Connection, name: str | None) -> Inspection:
    with Session(bind=conn) as session:
        return inspection_for_writing(session, name)


def _inspection_by_id(conn: sa.Connection, inspection_id: int) -> Inspection:
    with Session(bind=conn) as session:
        found = session.get(Inspection, inspection_id)
    if found is None:
        raise NotFoundError(f"no inspection with id {inspection_id}")
    return found


def _cases_by_ref(conn: sa.Connection, inspection: Inspection,
                  refs: Iterable[str]) -> list[_Case]:
    wanted = list(dict.fromkeys(normal(r) for r in refs if normal(r)))
    case = table_of(Case).c
    rows = _select_in(conn, sa.select(case.id, case.case_ref, case.status)
                      .where(case.inspection_id == inspection.id), case.case_ref, wanted)
    by_ref = {str(r[1]): _Case(int(r[0]), str(r[1]), str(r[2])) for r in rows}
    missing = [r for r in wanted if r not in by_ref]
    if missing:
        raise NotFoundError(f"no {_refs(missing)} in inspection {inspection.name!r}: "
                            "nothing was allocated")
    return [by_ref[r] for r in wanted]


def _cases_by_id(conn: sa.Connection, inspection: Inspection,
                 ids: Iterable[int]) -> list[_Case]:
    wanted = list(dict.fromkeys(int(i) for i in ids))
    case = table_of(Case).c
    rows = _select_in(conn, sa.select(case.id, case.case_ref, case.status)
                      .where(case.inspection_id == inspection.id), case.id, wanted)
    by_id = {int(r[0]): _Case(int(r[0]), str(r[1]), str(r[2])) for r in rows}
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise NotFoundError(f"no case with id {', '.join(map(str, missing[:SHOWN_REFS]))} in "
                            f"inspection {inspection.name!r}: nothing was allocated")
    return [by_id[i] for i in wanted]


def _select_in(conn: sa.Connection, stmt: sa.Select[Any], column: sa.ColumnElement[Any],
               values: list[Any], chunk: int = 500) -> list[tuple[Any, ...]]:
    """Rows of `stmt` whose `column` is in `values` (a few hundred bound at a time)."""
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(values), chunk):
        rows += [tuple(r) for r in conn.execute(
            stmt.where(column.in_(values[start:start + chunk])))]
    return rows


def _refs(refs: Sequence[str]) -> str:
    shown = ", ".join(refs[:SHOWN_REFS])
    more = f" and {len(refs) - SHOWN_REFS} more" if len(refs) > SHOWN_REFS else ""
    return f"case{'s' if len(refs) > 1 else ''} {shown}{more}"


# ----------------------------------------------------------------------- the writing

@dataclass(frozen=True)
class Planned:
    """One case's allocation as it is to be: its person (None: unallocated) and, when
    `set_due`, its due date (None: cleared)."""

    case_id: int
    person_id: int | None
    due: date | None = None
    set_due: bool = False


def apply(conn: sa.Connection, inspection_id: int, plan: Iterable[Planned],
          who: str) -> tuple[int, int]:
    """Write allocations in the caller's write transaction: an event per changed field,
    then one UPDATE that leaves `version` alone. Returns (cases changed, events).

    The caller has checked who may allocate and what (`allocate`, the case importer,
    the demo): this only writes. Cases left unallocated lose their due date.
    """
    rows = list(plan)
    if not rows:
        return 0, 0
    sqlite = conn.dialect.name == "sqlite"

    def due_value(p: Planned) -> Any:
        if p.person_id is None or not p.set_due or p.due is None:
            return None
        return p.due.isoformat() if sqlite else p.due

    _stage(conn, [(p.case_id, p.person_id, due_value(p),
                   1 if p.set_due or p.person_id is None else 0) for p in rows])
    at = utcnow()
    joined = f'FROM {_STAGE} s JOIN "case" c ON c.id = s.case_id'
    events = 0
    with chain_bulk.bulk(conn, inspection_id) as trail:
        events += trail.write(f"""
            SELECT :at, :who, 'case', c.id, c.case_ref, 'allocated_to', o.name, n.name
            {joined} LEFT JOIN inspector o ON o.id = c.allocated_to
                     LEFT JOIN inspector n ON n.id = s.person_id
            WHERE c.allocated_to IS DISTINCT FROM s.person_id ORDER BY c.id""",
                              at=at, who=who)
        events += trail.write(f"""
            SELECT :at, :who, 'case', c.id, c.case_ref, 'due_date',
                   CAST(c.due_date AS VARCHAR(40)), CAST(s.due AS VARCHAR(40))
            {joined} WHERE s.set_due = 1 AND c.due_date IS DISTINCT FROM s.due
            ORDER BY c.id""", at=at, who=who)
    # Core, not the ORM: the mapper's version counter would bump `version` and give an
    # inspector rating the case a conflict over something that is not case data.
    changed = conn.execute(sa.text(f"""
        UPDATE "case" SET allocated_to = s.person_id,
                          due_date = CASE WHEN s.set_due = 1 THEN s.due
                                          ELSE "case".due_date END
        FROM {_STAGE} s WHERE "case".id = s.case_id
          AND ("case".allocated_to IS DISTINCT FROM s.person_id
               OR (s.set_due = 1 AND "case".due_date IS DISTINCT FROM s.due))""")).rowcount
    conn.exec_driver_sql(f"DROP TABLE {_STAGE}")
    return int(changed), events


def _stage(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
    sa.Table(_STAGE, sa.MetaData(), sa.Column("case_id", sa.Integer),
             sa.Column("person_id", sa.Integer), sa.Column("due", sa.Date),
             sa.Column("set_due", sa.Integer), prefixes=["TEMPORARY"]).create(conn)
    raw = conn.connection.driver_connection
    columns = "case_id, person_id, due, set_due"
    if conn.dialect.name == "sqlite":
        raw.executemany(f"INSERT INTO {_STAGE} ({columns}) VALUES (?, ?, ?, ?)",  # type: ignore[union-attr]
                        rows)
        return
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
