"""Answers counted per question, value and any case-level keys, by one scan of the answers.

Every aggregate table (a comparison's counts per group and covariate pattern, a report's
counts per sample, site or provider) has the same shape: answers counted per question and
value, crossed with something known about each case. A SQL `GROUP BY` joined to the case
table does that, but SQLite answers it by sorting every answer row in a temporary B-tree:
seconds at national scale. Here the database only lists, per question and value, the ids of
the cases that gave it (`group_concat`, read in the order of the covering index
`ix_answer_tally`, so without a sort: `audit.views.answer_lists`), and numpy counts those
ids per case key.

PostgreSQL hashes instead of sorting, so there the server does the counting: the cases'
pattern numbers go to it as two arrays (`unnest`), joined to the answers and counted in
one `GROUP BY` (question, value, pattern). Only the counts come back, not a list of case
ids per answer: at 1,000,000 cases those lists would be 40,000,000 ids of text.

The result equals the joined `GROUP BY` (tests/audit/views/test_tally.py checks it on both
dialects). The final record (`audit.final_record`), which the published tables count, is
the primary tally corrected by the moderated answers, read apart: they are few, and the
scan of the primary answers stays the one above.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import col

from audit import final_record
from audit.store.engine import Database
from audit.store.models import Case, Inspection, Site
from audit.views import answer_lists
from audit.views.background import in_background
from audit.views.frames import fetch_frame, group_expression

_SEEK_SHARE = answer_lists.SEEK_SHARE  # when the answer lists seek the cases' answers


def case_keys(db: Database, inspection_ids: Sequence[int],
              columns: Mapping[str, sa.SQLColumnExpression[Any]],
              where: Sequence[sa.ColumnElement[bool]] = ()) -> pd.DataFrame:
    """One row per case of the inspections (index: case id) with the given SQL columns.

    The columns may use `Case`, `Inspection` and `Site` (outer-joined).
    """
    keys: list[sa.Label[Any]] = [c.label(f"k{i}") for i, c in enumerate(columns.values())]
    stmt = (sa.select(col(Case.id), *keys)
            .select_from(Case)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.inspection_id).in_(list(inspection_ids)), *where))
    with db.engine.connect() as conn:
        frame = fetch_frame(conn, stmt, ["case_id", *columns])
    return frame.set_index("case_id")


def tally(db: Database, cases: pd.DataFrame, questions: Sequence[str], *,
          inspection_ids: Sequence[int], rater: str = "primary") -> pd.DataFrame:
    """Answers of `cases` counted per question, key pattern and value.

    `cases` is indexed by case id; its columns are the keys (as from `case_keys`), and a
    missing key is a key of its own, as in SQL `GROUP BY`. Columns of the result:
    question_id, the key columns, value, count; answers without a value are left out, and
    so are combinations counted zero times. `inspection_ids` must cover the cases (it
    narrows the scan). `rater` is "primary", "qa", "moderated" or "final", the moderated
    final record (`audit.final_record`: the primary count corrected by the few moderated
    answers).
    """
    if rater not in final_record.ANSWER_SOURCES:
        raise ValueError(f"no rater {rater!r} to count")
    keys = list(cases.columns)
    if len(cases) == 0 or not questions:
        return _empty(keys)
    ids = cases.index.to_numpy(dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    ordered = cases.iloc[order]
    if keys:
        # sort=False numbers the patterns by first appearance, so the first rows of each
        # pattern, in order, are patterns 0, 1, 2 ...
        pattern = ordered.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
        first = pd.Series(pattern).drop_duplicates().index.to_numpy()
        patterns = ordered[keys].iloc[first].reset_index(drop=True)
    else:
        pattern = np.zeros(len(sorted_ids), dtype=np.int64)
        patterns = pd.DataFrame(index=[0])
    return _count(db, sorted_ids, pattern, patterns, keys, questions, inspection_ids, rater)


def _empty(keys: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in ["question_id", *keys, "value"]}
                        ).assign(count=pd.Series(dtype="int64"))


def _count(db: Database, sorted_ids: np.ndarray, pattern: np.ndarray, patterns: pd.DataFrame,
           keys: Sequence[str], questions: Sequence[str], inspection_ids: Sequence[int],
           rater: str, prefetched: answer_lists.Prefetch | None = None) -> pd.DataFrame:
    """The tally of cases given as sorted ids and their pattern numbers (0, 1, ... in
    order of each pattern's first case), `patterns` holding each pattern's keys."""
    empty = _empty(keys)
    if len(sorted_ids) == 0 or not questions:
        return empty
    n_patterns = len(patterns)
    counted_rater = answer_lists.scanned_rater(rater)
    if prefetched is not None and not prefetched.serves(questions, inspection_ids,
                                                        counted_rater):
        raise ValueError("the prefetched answer lists are of other questions, "
                         "inspections or rater")
    if db.engine.dialect.name != "sqlite":
        counted = _counted_from_grouping(db, sorted_ids, pattern, questions, counted_rater)
        if counted is None:
            counted = _counted_on_server(db, sorted_ids, pattern, questions, counted_rater,
                                         inspection_ids)
    else:
        counted = _counted_here(db, sorted_ids, pattern, n_patterns, questions,
                                counted_rater, inspection_ids, prefetched)
    if rater == final_record.FINAL:
        with db.engine.connect() as conn:
            moderated = final_record.overrides(conn, questions, inspection_ids)
        counted = _moderated(counted, moderated, sorted_ids, pattern)
    if counted.empty:
        return empty
    frame = patterns.iloc[counted["pattern"].to_numpy()].reset_index(drop=True) if keys \
        else pd.DataFrame(index=range(len(counted)))
    frame.insert(0, "question_id", counted["question_id"].to_numpy(dtype=object))
    frame["value"] = counted["value"].to_numpy(dtype=object)
    frame["count"] = counted["count"].to_numpy(dtype=np.int64)
    return frame


def _counted_here(db: Database, sorted_ids: np.ndarray, pattern: np.ndarray,
                  n_patterns: int, questions: Sequence[str], rater: str,
                  inspection_ids: Sequence[int],
                  prefetched: answer_lists.Prefetch | None) -> pd.DataFrame:
    """SQLite: answers counted per question, value and pattern number, in numpy, from the
    case ids listed per answer (rows in question, value, pattern order); the lists are
    `prefetched`'s where given (read already, or being read, in a thread)."""
    pattern_of = _pattern_of(sorted_ids, pattern)
    out_q: list[str] = []
    out_v: list[str] = []
    out_p: list[np.ndarray] = []
    out_n: list[np.ndarray] = []
    for qid, value, answer_ids in _answer_ids(db, questions, inspection_ids, rater,
                                              n_cases=len(sorted_ids), prefetched=prefetched):
        counts = np.bincount(pattern_of(answer_ids), minlength=n_patterns)
        nonzero = np.flatnonzero(counts)
        out_q.extend([qid] * len(nonzero))
        out_v.extend([value] * len(nonzero))
        out_p.append(nonzero)
        out_n.append(counts[nonzero])
    if not out_q:
        return pd.DataFrame({"question_id": pd.Series(dtype=object),
                             "value": pd.Series(dtype=object),
                             "pattern": pd.Series(dtype="int64"),
                             "count": pd.Series(dtype="int64")})
    return pd.DataFrame({"question_id": out_q, "value": out_v,
                         "pattern": np.concatenate(out_p).astype("int64"),
                         "count": np.concatenate(out_n).astype("int64")})


def _moderated(counted: pd.DataFrame, moderated: pd.DataFrame, sorted_ids: np.ndarray,
               pattern: np.ndarray) -> pd.DataFrame:
    """The primary counts turned into the final record's (`audit.final_record`): each
    moderated answer of a counted case takes its primary answer out and puts its own in.
    Rows stay in question, value, pattern order."""
    if moderated.empty or len(sorted_ids) == 0:
        return counted
    ids = moderated["case_id"].to_numpy(dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos[pos == len(sorted_ids)] = 0
    hit = sorted_ids[pos] == ids
    if not hit.any():
        return counted
    mine = moderated[hit].assign(pattern=pattern[pos[hit]].astype("int64"))
    replaced = mine[mine["primary"].notna()]
    delta = pd.concat([
        pd.DataFrame({"question_id": replaced["question_id"], "value": replaced["primary"],
                      "pattern": replaced["pattern"], "count": -1}),
        pd.DataFrame({"question_id": mine["question_id"], "value": mine["final"],
                      "pattern": mine["pattern"], "count": 1})], ignore_index=True)
    both = pd.concat([counted, delta.astype({"count": "int64"})], ignore_index=True)
    summed = (both.groupby(["question_id", "value", "pattern"], sort=True)["count"].sum()
              .reset_index())
    if (summed["count"] < 0).any():  # a replaced primary answer that was never counted
        raise RuntimeError("the final record took out a primary answer it had not counted")
    summed = summed.astype({"pattern": "int64", "count": "int64"})
    return summed[summed["count"] > 0].reset_index(drop=True)


# A table indexed by case id (one int per id up to the largest) while the ids are this
# dense; sparser ids are looked up by binary search instead.
_DENSE_IDS = 8


def _pattern_of(sorted_ids: np.ndarray, pattern: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function from answers' case ids to the pattern numbers of those among the cases
    (the ids of other cases are dropped)."""
    top = int(sorted_ids[-1])
    if top < _DENSE_IDS * len(sorted_ids) + 1024:
        table = np.full(top + 2, -1, dtype=np.int64)
        table[sorted_ids] = pattern

        def dense(answer_ids: np.ndarray) -> np.ndarray:
            found = table[np.minimum(answer_ids, top + 1)]  # past the last case: -1
            return found[found >= 0]
        return dense

    def sparse(answer_ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(sorted_ids, answer_ids)
        pos[pos == len(sorted_ids)] = 0
        return pattern[pos[sorted_ids[pos] == answer_ids]]
    return sparse


# The join through "case" is for the planner: joined to the answers directly, the pattern
# list is taken for the small side and the answers are hashed (in 32 batches spilled to
# disk at 100,000 cases: 6.9 s); through "case", the answers are scanned in parallel
# against a hash of the cases (1.7 s). EXPLAIN of both: benchmarks/history.md.
@cache
def server_tally_sql() -> sa.TextClause:
    """The statement PostgreSQL counts with (also for the benchmark's EXPLAIN); built on
    first use, so that a SQLite comparison never imports SQLAlchemy's PostgreSQL dialect."""
    from sqlalchemy.dialects import postgresql

    return sa.text(
        "SELECT a.question_id, a.value, p.pattern, count(*) "
        "FROM answer AS a "
        'JOIN "case" AS c ON c.id = a.case_id AND c.inspection_id = ANY(:inspection_ids) '
        "JOIN unnest(CAST(:case_ids AS integer[]), CAST(:patterns AS integer[])) "
        "AS p(case_id, pattern) ON p.case_id = c.id "
        "WHERE a.rater = :rater AND a.question_id = ANY(:questions) AND a.value IS NOT NULL "
        "GROUP BY a.question_id, a.value, p.pattern"
    ).bindparams(sa.bindparam("inspection_ids", type_=postgresql.ARRAY(sa.Integer)),
                 sa.bindparam("case_ids", type_=sa.String),
                 sa.bindparam("patterns", type_=sa.String),
                 sa.bindparam("questions", type_=postgresql.ARRAY(sa.String)))


def int_array(values: np.ndarray) -> str:
    """Integers as PostgreSQL's array literal, "{1,2,3}": the case ids and pattern numbers
    go to the server as one string each, which the statement casts (psycopg dumps a list
    of 100,000 ints element by element in Python: 0.1 s a tally, twice)."""
    return "{" + ",".join(map(str, np.asarray(values, dtype=np.int64).tolist())) + "}"


def _counted_on_server(db: Database, case_ids: np.ndarray, pattern: np.ndarray,
                       questions: Sequence[str], rater: str,
                       inspection_ids: Sequence[int]) -> pd.DataFrame:
    """PostgreSQL: answers counted per question, value and pattern number, by the server.

    Rows in the order SQLite's path gives them (question, value, pattern), so both
    dialects return the same frame, not merely the same counts.
    """
    with db.engine.connect() as conn:
        rows = conn.execute(server_tally_sql(), {
            "inspection_ids": [int(i) for i in inspection_ids],
            "case_ids": int_array(case_ids), "patterns": int_array(pattern),
            "rater": rater, "questions": list(questions)}).all()
    frame = pd.DataFrame(rows, columns=["question_id", "value", "pattern", "count"])
    # Python's str order is SQLite's binary order (the server's collation may differ).
    return frame.sort_values(["question_id", "value", "pattern"], kind="stable",
                             ignore_index=True)


@dataclass
class _SharedScan:
    """The case ids listed per answer by whole scans of one database, kept by rater and
    question (each question's values in the order the scan gave them), and the questions
    a background scan is listing (`prefetch_answer_scan`), set once they are kept."""

    db: Database
    lists: dict[str, dict[str, list[tuple[str, np.ndarray]]]] = field(default_factory=dict)
    pending: dict[tuple[str, str], threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    grouping: _SharedGrouping | None = None  # `share_case_grouping`'s, once asked for


@dataclass
class _SharedGrouping:
    """The cases of some inspections grouped once by several fields (`share_case_grouping`):
    per pattern its inspection id, its fields' values and its cases' ids; `ready` is set
    once `rows` are read (or the read failed, which leaves them None)."""

    inspection_ids: frozenset[int]
    names: tuple[str, ...]
    sql: dict[str, str]  # each field's expression as compiled, to match a request by
    ready: threading.Event = field(default_factory=threading.Event)
    rows: list[tuple[int, tuple[Any, ...], np.ndarray]] | None = None
    # The rows' case ids end to end, and where each row's start (set with `rows`).
    case_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # PostgreSQL: `questions` (rater `rater`) counted per question, value and pattern of
    # this grouping, by one query (`_fine_counts`); None until counted, or if it failed.
    questions: frozenset[str] = frozenset()
    rater: str = ""
    counted: pd.DataFrame | None = None


_SHARED_SCAN: ContextVar[_SharedScan | None] = ContextVar("shared_answer_scan", default=None)


@contextmanager
def shared_answer_scan(db: Database) -> Iterator[None]:
    """Within the block, a whole scan of the answers (SQLite) reads each question once.

    A report counts the same questions for several tables (the IOM comparison, the one
    by lead agency, the ratings per site and provider), each crossed with other case
    keys. The database's part, listing the cases behind each answer, does not depend on
    those keys, so it is kept for the block and each tally counts its own keys from it.
    The database must not change meanwhile: only reading code (a report) opens a block.
    """
    token = _SHARED_SCAN.set(_SharedScan(db))
    try:
        with answer_lists.sharing(db):  # a comparison's own prefetch leaves it to this scan
            yield
    finally:
        _SHARED_SCAN.reset(token)


def prefetch_answer_scan(questions: Sequence[str], rater: str = final_record.COUNTED, *,
                         db: Database | None = None) -> None:
    """Within `shared_answer_scan`, list these questions' answers in a background thread,
    for a tally to come (SQLite: elsewhere, or outside a block, nothing is done).

    SQLite scans outside Python's lock, so on a second core this scan runs beside the
    work in hand (another table's scan, say); a tally of these questions waits for it.
    ``rater`` is the tally's: the final record lists the primary answers. ``db``, when
    given, must be the block's database (else nothing is done); questions listed or
    being listed already are not listed again.
    """
    shared = _SHARED_SCAN.get()
    if (shared is None or shared.db.engine.dialect.name != "sqlite" or not questions
            or (db is not None and shared.db is not db)):
        return
    counted = answer_lists.scanned_rater(rater)
    with shared.lock:
        kept = shared.lists.setdefault(counted, {})
        wanted = sorted({q for q in questions
                         if q not in kept and (counted, q) not in shared.pending})
        events = {q: shared.pending.setdefault((counted, q), threading.Event())
                  for q in wanted}
    if not wanted:
        return

    def scan() -> None:
        try:
            found = _scanned(shared.db, wanted, counted)
            with shared.lock:
                kept.update(found)
        finally:  # failed, the tally lists them itself
            for event in events.values():
                event.set()

    in_background(scan, "list the answers")


def share_case_grouping(inspection_ids: Sequence[int], names: Sequence[str],
                        questions: Sequence[str] = (),
                        rater: str = final_record.COUNTED) -> None:
    """Within `shared_answer_scan`, group the cases of the inspections by the fields
    `names` (as `group_expression` gives them) and their inspection, once, in a background
    thread; `case_patterns` of those inspections (or some of them) by some of those
    fields is then regrouped from it rather than asked of the database again.

    A report groups the same cases three times (the comparisons by IOM status and by lead
    agency, with their covariates, and the ratings by site and provider): one `GROUP BY`
    instead of three, off the main thread. On PostgreSQL, where the server counts, the
    same thread then counts `questions` (as `rater` gives them) per pattern of this
    grouping, in one query: each tally of some of those questions over cases grouped
    from it is a sum of those counts (`_counted_from_grouping`), where each would
    otherwise scan the answers again (0.6-0.7 s a scan at 100,000 cases).
    """
    shared = _SHARED_SCAN.get()
    if shared is None or shared.grouping is not None or not inspection_ids or not names:
        return
    db = shared.db
    on_server = db.engine.dialect.name != "sqlite"
    columns = {"inspection_id": col(Case.inspection_id),
               **{n: group_expression(n) for n in names}}
    grouping = _SharedGrouping(frozenset(int(i) for i in inspection_ids), tuple(names),
                               {n: _compiled(db, e) for n, e in columns.items()},
                               questions=frozenset(questions) if on_server else frozenset(),
                               rater=answer_lists.scanned_rater(rater))
    shared.grouping = grouping

    def read() -> None:
        try:
            found = _grouped_rows(db, list(grouping.inspection_ids), columns)
            rows = [(int(keys[0]), keys[1:], ids) for keys, ids in found]
            if rows:
                grouping.case_ids = np.concatenate([ids for _, _, ids in rows])
                grouping.starts = np.cumsum([0, *(len(ids) for _, _, ids in rows)])[:-1]
            grouping.rows = rows
            if grouping.questions and grouping.rows:
                grouping.counted = _fine_counts(db, grouping)
        finally:  # failed, `case_patterns` and `tally` ask the database themselves
            grouping.ready.set()

    in_background(read, "group the cases")


def _fine_counts(db: Database, grouping: _SharedGrouping) -> pd.DataFrame:
    """PostgreSQL: the grouping's questions counted per question, value and pattern of the
    grouping (numbered as its rows), by the server."""
    assert grouping.rows is not None
    ids = grouping.case_ids
    number = np.repeat(np.arange(len(grouping.rows), dtype=np.int64),
                       [len(i) for _, _, i in grouping.rows])
    order = np.argsort(ids, kind="stable")
    return _counted_on_server(db, ids[order], number[order], sorted(grouping.questions),
                              grouping.rater, sorted(grouping.inspection_ids))


def _counted_from_grouping(db: Database, sorted_ids: np.ndarray, pattern: np.ndarray,
                           questions: Sequence[str], rater: str) -> pd.DataFrame | None:
    """PostgreSQL, inside a report's block: `_counted_on_server`'s frame summed from the
    shared grouping's counts, or None where they do not serve (other questions or rater,
    a case outside the grouping, or a pattern that splits one of the grouping's)."""
    shared = _SHARED_SCAN.get()
    grouping = shared.grouping if shared is not None and shared.db is db else None
    if (grouping is None or grouping.rater != rater or not questions
            or not set(questions) <= grouping.questions):
        return None
    grouping.ready.wait()
    if grouping.rows is None or grouping.counted is None:
        return None
    # The request's pattern of each of the grouping's cases (-1: not among its cases).
    every = grouping.case_ids
    pos = np.searchsorted(sorted_ids, every)
    pos[pos == len(sorted_ids)] = 0
    found = sorted_ids[pos] == every
    if int(found.sum()) != len(sorted_ids):
        return None  # a case the grouping does not hold
    mine = np.where(found, pattern[pos], -1)
    low, high = (np.minimum.reduceat(mine, grouping.starts),
                 np.maximum.reduceat(mine, grouping.starts))
    if not np.array_equal(low, high):
        return None  # a pattern of the grouping split between two of the request's
    fine = grouping.counted
    fine = fine[fine["question_id"].isin(set(questions))]
    coarse = low[fine["pattern"].to_numpy()]
    kept = coarse >= 0
    summed = (pd.DataFrame({"question_id": fine["question_id"].to_numpy()[kept],
                            "value": fine["value"].to_numpy()[kept],
                            "pattern": coarse[kept].astype("int64"),
                            "count": fine["count"].to_numpy()[kept].astype("int64")})
              .groupby(["question_id", "value", "pattern"], sort=False)["count"].sum()
              .reset_index())
    return summed.sort_values(["question_id", "value", "pattern"], kind="stable",
                              ignore_index=True).astype({"pattern": "int64", "count": "int64"})


def _compiled(db: Database, expression: sa.SQLColumnExpression[Any]) -> str:
    return str(sa.select(expression).compile(dialect=db.engine.dialect,
                                             compile_kwargs={"literal_binds": True}))


def _regrouped(db: Database, inspection_ids: Sequence[int],
               columns: Mapping[str, sa.SQLColumnExpression[Any]]
               ) -> list[tuple[tuple[Any, ...], np.ndarray]] | None:
    """`_grouped_rows` of this request from the report's shared grouping, or None when
    there is none that covers it (other cases, or a field it was not grouped by)."""
    shared = _SHARED_SCAN.get()
    grouping = shared.grouping if shared is not None and shared.db is db else None
    wanted = {int(i) for i in inspection_ids}
    if grouping is None or not wanted <= grouping.inspection_ids or any(
            n not in grouping.sql or grouping.sql[n] != _compiled(db, e)
            for n, e in columns.items()):
        return None
    grouping.ready.wait()
    if grouping.rows is None:
        return None
    at = [grouping.names.index(n) for n in columns]
    merged: dict[tuple[Any, ...], list[np.ndarray]] = {}
    for inspection_id, values, ids in grouping.rows:
        if inspection_id in wanted:
            merged.setdefault(tuple(values[i] for i in at), []).append(ids)
    return [(keys, np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0])
            for keys, parts in merged.items()]


def _answer_ids(db: Database, questions: Sequence[str], inspection_ids: Sequence[int],
                rater: str, *, n_cases: int, prefetched: answer_lists.Prefetch | None
                ) -> Iterator[tuple[str, str, np.ndarray]]:
    """SQLite: (question id, value, ids of the cases that gave it), per question and value,
    in question and value order: `prefetched`'s lists where given, a report's shared scan
    within `shared_answer_scan`, else read now."""
    if prefetched is not None:
        yield from _case_ids_per_answer(prefetched.lists())
        return
    shared = _SHARED_SCAN.get()
    if shared is not None and shared.db is db:
        with db.engine.connect() as conn:
            seek = answer_lists.seeks(conn, n_cases)
    if shared is None or shared.db is not db or seek:
        yield from _case_ids_per_answer(answer_lists.read_lists(
            db, questions, inspection_ids, rater, n_cases=n_cases))
        return
    wanted = sorted(set(questions))
    with shared.lock:
        kept = shared.lists.setdefault(rater, {})
        waits = [shared.pending[(rater, q)] for q in wanted if (rater, q) in shared.pending]
    for event in waits:
        event.wait()
    with shared.lock:
        missing = [q for q in wanted if q not in kept]
    if missing:
        found = _scanned(db, missing, rater)
        with shared.lock:
            kept.update(found)
    # The scan's order: by question id (SQLite's binary collation is Python's str order),
    # then each question's values as listed.
    for qid in wanted:
        for value, ids in kept[qid]:
            yield qid, value, ids


def _scanned(db: Database, questions: Sequence[str], rater: str
             ) -> dict[str, list[tuple[str, np.ndarray]]]:
    """A whole scan's case ids per question: each question's (value, ids), as listed."""
    found: dict[str, list[tuple[str, np.ndarray]]] = {q: [] for q in questions}
    for qid, value, ids in _case_ids_per_answer(answer_lists.scan_lists(db, questions, rater)):
        found[qid].append((value, ids))
    return found


def _case_ids_per_answer(listed: Sequence[answer_lists.ListedAnswers]
                         ) -> Iterator[tuple[str, str, np.ndarray]]:
    """SQLite: (question id, value, ids of the cases that gave it), per question and value."""
    for qid, value, n, ids in listed:
        found = np.fromstring(ids, dtype=np.int64, sep=",")
        if len(found) != n:  # a malformed list would be silently cut short
            raise RuntimeError(f"read {len(found)} of {n} case ids for {qid}={value}")
        yield qid, value, found


@dataclass(frozen=True)
class CasePatterns:
    """Cases grouped by their keys: one row of `keys` per pattern (numbered 0, 1, ... in
    the order of each pattern's first case id, as `tally` numbers them), and for each
    pattern the ids of its cases."""

    keys: pd.DataFrame
    ids: list[np.ndarray]

    @property
    def sizes(self) -> np.ndarray:
        """Cases per pattern."""
        return np.array([len(i) for i in self.ids], dtype=np.int64)

    def where(self, keep: np.ndarray) -> CasePatterns:
        """The patterns where `keep` (a boolean per pattern) holds, numbered again."""
        chosen = np.flatnonzero(keep)
        return CasePatterns(self.keys.iloc[chosen].reset_index(drop=True),
                            [self.ids[i] for i in chosen])


def case_patterns(db: Database, inspection_ids: Sequence[int],
                  columns: Mapping[str, sa.SQLColumnExpression[Any]]) -> CasePatterns:
    """The cases of the inspections grouped by the given SQL columns (as `case_keys`).

    One `GROUP BY` in the database listing each pattern's case ids (`group_concat` /
    `string_agg`): a few hundred rows, however many cases, where `case_keys` fetches a
    row per case (the slow part of a national comparison inside the app, whose worker
    thread shares the interpreter with the screen). Within a report, its shared grouping
    (`share_case_grouping`) serves instead where it covers the request.
    """
    grouped = _regrouped(db, inspection_ids, columns)
    if grouped is None:
        grouped = _grouped_rows(db, inspection_ids, columns)
    grouped.sort(key=lambda row: int(row[1][0]))  # by each pattern's first case id
    names = list(columns)
    frame = (pd.DataFrame.from_records([keys for keys, _ in grouped], columns=names)
             if grouped else pd.DataFrame({c: pd.Series(dtype="object") for c in names}))
    return CasePatterns(frame, [ids for _, ids in grouped])


def _grouped_rows(db: Database, inspection_ids: Sequence[int],
                  columns: Mapping[str, sa.SQLColumnExpression[Any]]
                  ) -> list[tuple[tuple[Any, ...], np.ndarray]]:
    """The cases grouped by the columns in the database: each pattern's values and the
    sorted ids of its cases, in no particular order."""
    keys: list[sa.Label[Any]] = [c.label(f"k{i}") for i, c in enumerate(columns.values())]
    case_id = col(Case.id)
    listed = (sa.func.group_concat(case_id) if db.engine.dialect.name == "sqlite"
              else sa.func.string_agg(sa.cast(case_id, sa.Text), ","))
    stmt = (sa.select(*keys, sa.func.count(), listed)
            .select_from(Case)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.inspection_id).in_(list(inspection_ids)))
            .group_by(*keys))
    with db.engine.connect() as conn:
        result = conn.execute(stmt)
        try:
            rows = list(result.cursor.fetchall()) if result.cursor is not None else []
        finally:
            result.close()
    out = []
    for row in rows:
        found = np.sort(np.fromstring(row[-1], dtype=np.int64, sep=","))
        if len(found) != row[-2]:  # a malformed list would be silently cut short
            raise RuntimeError(f"read {len(found)} of {row[-2]} case ids of a pattern")
        out.append((tuple(row[:len(keys)]), found))
    return out


def tally_patterns(db: Database, patterns: CasePatterns, questions: Sequence[str], *,
                   inspection_ids: Sequence[int], rater: str = "primary",
                   prefetched: answer_lists.Prefetch | None = None) -> pd.DataFrame:
    """`tally` of the cases of `patterns`: the same frame as `tally` of their `case_keys`.

    `prefetched`: the answer lists of these questions and rater, started before
    (`answer_lists.prefetch`), so that SQLite read them while the caller did other work.
    """
    keys = list(patterns.keys.columns)
    if not patterns.ids:
        return _empty(keys)
    ids = np.concatenate(patterns.ids)
    pattern = np.repeat(np.arange(len(patterns.ids), dtype=np.int64), patterns.sizes)
    order = np.argsort(ids, kind="stable")
    frame = patterns.keys if keys else pd.DataFrame(index=range(len(patterns.ids)))
    return _count(db, ids[order], pattern[order], frame, keys, questions, inspection_ids,
                  rater, prefetched)


@dataclass(frozen=True)
class GroupPatterns:
    """The cases of a comparison: the patterns of those of a known group (`by` first,
    then the covariates), the cases per group level, and the cases of no group (e.g.
    IOM status unknown)."""

    patterns: CasePatterns
    sizes: dict[str, int]
    unknown: int


def group_patterns(db: Database, inspection_ids: Sequence[int], *, by: str,
                   covariates: Sequence[str] = ()) -> GroupPatterns:
    """The cases of the inspections grouped by `by` and the covariates (`case_patterns`),
    with the group sizes and the cases of no group counted from the same grouping."""
    columns = {by: group_expression(by), **{c: group_expression(c) for c in covariates}}
    patterns = case_patterns(db, inspection_ids, columns)
    known = patterns.keys[by].notna().to_numpy()
    sizes: dict[str, int] = {}
    for level, n in zip(patterns.keys[by][known], patterns.sizes[known], strict=True):
        sizes[str(level)] = sizes.get(str(level), 0) + int(n)
    return GroupPatterns(patterns.where(known), sizes, int(patterns.sizes[~known].sum()))


def pattern_counts(db: Database, inspection_ids: Sequence[int], *, by: str,
                   questions: Sequence[str], covariates: Sequence[str] = (),
                   rater: str = "primary") -> pd.DataFrame:
    """Answers counted per question, group, covariate pattern and code.

    Columns: question_id, `by`, each covariate, value, count; cases of no group (e.g.
    IOM status unknown) are left out. This is all a comparison needs, tests and
    regressions alike (see `stats.aggregate`), and it keeps a national dataset's millions
    of answers inside the database.
    """
    grouped = group_patterns(db, inspection_ids, by=by, covariates=covariates)
    return tally_patterns(db, grouped.patterns, questions, inspection_ids=inspection_ids,
                          rater=rater)
