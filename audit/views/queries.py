"""Data queries as people read them: my queries, queries by site, a case's, one thread.

Aggregated in SQL and returned as plain dataclasses. Only those who may read case records
see queries, and a query on a case's primary (or moderated) rating is left out for
someone still rating that case's QA blind, as the rating itself is (`audit.qa_rules`).
The steps themselves are `audit.queries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from audit import qa_rules
from audit.errors import NotFoundError, UsageError
from audit.inspections import inspections_for_reading
from audit.permissions import Actor, require
from audit.store.engine import Database
from audit.store.models import (
    QUERY_ACTIONS,
    QUERY_STATUSES,
    Case,
    Inspection,
    Inspector,
    Query,
    QueryMessage,
    Site,
    table_of,
)

STATUSES = tuple(QUERY_STATUSES)


@dataclass(frozen=True)
class QueryRow:
    """One query as a list shows it; `awaiting` says whose move it is for the reader
    ("respond": theirs to answer, "close": theirs to close or re-open, "" otherwise)."""

    id: int
    case_id: int
    case_ref: str
    inspection: str
    site: str | None
    question_id: str
    rater: str
    status: str
    assignee: str | None
    opened_by: str
    opened_at: datetime
    updated_at: datetime
    awaiting: str = ""

    @property
    def status_label(self) -> str:
        return QUERY_STATUSES.get(self.status, self.status)


@dataclass(frozen=True)
class SiteQueries:
    """Queries of one site (None: cases without a site) per status."""

    inspection: str
    site: str | None
    open: int
    answered: int
    closed: int

    @property
    def total(self) -> int:
        return self.open + self.answered + self.closed


@dataclass(frozen=True)
class Message:
    """One step of a thread."""

    at: datetime
    author: str
    action: str
    text: str
    old_value: str | None
    new_value: str | None

    @property
    def action_label(self) -> str:
        return QUERY_ACTIONS.get(self.action, self.action)


@dataclass(frozen=True)
class Thread:
    """A query and its messages, oldest first."""

    query: QueryRow
    messages: tuple[Message, ...]


def _rows(session: Session, where: Sequence[sa.ColumnElement[bool]],
          reader: str) -> list[QueryRow]:
    """The queries matching `where`, without those hidden from a blind QA rater."""
    people = table_of(Inspector)
    assignee, opener = people.alias("assignee"), people.alias("opener")
    stmt = (sa.select(col(Query.id), col(Query.case_id), col(Case.case_ref),
                      col(Inspection.name), col(Site.name), col(Query.question_id),
                      col(Query.rater), col(Query.status), assignee.c.name, opener.c.name,
                      col(Query.opened_at), col(Query.updated_at))
            .select_from(Query)
            .join(Case, col(Case.id) == col(Query.case_id))
            .join(Inspection, col(Inspection.id) == col(Case.inspection_id))
            .outerjoin(Site, col(Site.id) == col(Case.site_id))
            .outerjoin(assignee, assignee.c.id == col(Query.assignee_id))
            .join(opener, opener.c.id == col(Query.opened_by))
            .where(*where)
            .order_by(col(Query.updated_at).desc(), col(Query.id).desc()))
    rows = [QueryRow(*r) for r in session.execute(stmt)]
    blind = qa_rules.blind_cases(session, reader, {r.case_id for r in rows}) if rows else set()
    return [r for r in rows if r.rater == qa_rules.QA or r.case_id not in blind]


def inspection_ids(db: Database, names: Sequence[str] | None, *,
                   actor: Actor) -> list[int] | None:
    """The ids of the named inspections (NotFoundError for an unknown name); None (every
    inspection) when none is named."""
    if not names:
        return None
    with db.session() as session:
        require(session, actor, "read_cases")
        return [i.id for i in inspections_for_reading(session, names) if i.id is not None]


def _scope(inspection_ids: Sequence[int] | None) -> list[sa.ColumnElement[bool]]:
    return [col(Case.inspection_id).in_(list(inspection_ids))] if inspection_ids else []


def list_queries(db: Database, *, actor: Actor, inspection_ids: Sequence[int] | None = None,
                 status: str | None = None) -> list[QueryRow]:
    """Every query (of these inspections, in this status), the latest step first."""
    where = _scope(inspection_ids)
    if status is not None:
        where.append(col(Query.status) == check_status(status))
    with db.session() as session:
        require(session, actor, "read_cases")
        return _rows(session, where, actor.name)


def my_queries(db: Database, *, actor: Actor,
               inspection_ids: Sequence[int] | None = None) -> list[QueryRow]:
    """What waits for me: open queries assigned to me (for a lead also those assigned to
    nobody), and answered queries I opened (for a lead every answered one) to close or
    re-open."""
    with db.session() as session:
        role = require(session, actor, "read_cases")
        me = session.execute(sa.select(col(Inspector.id))
                             .where(col(Inspector.name) == actor.name)).scalar()
        lead = role == "lead"
        mine = col(Query.assignee_id) == me
        respond = sa.and_(col(Query.status) == "open",
                          sa.or_(mine, col(Query.assignee_id).is_(None)) if lead else mine)
        close = sa.and_(col(Query.status) == "answered",
                        sa.true() if lead else col(Query.opened_by) == me)
        rows = _rows(session, [*_scope(inspection_ids), sa.or_(respond, close)], actor.name)
    return [_awaiting(r) for r in rows]


def _awaiting(row: QueryRow) -> QueryRow:
    return replace(row, awaiting="respond" if row.status == "open" else "close")


def by_site(db: Database, *, actor: Actor,
            inspection_ids: Sequence[int] | None = None) -> list[SiteQueries]:
    """How many queries each site has in each status (sites with none left out)."""
    counts = [sa.func.sum(sa.case((col(Query.status) == s, 1), else_=0)) for s in STATUSES]
    stmt = (sa.select(col(Inspection.name), col(Site.name), *counts)
            .select_from(Query)
            .join(Case, col(Case.id) == col(Query.case_id))
            .join(Inspection, col(Inspection.id) == col(Case.inspection_id))
            .outerjoin(Site, col(Site.id) == col(Case.site_id))
            .where(*_scope(inspection_ids))
            .group_by(col(Inspection.name), col(Site.name))
            .order_by(col(Inspection.name), col(Site.name)))
    with db.session() as session:
        require(session, actor, "read_cases")
        return [SiteQueries(name, site, *(int(n or 0) for n in rest))
                for name, site, *rest in session.execute(stmt)]


def case_queries(db: Database, case_id: int, *, actor: Actor) -> list[QueryRow]:
    """The queries of one case (for the case screen's marks), the latest step first."""
    with db.session() as session:
        require(session, actor, "read_cases")
        return _rows(session, [col(Query.case_id) == case_id], actor.name)


def unclosed_by_question(rows: Sequence[QueryRow], rater: str) -> dict[str, str]:
    """Question id -> the status of its query not yet closed, for one rating."""
    return {r.question_id: r.status for r in rows if r.rater == rater and r.status != "closed"}


def thread(db: Database, query_id: int, *, actor: Actor) -> Thread:
    """A query and its messages (refused to a QA rater still rating the case blind)."""
    with db.session() as session:
        require(session, actor, "read_cases")
        found = session.get(Query, query_id)
        if found is None:
            raise NotFoundError(f"no query #{query_id}")
        if found.rater != qa_rules.QA:
            qa_rules.require_sighted(session, actor.name, found.case_id)
        rows = _rows(session, [col(Query.id) == query_id], actor.name)
        messages = session.execute(
            sa.select(col(QueryMessage.at), col(Inspector.name), col(QueryMessage.action),
                      col(QueryMessage.text), col(QueryMessage.old_value),
                      col(QueryMessage.new_value))
            .join(Inspector, col(Inspector.id) == col(QueryMessage.author_id))
            .where(col(QueryMessage.query_id) == query_id)
            .order_by(col(QueryMessage.at), col(QueryMessage.id))).all()
    return Thread(rows[0], tuple(Message(*m) for m in messages))


def check_status(status: str) -> str:
    """`status` if it is a query's status, else UsageError naming the statuses."""
    if status not in QUERY_STATUSES:
        raise UsageError(f"a query's status is one of {', '.join(QUERY_STATUSES)}, "
                         f"not {status!r}")
    return status


def as_json(row: QueryRow) -> dict[str, Any]:
    """A query row as `iom-audit query list --json` writes it."""
    return {"id": row.id, "inspection": row.inspection, "case_ref": row.case_ref,
            "site": row.site, "question_id": row.question_id, "rater": row.rater,
            "status": row.status, "assignee": row.assignee, "opened_by": row.opened_by,
            "opened_at": row.opened_at.isoformat(), "updated_at": row.updated_at.isoformat(),
            **({"awaiting": row.awaiting} if row.awaiting else {})}
