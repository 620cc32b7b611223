"""The case list: one filtered, sorted page of cases at a time, and its total.

Built for 100,000 cases: every call runs one COUNT and one page query (LIMIT/OFFSET),
both over indexed columns where the filter allows. Rows come back as plain `CaseRow`
dataclasses, never ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import sqlalchemy as sa

from audit.permissions import Actor, require
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Inspector, Site, table_of

SortKey = Literal["case_ref", "site", "status", "updated"]
SORT_KEYS: dict[str, str] = {"case_ref": "Case ref", "site": "Site", "status": "Status",
                             "updated": "Last updated"}
IOM_FILTERS = {"yes": "IOM", "no": "Not IOM", "unknown": "IOM unknown"}


@dataclass(frozen=True)
class CaseFilter:
    """What the list shows. `search` is a case-ref prefix; a leading `*` matches anywhere."""

    inspection_id: int | None = None
    site_id: int | None = None
    iom: str | None = None  # "yes", "no" or "unknown"
    status: str | None = None
    inspector: str | None = None  # cases with an answer by this inspector
    search: str = ""
    sort: SortKey = "case_ref"
    descending: bool = False


@dataclass(frozen=True)
class CaseRow:
    """One case as a list shows it."""

    id: int
    case_ref: str
    site: str | None
    iom: bool | None
    status: str
    updated_at: datetime | None
    inspection: str = ""
    allocated_to: str | None = None  # who rates it (audit.allocation)
    due_date: date | None = None


@dataclass(frozen=True)
class CasePage:
    """A page of rows, where it starts and how many rows match in all."""

    total: int
    offset: int
    limit: int
    rows: list[CaseRow]

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.rows) < self.total


@dataclass(frozen=True)
class Choice:
    """An id and a name for a filter choice (site, inspection)."""

    id: int
    name: str


def _conditions(filt: CaseFilter) -> list[sa.ColumnElement[bool]]:
    case = table_of(Case).c
    where: list[sa.ColumnElement[bool]] = []
    if filt.inspection_id is not None:
        where.append(case.inspection_id == filt.inspection_id)
    if filt.site_id is not None:
        where.append(case.site_id == filt.site_id)
    if filt.iom == "yes":
        where.append(case.iom.is_(True))
    elif filt.iom == "no":
        where.append(case.iom.is_(False))
    elif filt.iom == "unknown":
        where.append(case.iom.is_(None))
    if filt.status:
        where.append(case.status == filt.status)
    text = filt.search.strip()
    if text.startswith("*"):
        needle = text.lstrip("*")
        if needle:
            # Substring search cannot use an index; it scans case_ref only, which is cheap.
            where.append(case.case_ref.icontains(needle, autoescape=True))
    elif text:
        # A range rather than LIKE: it uses the (inspection_id, case_ref) unique index on
        # every backend, where LIKE would need case_sensitive_like on SQLite.
        where.append(sa.and_(case.case_ref >= text, case.case_ref < text + "\U0010ffff"))
    if filt.inspector:
        answer, inspector_t = table_of(Answer).c, table_of(Inspector)
        inspector = inspector_t.c
        by = (sa.select(answer.case_id)
              .join(inspector_t, answer.inspector_id == inspector.id)
              .where(inspector.name == filt.inspector))
        where.append(case.id.in_(by))
    return where


def _order(filt: CaseFilter) -> list[sa.ColumnElement[object]]:
    case = table_of(Case).c
    site = table_of(Site).c
    column = {"case_ref": case.case_ref, "site": site.name, "status": case.status,
              "updated": case.updated_at}[filt.sort]
    first = column.desc() if filt.descending else column.asc()
    # case_ref (then id) breaks ties, so paging never shows a row twice or skips one.
    tie = case.case_ref.desc() if filt.descending else case.case_ref.asc()
    return [first, tie, case.id] if filt.sort != "case_ref" else [first, case.id]


def list_cases(db: Database, filt: CaseFilter, *, actor: Actor, offset: int = 0,
               limit: int = 50) -> CasePage:
    """One page of the cases matching `filt`, and how many match in all."""
    case_t, site_t, inspection_t = table_of(Case), table_of(Site), table_of(Inspection)
    case, site, inspection = case_t.c, site_t.c, inspection_t.c
    person_t = table_of(Inspector)
    where = _conditions(filt)
    count = sa.select(sa.func.count()).select_from(case_t).where(*where)
    page = (sa.select(case.id, case.case_ref, site.name, case.iom, case.status,
                      case.updated_at, inspection.name, person_t.c.name, case.due_date)
            .select_from(case_t)
            .outerjoin(site_t, case.site_id == site.id)
            .join(inspection_t, case.inspection_id == inspection.id)
            .outerjoin(person_t, person_t.c.id == case.allocated_to)
            .where(*where).order_by(*_order(filt)).limit(limit).offset(max(offset, 0)))
    with db.engine.connect() as conn:
        require(conn, actor, "read_cases")
        total = conn.execute(count).scalar_one()
        rows = [CaseRow(*r) for r in conn.execute(page)]
    return CasePage(total, max(offset, 0), limit, rows)


def sites(db: Database, inspection_id: int | None = None) -> list[Choice]:
    """The sites (of one inspection, or all), by name."""
    site = table_of(Site).c
    stmt = sa.select(site.id, site.name).order_by(site.name)
    if inspection_id is not None:
        stmt = stmt.where(site.inspection_id == inspection_id)
    with db.engine.connect() as conn:
        return [Choice(*r) for r in conn.execute(stmt)]


def inspectors(db: Database) -> list[str]:
    """Names of every known inspector, sorted."""
    inspector = table_of(Inspector).c
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(inspector.name).order_by(inspector.name)).scalars())


TO_RATE = ("not_started", "in_progress")  # statuses a primary rater still has work on


def next_to_rate(db: Database, inspection_id: int, after_ref: str, *,
                 actor: Actor) -> CaseRow | None:
    """The next case in case-list order (by ref) after `after_ref` that is still to
    rate (not started or in progress) and not allocated to someone else, wrapping to the
    first; None when none is left."""
    case, person_t = table_of(Case).c, table_of(Inspector)
    # Not a case allocated to someone else: its primary rating is theirs (audit.allocation).
    mine = sa.select(person_t.c.id).where(person_t.c.name == actor.name).scalar_subquery()
    base = sa.select(case.case_ref).where(case.inspection_id == inspection_id,
                                          case.status.in_(TO_RATE), case.case_ref != after_ref,
                                          sa.or_(case.allocated_to.is_(None),
                                                 case.allocated_to == mine))
    with db.engine.connect() as conn:
        require(conn, actor, "read_cases")
        found = (conn.execute(base.where(case.case_ref > after_ref)
                              .order_by(case.case_ref).limit(1)).scalar()
                 or conn.execute(base.order_by(case.case_ref).limit(1)).scalar())
    if found is None:
        return None
    # The ref is a prefix search, so the case itself sorts first.
    page = list_cases(db, CaseFilter(inspection_id=inspection_id, search=found),
                      actor=actor, limit=1)
    return page.rows[0] if page.rows else None


def find_by_ref(db: Database, inspection_id: int, text: str, *, actor: Actor,
                limit: int = 10) -> list[CaseRow]:
    """Cases whose ref starts with `text` (case-insensitively, then anywhere), for the
    command palette: at most `limit`, by ref."""
    text = text.strip()
    if not text:
        return []
    page = list_cases(db, CaseFilter(inspection_id=inspection_id, search=text),
                      actor=actor, limit=limit)
    rows = list(page.rows)
    if len(rows) < limit:
        seen = {r.id for r in rows}
        more = list_cases(db, CaseFilter(inspection_id=inspection_id, search="*" + text),
                          actor=actor, limit=limit)
        rows += [r for r in more.rows if r.id not in seen][:limit - len(rows)]
    return rows
