"""The question set's rules applied to a whole file (the decisions are `audit.rules`').

An answer in a file whose question does not apply is refused; stored answers that a
file's changes make inapplicable are hidden (moved to `hidden_answer`, never deleted),
and hidden answers whose question applies again come back, as the app does for one case
(`audit.workflow`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from audit import workflow
from audit.imports.problems import Problems
from audit.imports.staging import load_rows, run_sql, temp_table
from audit.rules import inapplicable, rule_case_fields, rule_questions
from audit.store import chain_bulk
from audit.store.models import Case, Inspection, Site, utcnow
from question_sets import QuestionSet


def stored_profiles(conn: sa.Connection, inspection_id: int,
                    fields: set[str]) -> pd.DataFrame | None:
    """The case fields rules read, per case id of the inspection (None: no field read)."""
    if not fields:
        return None
    case, site = sa.inspect(Case).columns, sa.inspect(Site).columns
    columns = [case[f].label(f) for f in sorted(fields - {"site"})]
    if "site" in fields:
        columns.append(site["name"].label("site"))
    stmt = (sa.select(case["id"], *columns).outerjoin(Site, case["site_id"] == site["id"])
            .where(case["inspection_id"] == inspection_id))
    rows = [tuple(r) for r in conn.execute(stmt)]
    return pd.DataFrame(rows, columns=["id", *(c.name for c in columns)],
                        dtype=object).set_index("id")


def stored_answers(conn: sa.Connection, inspection_id: int, qids: set[str]) -> pd.DataFrame:
    """Stored answers (every rater) of the inspection to these questions."""
    stmt = sa.text('SELECT a.case_id, a.rater, a.question_id, a.value FROM answer a '
                   'JOIN "case" c ON c.id = a.case_id WHERE c.inspection_id = :i '
                   "AND a.question_id IN :q").bindparams(sa.bindparam("q", expanding=True))
    rows = [tuple(r) for r in conn.execute(stmt, {"i": inspection_id, "q": sorted(qids)})]
    return pd.DataFrame(rows, columns=["case_id", "rater", "question_id", "value"])


def check_file_rules(conn: sa.Connection, found: Inspection, qs: QuestionSet,
                     given: pd.DataFrame, duplicates: bool, relevant: set[str],
                     problems: Problems) -> pd.DataFrame:
    """Report file answers whose rule is false; return stored answers to clear.

    `given`: the file's answers that rules read or have (case_id, rater, question_id,
    value, row); `duplicates`: whether the file answers some question twice.
    """
    assert found.id is not None
    if given.empty:
        return pd.DataFrame(columns=["case_id", "rater", "question_id"])
    keys = ["case_id", "rater", "question_id"]
    stored = stored_answers(conn, found.id, relevant)
    if not stored.empty:
        groups = given[["case_id", "rater"]].drop_duplicates()
        stored = stored.merge(groups, on=["case_id", "rater"])
    if stored.empty and not duplicates:
        merged = given[[*keys, "value"]]  # one answer per key already
    else:
        merged = pd.concat([stored, given[[*keys, "value"]]], ignore_index=True) \
            .drop_duplicates(subset=keys, keep="last")  # the file's answers win
    bad = inapplicable(qs, merged, stored_profiles(conn, found.id, rule_case_fields(qs)))
    hits = given.merge(bad, on=keys)
    hits = hits[hits["value"].notna()]
    if not hits.empty:
        rules = {q.id: q.applies_when for q in qs.questions}
        problems.add_rows(hits["row"].to_numpy(), "answer", hits["value"].tolist(),
                          [f"{q} does not apply to this case ({rules[q]} is false)"
                           for q in hits["question_id"]])
    from_file = bad.merge(given[keys], on=keys, how="left", indicator=True)
    return from_file.loc[from_file["_merge"] == "left_only", keys].reset_index(drop=True)


def clear_inapplicable(conn: sa.Connection, found: Inspection, qs: QuestionSet, who: str,
                       fields: set[str]) -> int:
    """After profile changes, hide answers whose rule no longer holds (as the app does)."""
    read = rule_case_fields(qs)
    if not read & fields:
        return 0
    assert found.id is not None
    stored = stored_answers(conn, found.id, rule_questions(qs))
    bad = inapplicable(qs, stored, stored_profiles(conn, found.id, read))
    return hide_answers(conn, found.id, bad, who)


_HIDE = "iom_hide_answer"
_HIDDEN_ROWS = (f"FROM {_HIDE} h JOIN answer a ON a.case_id = h.case_id "
                "AND a.question_id = h.question_id AND a.rater = h.rater")


def hide_answers(conn: sa.Connection, inspection_id: int, rows: pd.DataFrame, who: str) -> int:
    """Move stored answers (case_id, rater, question_id) to `hidden_answer`, with the
    events `audit.workflow` writes for one: a 'rule' event (shown -> hidden), then the
    answer and note leaving the record. Returns how many were hidden."""
    if rows.empty:
        return 0
    at = utcnow()
    temp_table(conn, _HIDE, {"case_id": "int", "rater": "code", "question_id": "code"})
    load_rows(conn, _HIDE, ("case_id", "rater", "question_id"),
              zip(rows["case_id"].astype("int64").tolist(), rows["rater"].astype(str).tolist(),
                  rows["question_id"].astype(str).tolist(), strict=True))
    key = "c.case_ref || '/' || a.question_id || '/' || a.rater"
    with chain_bulk.bulk(conn, inspection_id) as trail:  # in order, on PostgreSQL too
        for entity, old, new, where in (
                ("rule", f"'{workflow.SHOWN}'", f"'{workflow.HIDDEN}'", "1=1"),
                ("answer", "a.value", "NULL", "a.value IS NOT NULL"),
                ("note", "a.note", "NULL", "a.note IS NOT NULL")):
            trail.write(f"""
                SELECT :at, :who, '{entity}', a.case_id, {key}, a.question_id, {old}, {new}
                {_HIDDEN_ROWS} JOIN "case" c ON c.id = a.case_id WHERE {where}
                ORDER BY a.case_id, a.rater, a.question_id""", at=at, who=who)
    hidden = run_sql(conn, f"""
        INSERT INTO hidden_answer (case_id, question_id, question_set_version, value, note,
                                   inspector_id, rater, updated_at, hidden_at)
        SELECT a.case_id, a.question_id, a.question_set_version, a.value, a.note,
               a.inspector_id, a.rater, a.updated_at, :at {_HIDDEN_ROWS}""", at=at).rowcount
    run_sql(conn, f"DELETE FROM answer WHERE id IN (SELECT a.id {_HIDDEN_ROWS})")
    run_sql(conn, f'UPDATE "case" SET version = version + 1, updated_at = :at '
                  f"WHERE id IN (SELECT case_id FROM {_HIDE})", at=at)
    conn.exec_driver_sql(f"DROP TABLE {_HIDE}")
    return int(hidden)


def settle_hidden(conn: sa.Connection, qs: QuestionSet, inspection_id: int,
                  case_ids: Iterable[Any], who: str) -> int:
    """Bring back the hidden answers of these cases whose question applies again (and hide
    what that makes inapplicable), case by case through `audit.workflow` - the app's
    code. Only cases that have hidden answers are read. Returns how many came back."""
    # Few cases have hidden answers: list them, rather than bind every touched id.
    hidden = {int(i) for i in run_sql(conn, 'SELECT DISTINCT h.case_id FROM hidden_answer h '
                                            'JOIN "case" c ON c.id = h.case_id '
                                            "WHERE c.inspection_id = :i",
                                      i=inspection_id).scalars()}
    if not hidden:
        return 0
    touched = np.asarray(list(case_ids) if not isinstance(case_ids, np.ndarray) else case_ids,
                         dtype=np.int64)
    with_hidden = sorted(hidden & set(pd.unique(touched).tolist()))
    restored = 0
    with Session(bind=conn) as session:
        for case_id in with_hidden:
            case = session.get(Case, case_id)
            assert case is not None
            settled = workflow.settle_case(session, qs, case, who)
            if settled:
                case.updated_at = utcnow()  # bumps the version, as any change does
                session.add(case)
            session.flush()
            restored += len(settled.restored)
    return restored
