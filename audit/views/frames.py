"""Bulk reads for analytics: answers and profiles from SQL into pandas, never via the ORM.

Two shapes serve everything downstream:
- `case_frame`: one row per case, profile columns then one column per question
  (answer codes as strings, missing when unanswered); for distributions, reliability and
  the report's profile tables.
- counts of answers per question, value and case keys live in `audit.views.tally`
  (`pattern_counts`: all a comparison needs, tests and regressions alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import col

from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Site
from audit.views.groups import IOM_LEVELS as IOM_LEVELS
from audit.views.groups import group_expression as group_expression
from audit.views.groups import groupable_fields as groupable_fields
from question_sets.profile import PROFILE

GROUP_FIELDS_EXTRA = ("inspection", "site", "status")


def fetch_frame(conn: sa.Connection, stmt: sa.Executable, columns: Sequence[str]) -> pd.DataFrame:
    """Run a query and build a DataFrame straight from the DBAPI cursor.

    Building SQLAlchemy Row objects costs about ten times the fetch itself on large reads;
    the raw tuples are all a DataFrame needs. Values arrive as the driver returns them
    (SQLite booleans as 0/1), so callers convert the few typed columns they use.
    """
    result = conn.execute(stmt)
    try:
        raw = result.cursor.fetchall() if result.cursor is not None else []
    finally:
        result.close()
    if not raw:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame.from_records(raw, columns=list(columns))


def group_sizes(db: Database, inspection_ids: Sequence[int], *, by: str) -> pd.Series:
    """Number of cases per group level (the base for 'missing' answers)."""
    level: sa.Label[Any] = group_expression(by).label("level")
    stmt = (sa.select(level, sa.func.count()).select_from(Case)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.inspection_id).in_(inspection_ids))
            .group_by(level))
    with db.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.Series({lvl: n for lvl, n in rows if lvl is not None}, dtype="int64")


def unknown_group_count(db: Database, inspection_ids: Sequence[int], *, by: str) -> int:
    """Number of cases whose group level is unknown (e.g. IOM status not recorded)."""
    stmt = (sa.select(sa.func.count()).select_from(Case)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.inspection_id).in_(inspection_ids),
                   group_expression(by).is_(None)))
    with db.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def case_frame(db: Database, inspection_ids: Sequence[int], *,
               questions: Sequence[str] | None = None, rater: str = "primary",
               fields: Sequence[str] | None = None, only_answered: bool = False,
               case_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per case (index: case id) with its profile and answers as columns.

    Columns: inspection, case_ref, site, status, the profile fields (or `fields`), then one
    column per question (answer codes; missing when unanswered). Booleans stay booleans
    (nullable); use `group_expression` semantics via `add_group` for levels.
    """
    profile = list(fields) if fields is not None else list(PROFILE)
    case_cols = [col(Case.id), col(Inspection.name).label("inspection"), col(Case.case_ref),
                 col(Site.name).label("site"), col(Case.status),
                 *(getattr(Case, f) for f in profile)]
    case_stmt = (sa.select(*case_cols).select_from(Case)
                 .join(Inspection, col(Case.inspection_id) == Inspection.id)
                 .outerjoin(Site, col(Case.site_id) == Site.id)
                 .where(col(Case.inspection_id).in_(inspection_ids))
                 .order_by(col(Case.id)))
    answer_stmt = (sa.select(col(Answer.case_id), col(Answer.question_id), col(Answer.value))
                   .join(Case, col(Answer.case_id) == Case.id)
                   .where(col(Case.inspection_id).in_(inspection_ids),
                          col(Answer.rater) == rater, col(Answer.value).is_not(None)))
    if questions is not None:
        answer_stmt = answer_stmt.where(col(Answer.question_id).in_(questions))
    if case_ids is not None:  # e.g. the few cases rated twice, out of a national set
        case_stmt = case_stmt.where(col(Case.id).in_(list(case_ids)))
        answer_stmt = answer_stmt.where(col(Answer.case_id).in_(list(case_ids)))
    with db.engine.connect() as conn:
        cases = fetch_frame(conn, case_stmt, ["case_id", "inspection", "case_ref", "site",
                                              "status", *profile])
        long = fetch_frame(conn, answer_stmt, ["case_id", "question_id", "value"])
    cases = cases.set_index("case_id")
    for f in profile:
        if PROFILE[f].kind == "bool":
            cases[f] = cases[f].astype("boolean")
        elif PROFILE[f].kind == "date":
            cases[f] = pd.to_datetime(cases[f], errors="coerce").dt.date
    wide = pivot_answers(long, questions)
    if only_answered:
        cases = cases.loc[cases.index.isin(wide.index)]
    out = cases.join(wide, how="left")
    return out


def pivot_answers(long: pd.DataFrame, questions: Sequence[str] | None) -> pd.DataFrame:
    """Long (case_id, question_id, value) to wide (index case_id, a column per question).

    Faster than pandas' generic pivot on millions of answers; `questions` (default: those
    present, sorted) fixes the columns, and answers to other questions are left out.
    """
    qids = list(questions) if questions is not None else sorted(long["question_id"].unique())
    if long.empty:
        return pd.DataFrame(columns=qids, dtype="object")
    case_codes, case_index = pd.factorize(long["case_id"], sort=True)
    q_cat = pd.Categorical(long["question_id"], categories=qids)
    keep = q_cat.codes >= 0
    values = np.full((len(case_index), len(qids)), None, dtype=object)
    values[case_codes[keep], q_cat.codes[keep]] = long["value"].to_numpy()[keep]
    return pd.DataFrame(values, index=pd.Index(case_index, name="case_id"), columns=qids)


def add_group(frame: pd.DataFrame, by: str, column: str = "group") -> pd.DataFrame:
    """Add the group level column for `--by FIELD` to a case frame (same rules as SQL)."""
    if by == "iom":
        iom = frame["iom"]
        level = pd.Series(np.where(iom.fillna(False), "iom", "non_iom"), index=frame.index,
                          dtype="object")
        level[iom.isna()] = None
    elif by in {"inspection", "site", "status"}:
        level = frame[by].astype("object")
    elif PROFILE.get(by) is not None and PROFILE[by].kind == "bool":
        values = frame[by]
        level = pd.Series(np.where(values.fillna(False), "yes", "no"), index=frame.index,
                          dtype="object")
        level[values.isna()] = None
    else:
        level = frame[by].astype("object")
    return frame.assign(**{column: level})
