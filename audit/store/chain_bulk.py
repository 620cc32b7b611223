"""Bulk writes of audit events (imports of millions of answers) into the hash chain.

The importers write events with INSERT ... SELECT. Sealing them afterwards in place
would write every row twice, so:

* on SQLite the events are chained inside the INSERT itself: two connection-local
  functions give each row its seq and its hash as SQLite writes it (the transaction
  holds the write lock, so the chain's head cannot move meanwhile);
* on PostgreSQL they go to a temporary table, and `chain.seal` chains them at the end of
  the transaction, under the trail's lock, and copies them into `audit_event` sealed.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from hashlib import sha256
from typing import Any

import sqlalchemy as sa

from audit.store.chain import (
    EVENT_FIELDS,
    EVENTS_WITH_SECRET,
    GENESIS,
    PENDING,
    VERSION,
    canonical_middle,
    event_hash,
    head,
    seal,
    secret_of,
    value_digest,
    values_of,
)
from audit.store.models import UTCDateTime

NO_REPLACE_TRIGGER = "audit_event_no_replace"
_VALUE_CACHE_LIMIT = 50_000  # (old, new) digests remembered by a bulk write ...
_SHORT = 200  # ... of values this short (answers, codes; not notes)


class _Chainer:
    """The state of a chain being extended inside SQLite INSERT ... SELECT statements.

    Two functions per row: `iom_trail_seq()` (a C-level counter) and
    `iom_trail_hash(...)`, which counts the same rows from the same head, so each row's
    hash covers the seq stored beside it whatever order SQLite computes the two columns
    in; `bulk` checks the count and the last hash at the end. The hash function is a
    closure over local state: it runs once per event of an import of millions, and each
    look-up counts. (Handing it the eight columns is cheaper than building any of the
    text in SQL.)
    """

    def __init__(self, seq: int, prev: str, secret: str | None) -> None:
        state: list[Any] = [seq, prev]
        values: dict[tuple[Any, Any, bool], str] = {}
        middle = ["", "", "", ""]  # at, who, entity and their canonical text

        def link(at: str, who: str, entity: str, case_id: Any, key: str, field: str | None,
                 old: Any, new: Any, str: type[str] = str, len: Any = len,
                 digest_of: Any = value_digest, sha: Any = sha256) -> str:
            # (Builtins and helpers bound as defaults: local look-ups, not global ones.
            # The line is chain.chain_line_hash's, written out: one call fewer per row.)
            # TEXT affinity stores numbers as text: hash what will be stored.
            if old is not None and type(old) is not str:
                old = str(old)
            if new is not None and type(new) is not str:
                new = str(new)
            memo = (old, new, case_id is None)
            digest = values.get(memo)
            if digest is None:
                digest = digest_of(None if case_id is None else secret, old, new)
                # Answers repeat a handful of values; notes are each their own.
                if len(values) < _VALUE_CACHE_LIMIT and len(old or "") + len(new or "") < _SHORT:
                    values[memo] = digest
            if at != middle[0] or who != middle[1] or entity != middle[2]:
                middle[:] = [at, who, entity, canonical_middle(at, who, entity)]
            seq = state[0] = state[0] + 1
            line = (f"{state[1]}|{VERSION}|{seq}|{middle[3]}|{'' if case_id is None else case_id}"
                    f"|{len(key)}:{key}|{'' if field is None else f'{len(field)}:{field}'}"
                    f"|{digest}")
            state[1] = sha(line.encode("utf-8", "surrogatepass")).hexdigest()
            return str(state[1])

        self.state = state
        self.next_seq = itertools.count(seq + 1).__next__
        self.hash = link

    @property
    def seq(self) -> int:
        return int(self.state[0])


class BulkEvents:
    """Writes the events of INSERT ... SELECT statements into the chain (see `bulk`)."""

    def __init__(self, conn: sa.Connection, chainer: _Chainer | None) -> None:
        self.conn = conn
        self.chainer = chainer

    def write(self, select: str, **params: Any) -> int:
        """Write the events a SELECT yields (`params` bound to it); how many.

        The SELECT's columns are, in order: at, who, entity, case_id, key, field,
        old_value, new_value. A parameter `at` is bound as a UTC timestamp.
        """
        names = ", ".join(EVENT_FIELDS)
        values = ", ".join(f"e.{f}" for f in EVENT_FIELDS)
        # INSERT first: Python's sqlite3 counts rows only for statements starting so.
        if self.chainer is None:
            sql = (f"INSERT INTO pg_temp.{PENDING} ({names}) "
                   f"WITH e ({names}) AS ({select}) SELECT {values} FROM e")
        else:
            sql = (f"INSERT INTO audit_event ({names}, seq, hash) "
                   f"WITH e ({names}) AS ({select}) "
                   f"SELECT {values}, iom_trail_seq(), iom_trail_hash({values}) FROM e")
        statement = sa.text(sql)
        if "at" in params:
            statement = statement.bindparams(sa.bindparam("at", type_=UTCDateTime()))
        written = self.conn.execute(statement, params).rowcount
        if self.chainer is None and written:
            self.conn.info[PENDING] = True  # for seal(), at the end of the transaction
        return int(written)


@contextmanager
def bulk(conn: sa.Connection, inspection_id: int) -> Iterator[BulkEvents]:
    """Write many events of one inspection's cases (in a `Database.write()` transaction).

    SQLite: the trigger that refuses an INSERT over an existing id or seq is dropped for
    these statements and recreated before the transaction ends (DDL is transactional in
    SQLite, and this transaction holds the write lock: no one else ever sees the trail
    without it); the rows written here take new ids and seqs only.
    """
    if not conn.info.get("write"):
        raise RuntimeError("bulk audit events are written in a Database.write() transaction, "
                           "which seals them")
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {PENDING} (n BIGSERIAL PRIMARY KEY, "
            "at TIMESTAMPTZ NOT NULL, who TEXT, entity TEXT, case_id BIGINT, key TEXT, "
            "field TEXT, old_value TEXT, new_value TEXT) ON COMMIT DELETE ROWS")
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
    # Each call of the hash function allocates; with the application's large heap the
    # cycle collector would run over it again and again (a third of the time it takes).
    # The functions make no reference cycles: reference counting frees everything.
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield BulkEvents(conn, chainer)
    finally:
        if collecting:
            gc.enable()
        for name, arity, _ in functions:
            raw.create_function(name, arity, None)  # type: ignore[union-attr]
        if trigger:
            conn.exec_driver_sql(trigger)
    _check_last(conn, chainer.seq)


def _check_last(conn: sa.Connection, seq: int) -> None:
    """The chain's last event hashes the same by the canonical definition (`chain`): the
    fast path above cannot drift from it unnoticed."""
    if head(conn)[0] != seq:
        raise RuntimeError("the events written do not continue the audit trail's chain")
    if seq < 1:
        return
    rows = conn.execute(sa.text(f"{EVENTS_WITH_SECRET} WHERE e.seq IN (:before, :last) "
                                "ORDER BY e.seq"), {"before": seq - 1, "last": seq}).all()
    prev = str(rows[0][2]) if len(rows) == 2 else GENESIS
    (_, _, stored, at, who, entity, case_id, key, field, old, new, digest, secret) = rows[-1]
    if event_hash(prev, seq, at, who, entity, case_id, key, field,
                  values_of(digest, secret, old, new)) != stored:
        raise RuntimeError("the events written do not hash as the audit trail's canonical "
                           "form says")
