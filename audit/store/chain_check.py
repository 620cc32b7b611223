"""Checking the audit trail: its hash chain recomputed, and the triggers that guard it.

Works on a SQLAlchemy connection or on a plain DB-API connection (a backup file being
checked before a restore), through one `Query` function: SQL in, rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from audit.store.chain import (
    EVENTS_WITH_SECRET,
    GENESIS,
    REDACTED,
    canonical_time,
    event_hash,
    values_of,
)

Query = Callable[[str], Iterable[Sequence[Any]]]
"""Runs one SQL statement (no parameters) and returns its rows."""

SQLITE_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete", "audit_event_no_replace")
POSTGRES_TRIGGERS = ("audit_event_sealed_insert", "audit_event_no_update",
                     "audit_event_no_delete", "audit_event_no_truncate")
POSTGRES_FUNCTIONS = ("iom_audit_seal", "iom_audit_redact")
_KEEP_BROKEN = 20  # broken events listed in full; the rest are counted


@dataclass(frozen=True)
class BrokenEvent:
    """An event whose stored hash its content no longer gives, and why."""

    id: int
    seq: int
    at: str
    who: str
    entity: str
    key: str
    field: str | None
    reason: str

    def describe(self) -> str:
        what = f"{self.entity} {self.key}" + (f" ({self.field})" if self.field else "")
        return (f"event {self.id} (seq {self.seq}, {self.at}, by {self.who}, {what}): "
                f"{self.reason}")


@dataclass(frozen=True)
class ChainReport:
    """What a check of the trail found."""

    events: int  # sealed events checked
    head_seq: int
    head_hash: str
    unsealed: int
    broken: tuple[BrokenEvent, ...] = ()
    broken_count: int = 0
    missing_guards: tuple[str, ...] = ()
    redacted: int = 0  # events whose values a purge replaced (their digest is kept)

    @property
    def ok(self) -> bool:
        return not self.broken_count and not self.missing_guards

    def problems(self) -> list[str]:
        """One line per problem (empty when the trail verifies)."""
        lines = [f"broken: {b.describe()}" for b in self.broken]
        if self.broken_count > len(self.broken):
            lines.append(f"... and {self.broken_count - len(self.broken)} more broken event(s)")
        lines += [f"missing protection: {m}" for m in self.missing_guards]
        return lines


def query_of(conn: sa.Connection) -> Query:
    """A `Query` on a SQLAlchemy connection (streamed from a PostgreSQL server)."""
    streamed = conn.execution_options(stream_results=True, yield_per=10_000)
    return lambda sql: streamed.exec_driver_sql(sql)


def dbapi_query(conn: Any) -> Query:
    """A `Query` on a DB-API connection (sqlite3 or sqlcipher3)."""
    return lambda sql: conn.execute(sql)


def missing_guards(query: Query, dialect: str) -> tuple[str, ...]:
    """The triggers (and on PostgreSQL the owner's functions) the trail lacks."""
    if dialect == "sqlite":
        found = {str(name): str(sql or "") for name, sql in query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'audit_event'")}
        # A trigger that no longer raises is as good as none.
        return tuple(f"trigger {t}" for t in SQLITE_TRIGGERS
                     if "RAISE(ABORT" not in found.get(t, "").upper().replace(" ", ""))
    enabled = {str(name) for name, state in query(
        "SELECT tgname, tgenabled FROM pg_trigger "
        "WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal") if state != "D"}
    functions = {str(name) for (name,) in query(
        "SELECT proname FROM pg_proc WHERE prosecdef AND proname IN "
        f"({', '.join(repr(f) for f in POSTGRES_FUNCTIONS)})")}
    return (tuple(f"trigger {t}" for t in POSTGRES_TRIGGERS if t not in enabled)
            + tuple(f"function {f}" for f in POSTGRES_FUNCTIONS if f not in functions))


def verify(query: Query, dialect: str) -> ChainReport:
    """Recompute the chain in seq order; every event whose hash differs is broken.

    Each link is checked against the stored hash of the event before it, so one edited
    event is named alone rather than everything after it.
    """
    prev, expected = GENESIS, 1
    broken: list[BrokenEvent] = []
    count = events = redacted = 0
    head_seq = 0
    rows = query(f"{EVENTS_WITH_SECRET} WHERE e.seq IS NOT NULL ORDER BY e.seq")
    for (event_id, seq, stored_hash, at, who, entity, case_id, key, fld, old, new,
         stored_digest, secret) in rows:
        events += 1
        reason = None
        if seq != expected:
            reason = (f"the event(s) before it (seq {expected} to {seq - 1}) are missing"
                      if seq > expected else "its position is taken twice")
        elif stored_digest is not None and (old not in (None, REDACTED)
                                            or new not in (None, REDACTED)):
            reason = "its values were changed after a purge redacted them"
        else:
            try:
                computed = event_hash(prev, seq, at, who, entity, case_id, key, fld,
                                      values_of(stored_digest, secret, old, new))
            except (TypeError, ValueError):
                computed = None
            if computed != stored_hash:
                reason = "its content does not match its hash (changed after it was written)"
        if stored_digest is not None:
            redacted += 1
        if reason is not None:
            count += 1
            if len(broken) < _KEEP_BROKEN:
                broken.append(BrokenEvent(int(event_id), int(seq), _when(at), str(who),
                                          str(entity), str(key), fld, reason))
        prev, expected, head_seq = str(stored_hash), int(seq) + 1, int(seq)
    unsealed = next(iter(query("SELECT COUNT(*) FROM audit_event WHERE seq IS NULL")))[0]
    return ChainReport(events, head_seq, prev, int(unsealed), tuple(broken), count,
                       missing_guards(query, dialect), redacted)


def _when(at: Any) -> str:
    try:
        return canonical_time(at)[:19].replace("T", " ") + " UTC"
    except (TypeError, ValueError):
        return str(at)
