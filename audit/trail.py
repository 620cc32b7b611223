"""The audit trail: who changed what, when; written in the same transaction as the change.

Events are written here unsealed; `Database.write()` seals them into the trail's hash
chain before the commit (`audit/store/chain.py` defines the chain, `verify_trail` checks
it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from audit import qa_rules
from audit.permissions import Actor, require
from audit.store import chain_check
from audit.store.chain_check import ChainReport
from audit.store.engine import Database
from audit.store.models import AuditEvent, Case, Inspection, table_of, utcnow


def as_text(value: Any) -> str | None:
    """The stored text form of a value in the trail (bools as yes/no, dates ISO)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record(session: Session, *, who: str, entity: str, key: str, field: str | None = None,
           old: Any = None, new: Any = None, case_id: int | None = None,
           at: datetime | None = None) -> None:
    """Add one event to the session's transaction."""
    session.add(AuditEvent(at=at or utcnow(), who=who, entity=entity, key=key, field=field,
                           old_value=as_text(old), new_value=as_text(new), case_id=case_id))


def record_many(conn: sa.Connection, events: Iterable[dict[str, Any]]) -> int:
    """Insert many events at once (bulk paths); each dict holds AuditEvent columns."""
    rows = list(events)
    if rows:
        conn.execute(sa.insert(table_of(AuditEvent)), rows)
    return len(rows)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a case's history."""

    at: datetime
    who: str
    entity: str
    key: str
    field: str | None
    old: str | None
    new: str | None

    @property
    def what(self) -> str:
        """The entity as `history` shows it: a data query with its number ('query #3',
        from its key 'case_ref/question/rater#3', `audit.queries.trail_key`)."""
        if self.entity == "query" and "#" in self.key:
            return f"query #{self.key.rsplit('#', 1)[1]}"
        return self.entity


def case_history(db: Database, case_ref: str, inspections: Sequence[str] | None = None, *,
                 actor: Actor) -> dict[str, list[HistoryEntry]]:
    """Every event of the cases with this reference, per inspection name, oldest first.

    The trail holds answers and notes: only those who may read case records see it, and
    not while they are rating the case's QA blind (`audit.qa_rules`).
    """
    with db.session() as session:
        require(session, actor, "read_cases")
        return _history(session, case_ref, inspections, actor.name)


def _history(session: Session, case_ref: str, inspections: Sequence[str] | None,
             reader: str) -> dict[str, list[HistoryEntry]]:
    cases = sa.select(col(Case.id), col(Inspection.name)).join(
        Inspection, col(Case.inspection_id) == Inspection.id).where(col(Case.case_ref) == case_ref)
    if inspections:
        cases = cases.where(col(Inspection.name).in_(inspections))
    out: dict[str, list[HistoryEntry]] = {}
    for case_id, inspection in session.execute(cases).all():
        qa_rules.require_sighted(session, reader, case_id)
        table = table_of(AuditEvent)
        rows = session.execute(sa.select(table).where(table.c.case_id == case_id)
                               .order_by(table.c.at, table.c.id)).mappings()
        out[inspection] = [HistoryEntry(r["at"], r["who"], r["entity"], r["key"], r["field"],
                                        r["old_value"], r["new_value"]) for r in rows]
    return out


def verify_trail(db: Database, *, actor: Actor) -> ChainReport:
    """Recompute the trail's hash chain and check the triggers that guard it.

    Read in one snapshot (REPEATABLE READ on PostgreSQL; one read transaction on SQLite),
    so writers meanwhile neither block it nor make it see half a seal.
    """
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        require(conn, actor, "verify_trail")
        return chain_check.verify(chain_check.query_of(conn), conn.dialect.name)
