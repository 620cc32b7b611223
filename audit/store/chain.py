"""The audit trail as a hash chain: every event's hash covers the event before it.

An event is written without a hash by anyone (the ORM, bulk SQL, a PostgreSQL function)
and *sealed* before its transaction commits (`Database.write()` calls `seal`): the
unsealed events get the next chain positions (`seq`) in id order and their hashes, under
a lock on PostgreSQL (`pg_advisory_xact_lock`) so two writers never fork the chain.
SQLite imports of millions of answers chain their events inside the INSERT itself
(`bulk`), with no second pass.

The canonical form (version 1), the one definition `audit.store.chain_check` verifies:

    hash  = sha256_hex(prev + "|v1|" + seq + "|" + at + "|" + t(who) + "|" + t(entity)
                       + "|" + case_id + "|" + t(key) + "|" + t(field) + "|" + values)
    values = value_digest if the event was redacted by a purge, else
             sha256_hex("v1|" + t(secret) + "|" + t(old_value) + "|" + t(new_value))

`prev` is the hash of the event at seq - 1 (64 zeros for seq 1); `seq` and `case_id`
are decimal (NULL is empty); `at` is UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; t(text) is its length in
Unicode code points, a colon and the text (NULL is empty), so no separator inside a
value can shift a field; the whole line is hashed as UTF-8. `secret` is the random key
of the event's inspection (table `trail_key`; NULL for events of no case): a purge
replaces the values with "[purged]", stores their digest in `value_digest` (so the
chain still verifies) and deletes the secret, so the digest of a short answer such as
"yes" cannot be reversed by trying every answer. Every column is covered but the
surrogate `id`, which orders nothing (the chain's order is `seq`): leaving it out lets
SQLite number bulk rows itself, one function call per row fewer on the import path.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from hashlib import sha256
from typing import Any

import sqlalchemy as sa

GENESIS = "0" * 64
"""The `prev` of the first event."""
VERSION = "v1"
REDACTED = "[purged]"
"""What a purge leaves in place of an old or new value."""
PG_LOCK = 0x10_A0D17_7A11
"""The PostgreSQL advisory lock held from sealing to commit (one chain head at a time)."""
_WRITE_CHUNK = 20_000  # events read, hashed and written at a time
_VALUE_CACHE_LIMIT = 50_000  # (old, new) digests remembered by a bulk write ...
_SHORT = 200  # ... of values this short (answers, codes; not notes)


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


@lru_cache(maxsize=1024)
def _middle(at: datetime | str, who: str, entity: str) -> str:
    # The part bulk writes repeat row after row: computed once per (at, who, entity).
    return f"{canonical_time(at)}|{_t(who)}|{_t(entity)}"


def _link(prev: str, seq: int, middle: str, case_id: int | None, key: str,
          field: str | None, values: str) -> str:
    line = (f"{prev}|{VERSION}|{seq}|{middle}|{'' if case_id is None else case_id}"
            f"|{len(key)}:{key}|{'' if field is None else f'{len(field)}:{field}'}|{values}")
    return sha256(line.encode("utf-8", "surrogatepass")).hexdigest()


def event_hash(prev: str, seq: int, at: datetime | str, who: str, entity: str,
               case_id: int | None, key: str, field: str | None, values: str) -> str:
    """The hash of one event chained to `prev` (see the module docstring)."""
    return _link(prev, seq, _middle(at, who, entity), case_id, key, field, values)


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


def seal(conn: sa.Connection) -> int:
    """Chain every unsealed event, in id order, in the caller's transaction; how many.

    Called before every write transaction commits. On PostgreSQL the advisory lock is
    held until that commit, so the next writer reads the head this one wrote.
    """
    if not _unsealed_ids(conn):
        return 0
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK})")
    ids = _unsealed_ids(conn)  # again: under the lock, others' sealing is committed
    missing = conn.exec_driver_sql(
        'SELECT DISTINCT c.inspection_id FROM audit_event e JOIN "case" c ON c.id = e.case_id '
        "WHERE e.seq IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM trail_key k WHERE k.inspection_id = c.inspection_id)").scalars().all()
    _ensure_secrets(conn, [int(i) for i in missing])
    seq, prev = head(conn)
    chunk = sa.text(f"{EVENTS_WITH_SECRET} WHERE e.id BETWEEN :lo AND :hi AND e.seq IS NULL "
                    "ORDER BY e.id")
    for start in range(0, len(ids), _WRITE_CHUNK):
        part = ids[start:start + _WRITE_CHUNK]
        sealed: list[tuple[int, int, str]] = []  # (id, seq, hash)
        rows = conn.execute(chunk, {"lo": part[0], "hi": part[-1]}).all()
        for (event_id, _, _, at, who, entity, case_id, key, field, old, new, stored,
             secret) in rows:
            seq += 1
            prev = event_hash(prev, seq, at, who, entity, case_id, key, field,
                              values_of(stored, secret, old, new))
            sealed.append((event_id, seq, prev))
        _write_seals(conn, sealed)
    return len(ids)


def _write_seals(conn: sa.Connection, sealed: list[tuple[int, int, str]]) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("UPDATE audit_event SET seq = ?, hash = ? WHERE id = ?",
                             [(s, h, i) for i, s, h in sealed])
        return
    # The application role may not UPDATE the trail: the owner's function writes the
    # seals, and checks they continue the chain from its head without a gap.
    conn.execute(sa.text("SELECT iom_audit_seal(CAST(:ids AS BIGINT[]), "
                         "CAST(:seqs AS BIGINT[]), CAST(:hashes AS TEXT[]))"),
                 {"ids": [i for i, _, _ in sealed], "seqs": [s for _, s, _ in sealed],
                  "hashes": [h for _, _, h in sealed]})


# -- bulk writes

EVENT_FIELDS = ("at", "who", "entity", "case_id", "key", "field", "old_value", "new_value")
NO_REPLACE_TRIGGER = "audit_event_no_replace"


class _Chainer:
    """The state of a chain being extended inside one SQLite INSERT ... SELECT.

    SQLite computes a row's result columns left to right: `iom_trail_seq()` starts a row
    and `iom_trail_hash(...)` finishes it; any other order raises, so a change in SQLite
    could only make an import fail, never write a wrong chain. The functions are
    closures over local state: they run once per event of an import of millions, and
    each look-up counts.
    """

    def __init__(self, seq: int, prev: str, secret: str | None) -> None:
        state = [seq, 1]  # seq, step (0: seq given, 1: hash given)
        chain = [prev]
        values: dict[tuple[Any, Any, bool], str] = {}

        def next_seq() -> int:
            if state[1] != 1:
                raise RuntimeError("iom_trail_seq() called twice for one row")
            state[0] += 1
            state[1] = 0
            return state[0]

        def link(at: str, who: str, entity: str, case_id: Any, key: str, field: str | None,
                 old: Any, new: Any) -> str:
            if state[1] != 0:
                raise RuntimeError("iom_trail_hash() called before iom_trail_seq()")
            # TEXT affinity stores numbers as text: hash what will be stored.
            if old is not None and type(old) is not str:
                old = str(old)
            if new is not None and type(new) is not str:
                new = str(new)
            memo = (old, new, case_id is None)
            digest = values.get(memo)
            if digest is None:
                digest = value_digest(None if case_id is None else secret, old, new)
                # Answers repeat a handful of values; notes are each their own.
                if len(values) < _VALUE_CACHE_LIMIT and len(old or "") + len(new or "") < _SHORT:
                    values[memo] = digest
            chain[0] = _link(chain[0], state[0], _middle(at, who, entity), case_id, key, field,
                             digest)
            state[1] = 1
            return chain[0]

        self.state = state
        self.next_seq, self.hash = next_seq, link

    @property
    def seq(self) -> int:
        return self.state[0]


class BulkEvents:
    """Writes events from INSERT ... SELECT statements (see `bulk`)."""

    def __init__(self, conn: sa.Connection, chainer: _Chainer | None) -> None:
        self.conn = conn
        self.chainer = chainer

    def insert(self, select: str) -> str:
        """The INSERT of the events a SELECT yields; execute it with the SELECT's parameters.

        The SELECT's columns are, in order: at, who, entity, case_id, key, field,
        old_value, new_value (the CTE names them)."""
        names = ", ".join(EVENT_FIELDS)
        values = ", ".join(f"e.{f}" for f in EVENT_FIELDS)
        # INSERT first: Python's sqlite3 counts rows only for statements starting so.
        if self.chainer is None:
            return (f"INSERT INTO audit_event ({names}) "
                    f"WITH e ({names}) AS ({select}) SELECT {values} FROM e")
        return (f"INSERT INTO audit_event ({names}, seq, hash) "
                f"WITH e ({names}) AS ({select}) "
                f"SELECT {values}, iom_trail_seq(), iom_trail_hash({values}) FROM e")


@contextmanager
def bulk(conn: sa.Connection, inspection_id: int) -> Iterator[BulkEvents]:
    """Write many events of one inspection's cases with INSERT ... SELECT.

    On SQLite the events are sealed as they are written: connection-local functions
    number and hash each row inside the INSERT, from the chain's head. The trigger that
    refuses an INSERT over an existing id or seq is dropped for the statement and
    recreated before the transaction ends (DDL is transactional in SQLite, and this
    transaction holds the write lock: no one else ever sees the trail without it); the
    rows written here take new ids and seqs only. On PostgreSQL the events are plain
    inserts, sealed with the rest of the transaction.
    """
    if conn.dialect.name != "sqlite":
        yield BulkEvents(conn, None)
        return
    seal(conn)
    seq, prev = head(conn)
    chainer = _Chainer(seq, prev, secret_of(conn, inspection_id))
    raw = conn.connection.driver_connection
    functions = (("iom_trail_seq", 0, chainer.next_seq),
                 ("iom_trail_hash", len(EVENT_FIELDS), chainer.hash))
    for name, arity, function in functions:
        raw.create_function(name, arity, function)  # type: ignore[union-attr]
    trigger = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (NO_REPLACE_TRIGGER,)).scalar()
    if trigger:
        conn.exec_driver_sql(f"DROP TRIGGER {NO_REPLACE_TRIGGER}")
    try:
        yield BulkEvents(conn, chainer)
    finally:
        for name, arity, _ in functions:
            raw.create_function(name, arity, None)  # type: ignore[union-attr]
        if trigger:
            conn.exec_driver_sql(trigger)
    if head(conn)[0] != chainer.seq:
        raise RuntimeError("the events written do not continue the audit trail's chain")
