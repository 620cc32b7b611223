"""The question set's rules applied to a whole file (the decisions are `audit.rules`').

An answer in a file whose question does not apply is refused; stored answers that a
file's changes make inapplicable are cleared, as the app does for one case.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from audit.imports.problems import Problems
from audit.imports.stage_answers import AnswerStaging
from audit.rules import inapplicable, rule_case_fields, rule_questions
from audit.store.models import Case, Inspection, Site
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
    """After profile changes, remove answers whose rule no longer holds (as the app does)."""
    read = rule_case_fields(qs)
    if not read & fields:
        return 0
    assert found.id is not None
    stored = stored_answers(conn, found.id, rule_questions(qs))
    bad = inapplicable(qs, stored, stored_profiles(conn, found.id, read))
    if bad.empty:
        return 0
    stage = AnswerStaging(conn, found.id, who=who, question_set_version=qs.version)
    stage.add(bad.assign(value=None, note=None, inspector=who))
    return stage.merge().removed
