"""Retention: remove an inspection's case-level data once its report is final.

What is removed: the inspection's cases (and their profiles), answers, notes, note
drafts, data queries with their threads, and sites. What is kept: the inspection
itself, its aggregate report tables (stored, as JSON, in the 'purge' audit event, which
the database keeps append-only), and the audit trail with its old and new values
redacted (the digest of those values stays, so the trail's hash chain still verifies,
and the inspection's trail key goes, so the digests cannot be reversed): a query's
comments in the trail are redacted with the rest. On SQLite the deletion runs with
`secure_delete=ON`, then the WAL is checkpointed and truncated and the file is
vacuumed, so no deleted text survives in the database files themselves (copies made
earlier - backups, pre-migration .bak files - are the operator's to destroy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from audit.errors import NotFoundError
from audit.permissions import Actor, require
from audit.store import chain
from audit.store.engine import Database
from audit.store.models import AuditEvent, Inspection, table_of, utcnow

REDACTED = chain.REDACTED
# SQLite trigger that refuses UPDATE on audit_event (migrations 0001 and 0003).
NO_UPDATE_TRIGGER = "audit_event_no_update"


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed, what it kept and what the operator should know."""

    inspection: str
    removed: dict[str, int]
    snapshot: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def aggregate_snapshot(db: Database, inspection: str, *, actor: Actor) -> dict[str, Any]:
    """The inspection's report tables as JSON (what survives a purge)."""
    from audit.report.build import compile_report
    from audit.report.jsonout import report_to_json

    return report_to_json(compile_report(db, actor=actor, inspections=[inspection]))


def stored_snapshot(db: Database, inspection: str) -> dict[str, Any] | None:
    """The aggregate tables kept by the latest purge of an inspection, if any."""
    table = table_of(AuditEvent)
    with db.engine.connect() as conn:
        text = conn.execute(sa.select(table.c.new_value).where(
            table.c.entity == "purge", table.c.key == inspection)
            .order_by(table.c.id.desc()).limit(1)).scalar()
    return json.loads(text) if text else None


def _count(conn: sa.Connection, sql: str, **params: Any) -> int:
    return int(conn.execute(sa.text(sql), params).scalar_one())


_CASES = 'SELECT id FROM "case" WHERE inspection_id = :i'
_COUNTS = {
    "cases": 'SELECT COUNT(*) FROM "case" WHERE inspection_id = :i',
    "answers": f"SELECT COUNT(*) FROM answer WHERE case_id IN ({_CASES}) AND value IS NOT NULL",
    "notes": f"SELECT COUNT(*) FROM answer WHERE case_id IN ({_CASES}) AND note IS NOT NULL",
    "drafts": f"SELECT COUNT(*) FROM note_draft WHERE case_id IN ({_CASES})",
    "queries": f"SELECT COUNT(*) FROM query WHERE case_id IN ({_CASES})",
    "sites": "SELECT COUNT(*) FROM site WHERE inspection_id = :i",
    "events_redacted": f"SELECT COUNT(*) FROM audit_event WHERE case_id IN ({_CASES}) "
                       "AND (old_value IS NOT NULL OR new_value IS NOT NULL)",
}
# Children first: foreign keys are enforced.
_QUERIES = f"SELECT id FROM query WHERE case_id IN ({_CASES})"
_DELETES = (
    # A query's thread holds comments on the answers: it goes with them.
    f"DELETE FROM query_message WHERE query_id IN ({_QUERIES})",
    f"DELETE FROM query WHERE case_id IN ({_CASES})",
    f"DELETE FROM note_draft WHERE case_id IN ({_CASES})",
    f"DELETE FROM hidden_answer WHERE case_id IN ({_CASES})",
    f"DELETE FROM last_change WHERE case_id IN ({_CASES})",
    f"DELETE FROM answer WHERE case_id IN ({_CASES})",
    'DELETE FROM "case" WHERE inspection_id = :i',
    "DELETE FROM site WHERE inspection_id = :i",
)
# SQLite's redaction (PostgreSQL's is the owner's function iom_audit_redact, the same
# in SQL): the values' digest, keyed with the inspection's trail secret, replaces them.
_REDACT = (f"UPDATE audit_event SET value_digest = iom_value_digest("
           f"(SELECT secret FROM trail_key WHERE inspection_id = :i), old_value, new_value), "
           f"old_value = CASE WHEN old_value IS NULL THEN NULL ELSE '{REDACTED}' END, "
           f"new_value = CASE WHEN new_value IS NULL THEN NULL ELSE '{REDACTED}' END "
           f"WHERE case_id IN ({_CASES}) AND value_digest IS NULL")


def _redact(conn: sa.Connection, inspection_id: int) -> None:
    chain.seal(conn)  # every event of the inspection is in the chain before redaction
    if conn.dialect.name == "sqlite":
        # DDL is transactional in SQLite, and this transaction holds the write lock: no
        # other writer ever sees the trail without its trigger. (Whoever holds the file
        # can do the same: the hash chain is what shows a change made that way.)
        trigger = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (NO_UPDATE_TRIGGER,)).scalar()
        raw = conn.connection.driver_connection
        raw.create_function("iom_value_digest", 3, chain.value_digest)  # type: ignore[union-attr]
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {NO_UPDATE_TRIGGER}")
        try:
            conn.execute(sa.text(_REDACT), {"i": inspection_id})
        finally:
            raw.create_function("iom_value_digest", 3, None)  # type: ignore[union-attr]
        if trigger:
            conn.exec_driver_sql(trigger)
        conn.execute(sa.text("DELETE FROM trail_key WHERE inspection_id = :i"),
                     {"i": inspection_id})
    else:
        # The one guarded path: the owner's function checks the caller is a lead, and
        # the trail's trigger lets an UPDATE through only inside it.
        conn.execute(sa.text("SELECT iom_audit_redact(:i)"), {"i": inspection_id})


def purge_inspection(db: Database, inspection: str, *, actor: Actor) -> PurgeResult:
    """Remove an inspection's case-level data, keeping its aggregate tables (lead only)."""
    with db.engine.connect() as conn:
        require(conn, actor, "purge")
        found = conn.execute(sa.select(col(Inspection.id)).where(
            col(Inspection.name) == inspection)).scalar()
    if found is None:
        raise NotFoundError(f"no inspection named {inspection!r}")
    sqlite = db.location.is_sqlite
    with db.engine.connect() as conn:
        left = _count(conn, _COUNTS["cases"], i=found) + _count(conn, _COUNTS["sites"], i=found)
    if not left:
        # Already purged: only finish the compaction (e.g. the WAL was busy last time).
        warnings = _compact(db) if sqlite else _vacuum_postgres(db)
        return PurgeResult(inspection, dict.fromkeys(_COUNTS, 0),
                           stored_snapshot(db, inspection) or {}, warnings + _older_copies(db))
    snapshot = aggregate_snapshot(db, inspection, actor=actor)
    with db.write() as conn:
        require(conn, actor, "purge")
        if sqlite:
            # Overwrite deleted content with zeros instead of leaving it in free pages.
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        removed = {k: _count(conn, sql, i=found) for k, sql in _COUNTS.items()}
        _redact(conn, found)
        for sql in _DELETES:
            conn.execute(sa.text(sql), {"i": found})
        conn.execute(sa.insert(table_of(AuditEvent)).values(
            at=utcnow(), who=actor.name, entity="purge", key=inspection, field="aggregate_report",
            old_value=json.dumps(removed), new_value=json.dumps(snapshot, sort_keys=True)))
    warnings = _compact(db) if sqlite else _vacuum_postgres(db)
    warnings += _older_copies(db)
    return PurgeResult(inspection, removed, snapshot, warnings)


def _compact(db: Database) -> list[str]:
    """Checkpoint and truncate the WAL and vacuum, so deleted text leaves the files."""
    warnings: list[str] = []
    # The raw connection runs in autocommit (isolation_level=None): VACUUM refuses to run
    # inside the transaction SQLAlchemy would open.
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA secure_delete=ON")
        busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        cursor.execute("VACUUM")
        busy = busy or cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        cursor.close()
    finally:
        raw.close()
    if busy:
        warnings.append("another program had the database open, so its write-ahead log "
                        "could not be emptied: close it and run `iom-audit purge` again "
                        "with the same inspection (or VACUUM) to finish")
    return warnings


def _vacuum_postgres(db: Database) -> list[str]:
    """Reclaim the deleted rows; PostgreSQL keeps them in data files until vacuumed."""
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("query_message", "query", "note_draft", "hidden_answer",
                          "last_change", "answer", '"case"',
                          "site", "audit_event"):
                conn.exec_driver_sql(f"VACUUM (FULL) {table}")
    except sa.exc.DBAPIError as exc:
        return [f"VACUUM FULL was refused ({str(exc.orig).strip().splitlines()[0]}): ask the "
                "database owner to run it so that deleted rows leave the data files"]
    return ["PostgreSQL's write-ahead log archives and earlier pg_dump files still hold the "
            "purged data until they expire: apply the same retention to them"]


def _older_copies(db: Database) -> list[str]:
    path = db.location.path
    if path is None:
        return []
    copies = sorted(p.name for p in Path(path).parent.glob(f"{path.name}.*bak"))
    if not copies:
        return []
    return [f"older copies of this database still hold the purged data: {', '.join(copies)} "
            f"(in {path.parent}); destroy them or apply the same purge to them"]
