"""The audit trail as a hash chain: every event's hash covers the event before it.

An event is written without a hash by anyone (the ORM, bulk SQL, a PostgreSQL function)
and *sealed* before its transaction commits (`Database.write()` calls `seal`): the
unsealed events get the next chain positions (`seq`) in id order and their hashes, under
a lock on PostgreSQL (`pg_advisory_xact_lock`) so two writers never fork the chain.
Bulk imports avoid a second pass over millions of rows (`audit/store/chain_bulk.py`).

The canonical form (version 1), the definition `audit.store.chain_check` verifies:

    hash  = sha256_hex(prev + "|v1|" + seq + "|" + at + "|" + t(who) + "|" + t(entity)
                       + "|" + case_id + "|" + t(key) + "|" + t(field) + "|" + values)
    values = value_digest if the event was redacted by a purge, else
             sha256_hex("v1|" + t(secret) + "|" + t(old_value) + "|" + t(new_value))

`prev` is the hash of the event at seq - 1 (64 zeros for seq 1); `seq` and `case_id`
are decimal (NULL is empty); `at` is UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; t(text) is
its length in Unicode code points, a colon and the text (NULL is empty), so no
separator inside a value can shift a field; the whole line is hashed as UTF-8.
`secret` is the random key of the event's inspection (table `trail_key`; NULL for
events of no case): a purge replaces the values with "[purged]", stores their digest in
`value_digest` (so the chain still verifies) and deletes the secret, so the digest of a
short answer such as "yes" cannot be reversed by trying every answer. Every column is
covered but the surrogate `id`, which orders nothing (the chain's order is `seq`):
leaving it out lets SQLite number bulk rows itself.

PostgreSQL seals in the database: migration 0003 writes the same form in SQL
(`iom_audit_line`, `iom_audit_values`, the aggregate `iom_audit_chain`), and every
PostgreSQL test that seals then verifies here, in Python, so the two cannot drift apart
unnoticed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha256

import sqlalchemy as sa

GENESIS = "0" * 64
"""The `prev` of the first event."""
VERSION = "v1"
REDACTED = "[purged]"
"""What a purge leaves in place of an old or new value."""
PG_LOCK = 0x10_A0D17_7A11
"""The PostgreSQL advisory lock held from sealing to commit (one chain head at a time)."""
_WRITE_CHUNK = 20_000  # events read, hashed and written at a time (SQLite)


def _t(value: str | None) -> str:
    return "" if value is None else f"{len(value)}:{value}"


@lru_cache(maxsize=1024)
def canonical_time(value: datetime | str) -> str:
    """`at` as the chain hashes it: UTC, microseconds, `Z` (naive values are UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def value_digest(secret: str | None, old: str | None, new: str | None) -> str:
    """The digest of an event's old and new values, keyed with its inspection's secret."""
    text = f"{VERSION}|{_t(secret)}|{_t(old)}|{_t(new)}"
    return sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def chain_line_hash(prev: str, seq: int, part: str, values: str) -> str:
    """The hash of an event from its canonical middle `part` (see `event_hash`)."""
    line = f"{prev}|{VERSION}|{seq}|{part}|{values}"
    return sha256(line.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=1024)
def canonical_middle(at: datetime | str, who: str, entity: str) -> str:
    """`at`, `who` and `entity` in the canonical form (bulk writes repeat them row after
    row: computed once)."""
    return f"{canonical_time(at)}|{_t(who)}|{_t(entity)}"


def canonical_part(at: datetime | str, who: str, entity: str, case_id: int | None, key: str,
                   field: str | None) -> str:
    """The event's own columns in the canonical form, between `seq` and `values`."""
    return (f"{canonical_middle(at, who, entity)}|{'' if case_id is None else case_id}"
            f"|{_t(key)}|{_t(field)}")


def event_hash(prev: str, seq: int, at: datetime | str, who: str, entity: str,
               case_id: int | None, key: str, field: str | None, values: str) -> str:
    """The hash of one event chained to `prev` (see the module docstring)."""
    return chain_line_hash(prev, seq, canonical_part(at, who, entity, case_id, key, field),
                           values)


def values_of(stored_digest: str | None, secret: str | None, old: str | None,
              new: str | None) -> str:
    """The `values` part of an event: its stored digest once redacted, else computed."""
    return stored_digest if stored_digest is not None else value_digest(secret, old, new)


# -- reading the chain

# Each event with its inspection's secret (none for events of no case, or of a case that
# no longer exists: those were redacted by a purge and carry their value digest).
EVENT_COLUMNS = ("e.id, e.seq, e.hash, e.at, e.who, e.entity, e.case_id, e.key, e.field, "
                 "e.old_value, e.new_value, e.value_digest, k.secret")
EVENTS_WITH_SECRET = (f"SELECT {EVENT_COLUMNS} FROM audit_event e "
                      'LEFT JOIN "case" c ON c.id = e.case_id '
                      "LEFT JOIN trail_key k ON k.inspection_id = c.inspection_id")


def head(conn: sa.Connection) -> tuple[int, str]:
    """(seq, hash) of the chain's last sealed event; (0, GENESIS) for an empty chain."""
    row = conn.exec_driver_sql(
        "SELECT seq, hash FROM audit_event "
        "WHERE seq = (SELECT MAX(seq) FROM audit_event)").first()
    if row is None:
        return 0, GENESIS
    return int(row[0]), str(row[1])


def _ensure_secrets(conn: sa.Connection, inspection_ids: Sequence[int]) -> None:
    if inspection_ids:
        conn.execute(sa.text("INSERT INTO trail_key (inspection_id, secret) VALUES (:i, :s)"),
                     [{"i": i, "s": secrets.token_hex(32)} for i in inspection_ids])


def secret_of(conn: sa.Connection, inspection_id: int) -> str:
    """The trail secret of an inspection, created on first use."""
    found = conn.execute(sa.text("SELECT secret FROM trail_key WHERE inspection_id = :i"),
                         {"i": inspection_id}).scalar()
    if found is None:
        _ensure_secrets(conn, [inspection_id])
        return secret_of(conn, inspection_id)
    return str(found)


def _unsealed_ids(conn: sa.Connection) -> list[int]:
    return [int(i) for i in conn.exec_driver_sql(
        "SELECT id FROM audit_event WHERE seq IS NULL ORDER BY id").scalars()]


EVENT_FIELDS = ("at", "who", "entity", "case_id", "key", "field", "old_value", "new_value")
PENDING = "iom_pending_event"
"""PostgreSQL: a temporary table of bulk-written events, sealed into the trail at commit."""


def _pending(conn: sa.Connection) -> bool:
    if conn.dialect.name != "postgresql" or not conn.info.pop(PENDING, False):
        return False
    return bool(conn.exec_driver_sql(
        f"SELECT to_regclass('pg_temp.{PENDING}') IS NOT NULL").scalar()) and bool(
        conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM pg_temp.{PENDING})").scalar())


def _ensure_secrets_for(conn: sa.Connection, pending: bool) -> None:
    """A secret for every inspection whose cases have events waiting to be sealed."""
    waiting = conn.exec_driver_sql(
        'SELECT DISTINCT c.inspection_id FROM audit_event e JOIN "case" c ON c.id = e.case_id '
        "WHERE e.seq IS NULL" + (f' UNION SELECT c.inspection_id FROM pg_temp.{PENDING} e '
                                 'JOIN "case" c ON c.id = e.case_id' if pending else "")
    ).scalars().all()
    known = set(conn.exec_driver_sql("SELECT inspection_id FROM trail_key").scalars())
    _ensure_secrets(conn, sorted({int(i) for i in waiting} - known))


def seal(conn: sa.Connection) -> int:
    """Chain every unsealed event, in id order, in the caller's transaction; how many.

    Called before every write transaction commits. SQLite: computed here, written with
    an UPDATE the no-update trigger allows (seq and hash from empty, nothing else).
    PostgreSQL: the database computes the chain itself, under an advisory lock taken
    here, at the end of the transaction (so a writer never holds it while waiting for
    another's row locks) and held until the commit, so the next writer chains onto
    what this one sealed: `iom_audit_seal()` (the owner's function: the application role
    may not UPDATE the trail) seals events in place, and bulk-written events waiting in
    `PENDING` are moved into the trail already sealed, as the chain's next links.
    """
    pending = _pending(conn)
    if not pending and not _unsealed_ids(conn):
        return 0
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK})")
        _ensure_secrets_for(conn, pending)
        count = int(conn.exec_driver_sql("SELECT iom_audit_seal()").scalar_one())
        return count + (_move_pending(conn) if pending else 0)
    _ensure_secrets_for(conn, False)
    ids = _unsealed_ids(conn)
    seq, prev = head(conn)
    chunk = sa.text(f"{EVENTS_WITH_SECRET} WHERE e.id BETWEEN :lo AND :hi AND e.seq IS NULL "
                    "ORDER BY e.id")
    for start in range(0, len(ids), _WRITE_CHUNK):
        part = ids[start:start + _WRITE_CHUNK]
        sealed: list[tuple[int, str, int]] = []  # (seq, hash, id)
        rows = conn.execute(chunk, {"lo": part[0], "hi": part[-1]}).all()
        for (event_id, _, _, at, who, entity, case_id, key, field, old, new, stored,
             secret) in rows:
            seq += 1
            prev = event_hash(prev, seq, at, who, entity, case_id, key, field,
                              values_of(stored, secret, old, new))
            sealed.append((seq, prev, event_id))
        conn.exec_driver_sql("UPDATE audit_event SET seq = ?, hash = ? WHERE id = ?", sealed)
    return len(ids)


def _move_pending(conn: sa.Connection) -> int:
    """PostgreSQL: chain the bulk-written events in the database and move them into the
    trail, each written once (sealing them in place would write every row twice)."""
    seq, prev = head(conn)
    fields = ", ".join(EVENT_FIELDS)
    moved = conn.execute(sa.text(
        f"INSERT INTO audit_event ({fields}, seq, hash) "
        f"WITH todo AS (SELECT {', '.join(f'p.{f}' for f in EVENT_FIELDS)}, "
        "  :seq + row_number() OVER (ORDER BY p.n) AS seq, "
        "  iom_audit_values(k.secret, p.old_value, p.new_value) AS vals "
        f" FROM pg_temp.{PENDING} p LEFT JOIN \"case\" c ON c.id = p.case_id "
        "  LEFT JOIN trail_key k ON k.inspection_id = c.inspection_id) "
        f"SELECT {fields}, seq, iom_audit_chain(CAST(:prev AS TEXT), "
        "  iom_audit_line(seq, at, who, entity, case_id, key, field, vals)) "
        "  OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) "
        "FROM todo ORDER BY seq"), {"seq": seq, "prev": prev}).rowcount
    conn.exec_driver_sql(f"TRUNCATE pg_temp.{PENDING}")
    return int(moved)
