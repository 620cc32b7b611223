"""SQLite: the ids of the cases that gave each answer, listed per question and value.

This is what `audit.views.tally` counts on SQLite: one scan of the covering index
`ix_answer_tally`, each question and value with its case ids joined by commas
(`group_concat`). It is the long read of a comparison (half a second at 100,000 cases),
and SQLite runs it outside Python's lock. So `prefetch` starts it in a thread as soon as
the questions are known, and the read runs while the caller imports the statistics stack
(pandas, scipy, statsmodels: about a second that only the interpreter can do). For that,
this module imports nothing heavier than SQLAlchemy and the models.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from audit import final_record
from audit.store.engine import Database
from audit.store.models import Answer, Case

ListedAnswers = tuple[str, str, int, str]
"""Question id, value, number of answers, and the ids of their cases joined by commas."""

# Below this share of all cases, walk the answers from the chosen cases (an index seek
# per case) rather than scanning the whole index and dropping other cases' answers.
SEEK_SHARE = 0.02


# The database a report lists each question's answers of once, for all its tables
# (`audit.views.tally.shared_answer_scan`). A comparison inside such a block counts from
# that scan: a thread of its own (`prefetch`) would list the same answers again, on the
# core the report's other reads use.
_SHARING: ContextVar[Database | None] = ContextVar("answer lists shared", default=None)


@contextmanager
def sharing(db: Database) -> Iterator[None]:
    """Within the block, `prefetch` leaves `db`'s lists to the shared scan (returns None)."""
    token = _SHARING.set(db)
    try:
        yield
    finally:
        _SHARING.reset(token)


def shared(db: Database) -> bool:
    """Whether a report's shared scan lists `db`'s answers (`sharing`)."""
    return _SHARING.get() is db


def scanned_rater(rater: str) -> str:
    """Whose answers are listed to count `rater`'s: the final record is the primary tally
    corrected by the few moderated answers, read apart (`audit.final_record`)."""
    return final_record.PRIMARY if rater == final_record.FINAL else rater


def all_cases(conn: sa.Connection) -> int:
    """Cases in the database, every inspection's."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one())


def seeks(conn: sa.Connection, n_cases: int) -> bool:
    """Whether to list `n_cases` cases' answers by seeking them rather than by a whole
    scan: SQLite's planner has no statistics, so it is told (see SEEK_SHARE)."""
    return n_cases < SEEK_SHARE * all_cases(conn)


def read_lists(db: Database, questions: Sequence[str], inspection_ids: Sequence[int],
               rater: str, *, n_cases: int | None = None) -> list[ListedAnswers]:
    """The answers of `rater` ("primary", "qa" or "moderated") to `questions` listed per
    question and value, in that order, answers without a value left out.

    The cases of other inspections may be listed too: counting drops the ids it does not
    know. `n_cases`, the cases to be counted (default: those of the inspections), only
    chooses the plan: seek their answers when they are few, else scan every answer.
    """
    with db.engine.connect() as conn:
        if n_cases is None:
            n_cases = int(conn.execute(
                sa.select(sa.func.count()).select_from(Case)
                .where(col(Case.inspection_id).in_(list(inspection_ids)))).scalar_one())
        seek = seeks(conn, n_cases)
        rows = conn.execute(_statement(questions, inspection_ids, rater, seek=seek)).all()
    return [(str(qid), str(value), int(n), str(ids)) for qid, value, n, ids in rows]


def scan_lists(db: Database, questions: Sequence[str], rater: str) -> list[ListedAnswers]:
    """As `read_lists`, by a whole scan of the covering index, every inspection's cases
    listed (for a report's shared scan, `audit.views.tally.shared_answer_scan`)."""
    with db.engine.connect() as conn:
        rows = conn.execute(_statement(questions, (), rater, seek=False)).all()
    return [(str(qid), str(value), int(n), str(ids)) for qid, value, n, ids in rows]


def _statement(questions: Sequence[str], inspection_ids: Sequence[int], rater: str, *,
               seek: bool) -> sa.Select[Any]:
    listed = sa.func.group_concat(Answer.case_id)
    rater_col: sa.SQLColumnExpression[str] = col(Answer.rater)
    question_col: sa.SQLColumnExpression[str] = col(Answer.question_id)
    if seek:
        # SQLite's planner (no statistics) would rather walk the covering index by rater
        # and question than seek each case; a unary + keeps it off that index.
        rater_col = sa.literal_column("+answer.rater", sa.String)
        question_col = sa.literal_column("+answer.question_id", sa.String)
    stmt = (sa.select(col(Answer.question_id), col(Answer.value), sa.func.count(), listed)
            .where(rater_col == rater, question_col.in_(list(questions)),
                   col(Answer.value).is_not(None))
            .group_by(col(Answer.question_id), col(Answer.value)))
    if seek:
        # Few cases: start from the cases.
        stmt = stmt.join(Case, sa.and_(col(Answer.case_id) == Case.id,
                                       col(Case.inspection_id).in_(list(inspection_ids))))
    return stmt


class Prefetch:
    """`read_lists` running in a thread; `lists()` waits for it (and raises its error)."""

    def __init__(self, db: Database, questions: Sequence[str], inspection_ids: Sequence[int],
                 rater: str) -> None:
        self.questions = tuple(questions)
        self.inspection_ids = tuple(inspection_ids)
        self.rater = rater
        self._lists: list[ListedAnswers] = []
        self._error: BaseException | None = None
        # A daemon, as the imports started beside it: a caller that fails meanwhile
        # exits without waiting for a read nobody will use.
        self._thread = threading.Thread(target=self._read, args=(db,), daemon=True,
                                        name="read answer lists")
        self._thread.start()

    def _read(self, db: Database) -> None:
        try:
            self._lists = read_lists(db, self.questions, self.inspection_ids, self.rater)
        except BaseException as exc:  # handed to the thread that waits (lists())
            self._error = exc

    def serves(self, questions: Sequence[str], inspection_ids: Sequence[int],
               rater: str) -> bool:
        """Whether these are the lists a tally of these questions, cases and rater needs."""
        return (self.questions == tuple(questions) and self.rater == rater
                and set(self.inspection_ids) >= set(inspection_ids))

    def lists(self) -> list[ListedAnswers]:
        """The lists, once read."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._lists


def prefetch(db: Database, questions: Sequence[str], inspection_ids: Sequence[int],
             rater: str) -> Prefetch | None:
    """Start reading the lists a tally of `rater` (as `audit.views.tally.tally` names
    raters: "final" too) will count; None where there are none to read: on PostgreSQL the
    server counts (`audit.views.tally`), no questions or no inspections list nothing, and
    within a report's shared scan (`sharing`) that scan lists them."""
    if (db.engine.dialect.name != "sqlite" or not questions or not inspection_ids
            or shared(db)):
        return None
    return Prefetch(db, questions, inspection_ids, scanned_rater(rater))
