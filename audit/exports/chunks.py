"""Reading an export in batches of cases: the rows of the wide and long layouts, coded.

Exports read a few thousand cases at a time (columns with SQL, never one ORM object per
answer), so memory stays bounded at any size. Each batch is one inspection's cases, in
case-reference order, with every answer column holding an answer code or the code of
why it is missing (`audit.exports.coding`): whether an unanswered question was asked at
all is the question set's rule, judged for the whole batch by `audit.rules.applicability`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import col

from audit import final_record, rules
from audit.exports.coding import NOT_ASKED, UNANSWERED
from audit.store.models import Answer, Case, Inspection, Inspector, Site
from question_sets import Question, QuestionSet
from question_sets.profile import PROFILE

# Cases per read: ~30,000 answers. Measured at 100,000 cases (Parquet): 1,000 peak at
# 244 MB, 2,000 at 260 MB, 5,000 at 306 MB, in about the same time.
BATCH_CASES = 1_000
LONG_COLUMNS = ("case_id", "inspection", "case_ref", "question_id", "rater", "value", "note",
                "inspector", "updated_at")


def fetch_objects(conn: sa.Connection, stmt: sa.Executable,
                  columns: Sequence[str]) -> pd.DataFrame:
    """A query's rows straight from the DBAPI cursor, as plain Python objects.

    Not pandas' Arrow-backed strings: Arrow's allocator keeps what each batch used, which
    cost ~45 MB of peak memory at 100,000 cases (SPSS export, 332 -> 286 MB).
    """
    result = conn.execute(stmt)
    try:
        raw = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    return pd.DataFrame(raw or None, columns=list(columns), dtype=object)


@dataclass(frozen=True)
class Source:
    """One inspection to export: its id, name and question set."""

    id: int
    name: str
    question_set: QuestionSet


def case_batches(conn: sa.Connection, inspection_id: int,
                 size: int | None = None) -> Iterator[list[int]]:
    """The inspection's case ids in case-reference order, `size` (BATCH_CASES) at a time."""
    size = size or BATCH_CASES
    ids = [int(i) for i in conn.execute(
        sa.select(col(Case.id)).where(col(Case.inspection_id) == inspection_id)
        .order_by(col(Case.case_ref))).scalars() if i is not None]
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def load_cases(conn: sa.Connection, case_ids: Sequence[int]) -> pd.DataFrame:
    """One row per case, in the order of `case_ids`: id, inspection, case_ref, site,
    status and the profile (typed values: booleans, dates)."""
    stmt = (sa.select(col(Case.id), sa.label("inspection", col(Inspection.name)),
                      col(Case.case_ref), sa.label("site", col(Site.name)), col(Case.status),
                      *(getattr(Case, f) for f in PROFILE))
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.id).in_(list(case_ids))))
    result = conn.execute(stmt)
    frame = pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()), dtype=object)
    return frame.set_index("id", drop=False).reindex(list(case_ids)).reset_index(drop=True)


def load_answer_values(conn: sa.Connection, case_ids: Sequence[int],
                       rater: str) -> pd.DataFrame:
    """One rater's answers to these cases: case_id, question_id, value. `rater` "final"
    is the moderated final record (`audit.final_record`).

    The rater is picked here, not in SQL: with `rater = ?` in the query SQLite chooses
    the tally index (rater first) and reads every answer of the database for each batch.
    """
    stmt = (sa.select(col(Answer.case_id), col(Answer.question_id), col(Answer.value),
                      col(Answer.rater))
            .where(col(Answer.case_id).in_(list(case_ids)), col(Answer.value).is_not(None)))
    frame = fetch_objects(conn, stmt, ["case_id", "question_id", "value", "rater"])
    if rater == final_record.FINAL:
        return final_record.final_answers(frame)
    return frame[frame["rater"] == rater].drop(columns=["rater"]).reset_index(drop=True)


def code_answers(qs: QuestionSet, questions: Sequence[Question], cases: pd.DataFrame,
                 answers: pd.DataFrame) -> dict[str, np.ndarray]:
    """Question id -> the answer codes of each case, a missing answer coded `notasked`
    when the set's rule did not apply (or the set has no such question), else `noanswer`."""
    n = len(cases)
    # One object array per question, straight from numpy: a pivoted DataFrame would turn
    # every column into Arrow strings, whose allocator keeps the memory of each batch.
    qids = [q.id for q in questions]
    rows = pd.Index(cases["id"].to_numpy(dtype=np.int64)).get_indexer(
        pd.Index(answers["case_id"].to_numpy(dtype=np.int64)))
    columns = pd.Index(qids, dtype=object).get_indexer(
        pd.Index(answers["question_id"].to_numpy(dtype=object), dtype=object))
    keep = (rows >= 0) & (columns >= 0)
    grid = np.full((n, len(qids)), None, dtype=object)
    grid[rows[keep], columns[keep]] = answers["value"].to_numpy(dtype=object)[keep]
    given = {qid: grid[:, j] for j, qid in enumerate(qids)}
    fields = {f: cases[f].to_numpy(dtype=object) for f in rules.rule_case_fields(qs)
              if f in cases}
    asked = {q.id for q in qs.questions}
    verdicts = rules.applicability(qs, n, fields, {k: v for k, v in given.items() if k in asked})
    out: dict[str, np.ndarray] = {}
    for q in questions:
        values = given[q.id].copy()
        applies = (verdicts.get(q.id, np.ones(n, dtype=bool)) if q.id in asked
                   else np.zeros(n, dtype=bool))
        missing = pd.isna(values)
        values[missing & applies] = UNANSWERED.code
        values[missing & ~applies] = NOT_ASKED.code
        out[q.id] = values
    return out


def _yes_no(values: pd.Series) -> pd.Series:
    return pd.Series([None if v is None or v is pd.NA or v != v else ("yes" if v else "no")
                      for v in values], index=values.index, dtype=object)


def wide_batch(conn: sa.Connection, source: Source, case_ids: Sequence[int],
               questions: Sequence[Question], names: Mapping[str, str], *, rater: str,
               pseudonyms: Mapping[int, str] | None) -> pd.DataFrame:
    """The wide rows of these cases: case columns, then one coded column per question."""
    cases = load_cases(conn, case_ids)
    coded = code_answers(source.question_set, questions, cases,
                         load_answer_values(conn, case_ids, rater))
    out = cases.drop(columns=["id"])
    if pseudonyms is not None:
        out["case_ref"] = cases["id"].map(pseudonyms).astype(object)
        out = out.drop(columns=[f for f, s in PROFILE.items() if s.kind == "date"])
    for f, spec in PROFILE.items():
        if spec.kind == "bool":
            out[f] = _yes_no(out[f])
    questions_frame = pd.DataFrame({names[q]: v for q, v in coded.items()}, index=out.index,
                                   dtype=object)
    out = pd.concat([out, questions_frame], axis=1)
    return out.astype(object).where(out.notna(), None)


def long_batch(conn: sa.Connection, case_ids: Sequence[int], *,
               pseudonyms: Mapping[int, str] | None) -> pd.DataFrame:
    """The long rows (one per stored answer) of these cases; `updated_at` as UTC times."""
    stmt = (sa.select(col(Answer.case_id), col(Inspection.name), col(Case.case_ref),
                      col(Answer.question_id), col(Answer.rater), col(Answer.value),
                      col(Answer.note), col(Inspector.name), col(Answer.updated_at))
            .join(Case, col(Answer.case_id) == Case.id)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Inspector, col(Answer.inspector_id) == Inspector.id)
            .where(col(Answer.case_id).in_(list(case_ids)))
            .order_by(col(Case.case_ref), col(Answer.question_id), col(Answer.rater)))
    frame = fetch_objects(conn, stmt, LONG_COLUMNS)
    stamps = pd.to_datetime(frame["updated_at"], utc=True, format="ISO8601")
    frame = frame.astype(object).where(frame.notna(), None)
    frame["updated_at"] = stamps
    if pseudonyms is not None:
        frame["case_ref"] = frame["case_id"].map(pseudonyms).astype(object)
        frame = frame.drop(columns=["note", "updated_at"])
    return frame.drop(columns=["case_id"])


def batches(conn: sa.Connection, sources: Sequence[Source], questions: Sequence[Question],
            names: Mapping[str, str], *, long: bool, rater: str,
            pseudonyms: Mapping[int, Mapping[int, str]] | None) -> Iterator[
                tuple[Source, pd.DataFrame]]:
    """Every batch of every inspection, in order, with the inspection it belongs to."""
    for source in sources:
        keys = pseudonyms.get(source.id, {}) if pseudonyms is not None else None
        for ids in case_batches(conn, source.id):
            if long:
                yield source, long_batch(conn, ids, pseudonyms=keys)
            else:
                yield source, wide_batch(conn, source, ids, questions, names, rater=rater,
                                         pseudonyms=keys)
