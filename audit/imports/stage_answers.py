"""Answers of one inspection staged chunk by chunk, then merged in a few statements."""


from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit.imports.staging import BulkResult, load_rows, run_sql, temp_table
from audit.people import rater_ids
from audit.store import chain_bulk
from audit.store.models import RATERS, utcnow

_NOTE_KEPT = object()  # add() without a note column: stored notes are left alone


_JSON_ROWS = 1_000_000  # rows per JSON array handed to SQLite's json_each


_RATER_INDEX = {r: i for i, r in enumerate(RATERS)}


REBUILD_MIN_ROWS = 200_000
"""New answers from which SQLite builds `answer`'s secondary indexes after the insert."""


def _codes(column: Any) -> tuple[np.ndarray, list[Any]]:
    """(code per row, value per code) with code 0 for missing (None, NaN) cells.

    A categorical column is factorised from its codes (cheap); any other column by
    hashing its values. Values come back as plain Python text.
    """
    codes, uniques = pd.factorize(column)
    texts = [None, *(None if pd.isna(v) else v if isinstance(v, str) else str(v)
                     for v in np.asarray(uniques, dtype=object))]
    return codes.astype(np.int64) + 1, texts


def _combine(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """One code per distinct combination of the columns' codes: (code per row, first row)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    span = 1
    for c, size in zip(codes, sizes, strict=True):
        if span * size >= 1 << 62:  # keep the mixed key in int64: renumber first
            key, uniques = pd.factorize(key)
            key, span = key.astype(np.int64), max(len(uniques), 1)
        key = key * size + c
        span *= size
    kind, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.int64)
    first[kind[::-1]] = np.arange(len(kind) - 1, -1, -1)  # first row of each kind
    return kind.astype(np.int64), first


class AnswerStaging:
    """Answers of one inspection staged chunk by chunk, then merged once.

    A chunk is staged compactly: one row (case id, kind) per answer, where a kind is one
    distinct (question, rater, value, note, inspector) combination kept in a small
    table; a file repeats few of them. The merge then takes one of two ways:

    * **new answers only** (no stored answer exists for any staged (case, rater) pair,
      e.g. a first import): the rows go straight into `answer` with their creation
      events, with no diff against stored values;
    * otherwise the rows are expanded into the staging table and diffed against the
      stored answers: created, updated, unchanged and removed, events for changes only.

    Both ways write the same rows and the same events, in the same order.
    """

    TABLE = "iom_stage_answer"
    ROWS = "iom_stage_answer_row"
    KINDS = "iom_stage_answer_kind"
    DIFF = "iom_diff_answer"
    TOUCHED = "iom_touched_case"
    COLUMNS = ("case_id", "question_id", "rater", "value", "note", "set_note", "inspector_id")
    KIND_COLUMNS = ("code", "question_id", "rater", "value", "note", "set_note", "inspector_id",
                    "creates", "answered")

    def __init__(self, conn: sa.Connection, inspection_id: int, *, who: str,
                 question_set_version: str,
                 own_names: Sequence[str] | None = None) -> None:
        self.conn = conn
        self.inspection_id = inspection_id
        self.who = who
        # With `own_names` (the importer's: their name, and whom a row naming nobody is
        # attributed to), answers attributed to anyone else are in the trail beside who
        # imported them: one 'rated_by' event per case, rater and person.
        self.own_names = tuple(own_names) if own_names is not None else None
        self.version = question_set_version
        self.staged = 0
        self.sqlite = conn.dialect.name == "sqlite"
        self._inspectors: dict[str, int] = {}
        self._cases: dict[str, int] | None = None
        self._kinds: dict[tuple[Any, ...], int] = {}
        self._kind_creates = np.zeros(0, dtype=bool)
        self._kind_answered = np.zeros(0, dtype=bool)
        self._kind_rater = np.zeros(0, dtype=np.int64)
        self._pairs: list[np.ndarray] = []  # case_id * 4 + rater index, per chunk
        self._created_cases: list[np.ndarray] = []  # cases a new answer would start
        self._answered_cases: list[np.ndarray] = []
        self._creating = 0  # rows that create an answer if none is stored
        self._trail = chain_bulk.BulkEvents(conn, None)  # the merge's (chain_bulk.bulk)
        for table, columns in (
                (self.KINDS, "code INTEGER PRIMARY KEY, question_id VARCHAR, rater VARCHAR, "
                             "value VARCHAR, note VARCHAR, set_note INTEGER, "
                             "inspector_id INTEGER, creates INTEGER, answered INTEGER"),
                (self.ROWS, "case_id BIGINT, kind INTEGER")):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {table} ({columns})")

    # -- staging

    def add(self, rows: pd.DataFrame) -> None:
        """Stage a chunk: case_ref (or case_id), question_id, value, rater, inspector[, note].

        Without a `note` column the stored notes are left alone; with one, an empty
        note clears it. A row ending with neither value nor note deletes the answer.
        Columns may be categoricals (the importer's), which stage fastest.
        """
        if rows.empty:
            return
        case_ids = rows["case_id"] if "case_id" in rows.columns else self._case_ids(rows)
        self._add_columns(np.asarray(case_ids, dtype=np.int64), rows["question_id"],
                         rows["rater"], rows["value"],
                         rows["note"] if "note" in rows.columns else _NOTE_KEPT,
                         rows["inspector"])

    def _add_columns(self, case_ids: np.ndarray, question_id: Any, rater: Any, value: Any,
                    note: Any, inspector: Any) -> None:
        """Stage one chunk given as columns (see `add`); `note=_NOTE_KEPT` keeps notes.

        Each column is factorised (a categorical from its codes), the distinct
        combinations become kinds, and only (case id, kind) is written per row.
        """
        n = len(case_ids)
        if not n:
            return
        q, q_text = _codes(question_id)
        r, r_text = _codes(rater)
        bad_raters = set(r_text[1:]) - set(RATERS)
        if bad_raters or (r == 0).any():
            raise ValueError(f"rater must be one of {', '.join(RATERS)}")
        v, v_text = _codes(value)
        set_note = note is not _NOTE_KEPT
        nt, n_text = _codes(note) if set_note else (np.zeros(n, dtype=np.int64), [None])
        i, i_text = _codes(inspector)
        names = [t for t in i_text if t is not None]
        ids = self._inspector_ids(pd.Series(names, dtype=object)) if names else {}
        i_ids = [None if t is None else ids[t] for t in i_text]
        local, first = _combine([q, r, v, nt, i], [len(q_text), len(r_text), len(v_text),
                                                   len(n_text), len(i_text)])
        to_global = np.empty(len(first), dtype=np.int64)
        new_kinds = []
        for k, row in enumerate(first.tolist()):
            kind = (q_text[q[row]], r_text[r[row]], v_text[v[row]], n_text[nt[row]],
                    int(set_note), i_ids[i[row]])
            code = self._kinds.get(kind)
            if code is None:
                code = self._kinds[kind] = len(self._kinds)
                new_kinds.append((code, *kind))
            to_global[k] = code
        if new_kinds:
            self._store_kinds(new_kinds)
        kinds = to_global[local]
        self._load_rows(case_ids, kinds)
        self.staged += n
        # What the merge needs to know without reading the rows back.
        rater_index = self._kind_rater[kinds]
        self._pairs.append(pd.unique(case_ids * 4 + rater_index))
        creates = self._kind_creates[kinds]
        self._created_cases.append(pd.unique(case_ids[creates]))
        self._creating += int(creates.sum())
        self._answered_cases.append(pd.unique(case_ids[self._kind_answered[kinds]]))

    def _store_kinds(self, new_kinds: list[tuple[Any, ...]]) -> None:
        rows = []
        creates, answered, raters = [], [], []
        for code, qid, rater, value, note, set_note, inspector_id in new_kinds:
            does_create = value is not None or (set_note == 1 and note is not None)
            rows.append((code, qid, rater, value, note if set_note else None, set_note,
                         inspector_id, int(does_create), int(value is not None)))
            creates.append(does_create)
            answered.append(value is not None)
            raters.append(_RATER_INDEX[rater])
        load_rows(self.conn, self.KINDS, self.KIND_COLUMNS, rows)
        self._kind_creates = np.concatenate([self._kind_creates, np.array(creates, dtype=bool)])
        self._kind_answered = np.concatenate([self._kind_answered,
                                              np.array(answered, dtype=bool)])
        self._kind_rater = np.concatenate([self._kind_rater, np.array(raters, dtype=np.int64)])

    def _load_rows(self, case_ids: np.ndarray, kinds: np.ndarray) -> None:
        """Append (case id, kind) rows in order: one json_each per million on SQLite, COPY."""
        if self.sqlite:
            shift = max(int(kinds.max()).bit_length(), 1)
            if int(case_ids.max()) >= 1 << (62 - shift) or int(case_ids.min()) < 0:
                load_rows(self.conn, self.ROWS, ("case_id", "kind"),
                          zip(case_ids.tolist(), kinds.tolist(), strict=True))
                return
            packed = (case_ids << shift) | kinds
            mask = (1 << shift) - 1
            raw = self.conn.connection.driver_connection
            for start in range(0, len(packed), _JSON_ROWS):
                text = str(packed[start:start + _JSON_ROWS].tolist())  # JSON too
                raw.execute(f"INSERT INTO {self.ROWS} (case_id, kind) "  # type: ignore[union-attr]
                            f"SELECT value >> {shift}, value & {mask} FROM json_each(?)", (text,))
            return
        raw = self.conn.connection.driver_connection
        text = "".join(map("{}\t{}\n".format, case_ids.tolist(), kinds.tolist()))
        with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                f"COPY {self.ROWS} (case_id, kind) FROM STDIN") as copy:
            copy.write(text)

    def _case_ids(self, rows: pd.DataFrame) -> pd.Series:
        if self._cases is None:
            stored = run_sql(self.conn, 'SELECT case_ref, id FROM "case" WHERE inspection_id = :i',
                          i=self.inspection_id).all()
            self._cases = {ref: case_id for ref, case_id in (tuple(r) for r in stored)}
        ids = rows["case_ref"].map(self._cases)
        if ids.isna().any():
            missing = rows.loc[ids.isna(), "case_ref"].unique()[:10]
            raise ValueError(f"unknown case_ref: {', '.join(map(str, missing))}")
        return ids

    def _inspector_ids(self, names: pd.Series) -> dict[str, int]:
        wanted = {str(n) for n in names.dropna().unique()} - set(self._inspectors)
        if wanted:
            stmt = sa.text("SELECT name, id FROM inspector WHERE name IN :names").bindparams(
                sa.bindparam("names", expanding=True))
            found: dict[str, int] = {
                name: i for name, i in self.conn.execute(stmt, {"names": sorted(wanted)})}
            missing = sorted(wanted - set(found))
            if missing:  # registered through audit/people.py, the one way in
                found.update(rater_ids(self.conn, missing, by=self.who))
            self._inspectors.update(found)
        return self._inspectors

    # -- merging

    def _rows_with_kinds(self) -> str:
        """FROM clause: each staged row with its kind (rows first, in staging order)."""
        join = "CROSS JOIN" if self.sqlite else "JOIN"  # SQLite: keep the rows outermost
        return f"{self.ROWS} r {join} {self.KINDS} k ON k.code = r.kind"

    @property
    def _in_order(self) -> str:
        # Case by case (file order within a case): the answers' unique index and the
        # trail's case index then grow at their ends. In file order, a file merged from
        # several spreadsheets (rows in no useful order) wrote them at random pages:
        # 2,700,000 shuffled rows took twice the time, most of it paging (issue 19).
        return " ORDER BY r.case_id, r.rowid" if self.sqlite else ""

    def only_new(self) -> bool:
        """Whether no stored answer exists for any staged (case, rater): nothing to diff."""
        if not self._pairs:
            return True
        if not run_sql(self.conn, "SELECT EXISTS (SELECT 1 FROM answer)").scalar_one():
            return True
        pairs = pd.unique(np.concatenate(self._pairs))
        for index, rater in enumerate(RATERS):
            ids = pairs[pairs % 4 == index] // 4
            if not len(ids):
                continue
            if self.sqlite:
                # `+a.rater`: look up by case (the unique index), never scan by rater.
                found = run_sql(self.conn, """
                    SELECT EXISTS (SELECT 1 FROM json_each(:ids) j WHERE EXISTS (
                        SELECT 1 FROM answer a WHERE a.case_id = j.value AND +a.rater = :r))""",
                             ids=str(ids.tolist()), r=rater)
            else:
                found = run_sql(self.conn, """
                    SELECT EXISTS (SELECT 1 FROM unnest(CAST(:ids AS BIGINT[])) AS j(id)
                        WHERE EXISTS (SELECT 1 FROM answer a
                                      WHERE a.case_id = j.id AND a.rater = :r))""",
                             ids=ids.tolist(), r=rater)
            if found.scalar_one():
                return False
        return True

    def merge(self) -> BulkResult:
        """Insert new answers, update changed ones, delete emptied ones, log each change."""
        at = utcnow()
        with chain_bulk.bulk(self.conn, self.inspection_id) as self._trail:
            result = self._insert_new(at) if self.only_new() else self._merge_diff(at)
        for table in (self.ROWS, self.KINDS, self.TABLE, self.DIFF, self.TOUCHED):
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
        return result

    def _insert_new(self, at: Any) -> BulkResult:
        """Every staged answer is new: insert them and their creation events directly.

        The same rows and events, in the same order, as `_merge_diff` writes when it
        finds no stored answer: answer events, then note events, then case starts.
        """
        rows, who, order = self._rows_with_kinds(), self.who, self._in_order
        events = 0
        for entity, column, shown in (("answer", "value", "k.value IS NOT NULL"),
                                      ("note", "note", "k.note IS NOT NULL")):
            events += self._trail.write(f"""
                SELECT :at, :who, '{entity}', r.case_id,
                       c.case_ref || '/' || k.question_id || '/' || k.rater, k.question_id,
                       NULL, k.{column}
                FROM {rows} JOIN "case" c ON c.id = r.case_id
                WHERE {shown}{order}""", at=at, who=who)
        with self._indexes_built_after():
            created = run_sql(self.conn, f"""
                INSERT INTO answer (case_id, question_id, question_set_version, value, note,
                                    inspector_id, rater, updated_at)
                SELECT r.case_id, k.question_id, :v, k.value, k.note, k.inspector_id, k.rater,
                       :at
                FROM {rows} WHERE k.creates = 1{order}""", v=self.version, at=at).rowcount
        self._rated_by(f"{rows} WHERE k.creates = 1", "r.case_id", "k", at)
        touched = pd.unique(np.concatenate(self._created_cases)) if self._created_cases \
            else np.zeros(0, dtype=np.int64)
        touched.sort()
        answered = np.isin(touched, np.concatenate(self._answered_cases)) \
            if self._answered_cases else np.zeros(0, dtype=bool)
        self._load_touched(touched, answered)
        events += self._touch_cases(at)
        return BulkResult(created, 0, self.staged - created, events=events, removed=0)

    @contextmanager
    def _indexes_built_after(self) -> Iterator[None]:
        """SQLite, bulk insert into a (nearly) empty `answer`: drop its secondary indexes,
        then build them once, sorted, with a helper thread (about twice as fast).

        Only non-unique indexes with a definition (never the unique constraint's), and
        only when the table holds under half as many rows as are coming: building an
        index costs about what maintaining it does per row. DDL is transactional in
        SQLite: a crash or an error anywhere restores the indexes with the rollback,
        and they are rebuilt even when the insert fails, so the schema never changes.
        """
        rebuild: list[tuple[str, str]] = []
        if self.sqlite and self._creating >= REBUILD_MIN_ROWS:
            largest = run_sql(self.conn, "SELECT COALESCE(MAX(id), 0) FROM answer").scalar_one()
            if largest <= self._creating // 2:
                indexes = run_sql(self.conn, """
                    SELECT name, sql FROM sqlite_master WHERE type = 'index'
                      AND tbl_name = 'answer' AND sql IS NOT NULL""").all()
                rebuild = [(str(name), str(sql)) for name, sql in (tuple(r) for r in indexes)
                           if not str(sql).lstrip().upper().startswith("CREATE UNIQUE")]
        for name, _ in rebuild:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        try:
            yield
        finally:
            if rebuild:
                threads = self.conn.exec_driver_sql("PRAGMA threads").scalar_one()
                self.conn.exec_driver_sql("PRAGMA threads = 2")
                try:
                    for _, sql in rebuild:
                        self.conn.exec_driver_sql(sql)
                finally:
                    self.conn.exec_driver_sql(f"PRAGMA threads = {int(threads)}")

    def _load_touched(self, cases: np.ndarray, answered: np.ndarray) -> None:
        t = self.TOUCHED
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
        self.conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {t} (case_id BIGINT, answered INTEGER)")
        if len(cases):
            load_rows(self.conn, t, ("case_id", "answered"),
                      zip(cases.tolist(), answered.astype(np.int64).tolist(), strict=True))

    def _expand(self) -> None:
        """The staged rows as full rows in the staging table, for the diff."""
        temp_table(self.conn, self.TABLE, {"case_id": "int", "question_id": "code",
                                            "rater": "code", "value": "code", "note": "code",
                                            "set_note": "int", "inspector_id": "int"})
        cols = ", ".join(self.COLUMNS)
        run_sql(self.conn, f"""
            INSERT INTO {self.TABLE} ({cols})
            SELECT r.case_id, k.question_id, k.rater, k.value, k.note, k.set_note,
                   k.inspector_id
            FROM {self._rows_with_kinds()}{self._in_order}""")

    def _merge_diff(self, at: Any) -> BulkResult:
        """Diff the staged rows against the stored answers and apply the changes."""
        self._expand()
        s, d, t, who = self.TABLE, self.DIFF, self.TOUCHED, self.who
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {d}")
        # Only the rows that change something survive into the diff, with the stored
        # value and note beside the new ones: events, updates and counts all read it.
        self.conn.exec_driver_sql(f"""
            CREATE TEMPORARY TABLE {d} AS
            SELECT s.case_id, s.question_id, s.rater, s.value,
                   CASE WHEN s.set_note = 1 THEN s.note ELSE a.note END AS note,
                   s.inspector_id, a.id AS answer_id, a.value AS old_value, a.note AS old_note
            FROM {s} s LEFT JOIN answer a
              ON a.case_id = s.case_id AND a.question_id = s.question_id AND a.rater = s.rater
            WHERE (a.id IS NULL AND (s.value IS NOT NULL OR
                                     (s.set_note = 1 AND s.note IS NOT NULL)))
               OR (a.id IS NOT NULL AND (a.value IS DISTINCT FROM s.value OR
                                         (s.set_note = 1 AND a.note IS DISTINCT FROM s.note)))
        """)
        created, updated, removed = (int(n) for n in run_sql(self.conn, f"""
            SELECT COALESCE(SUM(CASE WHEN answer_id IS NULL THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN answer_id IS NOT NULL AND (value IS NOT NULL OR
                                     note IS NOT NULL) THEN 1 ELSE 0 END), 0),
                   COALESCE(SUM(CASE WHEN answer_id IS NOT NULL AND value IS NULL AND
                                     note IS NULL THEN 1 ELSE 0 END), 0)
            FROM {d}""").one())
        events = 0
        for entity, old, new in (("answer", "old_value", "value"), ("note", "old_note", "note")):
            events += self._trail.write(f"""
                SELECT :at, :who, '{entity}', d.case_id,
                       c.case_ref || '/' || d.question_id || '/' || d.rater, d.question_id,
                       d.{old}, d.{new}
                FROM {d} d JOIN "case" c ON c.id = d.case_id
                WHERE d.{old} IS DISTINCT FROM d.{new}""", at=at, who=who)
        run_sql(self.conn, f"""
            UPDATE answer SET value = d.value, note = d.note, inspector_id = d.inspector_id,
                              question_set_version = :v, updated_at = :at
            FROM {d} d WHERE answer.id = d.answer_id""", v=self.version, at=at)
        run_sql(self.conn, f"""
            INSERT INTO answer (case_id, question_id, question_set_version, value, note,
                                inspector_id, rater, updated_at)
            SELECT case_id, question_id, :v, value, note, inspector_id, rater, :at
            FROM {d} WHERE answer_id IS NULL""", v=self.version, at=at)
        self._rated_by(f"{d} d WHERE d.value IS NOT NULL OR d.note IS NOT NULL", "d.case_id",
                       "d", at)
        if removed:
            run_sql(self.conn, f"""
                DELETE FROM answer WHERE id IN (SELECT answer_id FROM {d}
                  WHERE answer_id IS NOT NULL AND value IS NULL AND note IS NULL)""")
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
        self.conn.exec_driver_sql(f"""
            CREATE TEMPORARY TABLE {t} AS
            SELECT case_id, MAX(CASE WHEN value IS NOT NULL THEN 1 ELSE 0 END) AS answered
            FROM {d} GROUP BY case_id""")
        events += self._touch_cases(at)
        return BulkResult(created, updated, self.staged - created - updated - removed,
                          events=events, removed=removed)

    def _rated_by(self, source: str, case_id: str, alias: str, at: Any) -> None:
        """With `own_names`: one event per case, rater and person other than the importer
        that the written answers (`source`) are attributed to. (Not counted in the
        summary's events, which count changes of answers and cases.)"""
        if not self.own_names:
            return
        own = {f"own{i}": name for i, name in enumerate(self.own_names)}
        others = f"p.name NOT IN ({', '.join(':' + k for k in own)})"
        if not run_sql(self.conn, f"""
                SELECT EXISTS (SELECT 1 FROM {self.KINDS} k JOIN inspector p
                               ON p.id = k.inspector_id WHERE {others})""", **own).scalar_one():
            return  # the usual file: the importer's own ratings, nothing to scan
        self._trail.write(f"""
            SELECT :at, :who, 'rating', w.case_id, c.case_ref || '/' || w.rater, 'rated_by',
                   NULL, p.name
            FROM (SELECT DISTINCT {case_id} AS case_id, {alias}.rater AS rater,
                                  {alias}.inspector_id AS inspector_id FROM {source}) w
            JOIN "case" c ON c.id = w.case_id JOIN inspector p ON p.id = w.inspector_id
            WHERE {others} ORDER BY w.case_id, w.rater, p.name""", at=at, who=self.who,
                          **own)

    def _touch_cases(self, at: Any) -> int:
        """Bump each changed case's version once; a first answer starts the case.

        Reads the touched-case table: (case_id, answered), one row per changed case.
        """
        t = self.TOUCHED
        events = self._trail.write(f"""
            SELECT :at, :who, 'case', c.id, c.case_ref, 'status', 'not_started', 'in_progress'
            FROM {t} t JOIN "case" c ON c.id = t.case_id
            WHERE c.status = 'not_started' AND t.answered = 1""", at=at, who=self.who)
        run_sql(self.conn, f"""
            UPDATE "case" SET version = "case".version + 1, updated_at = :at,
                status = CASE WHEN "case".status = 'not_started' AND t.answered = 1
                              THEN 'in_progress' ELSE "case".status END
            FROM {t} t WHERE "case".id = t.case_id""", at=at)
        return events


def upsert_answers(conn: sa.Connection, inspection_id: int, rows: pd.DataFrame, *, who: str,
                   question_set_version: str) -> BulkResult:
    """Insert or update answers on (case, question, rater); see AnswerStaging.add."""
    stage = AnswerStaging(conn, inspection_id, who=who,
                          question_set_version=question_set_version)
    stage.add(rows)
    return stage.merge()
