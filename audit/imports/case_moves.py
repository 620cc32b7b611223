"""The lifecycle in files: status moves a case file asks for, and edits of signed-off cases.

`audit.lifecycle` decides; this module applies its table to many rows at once and
refuses, row by row, whatever the app would refuse: a move the table does not have, a
move the person's role may not make, a move back (or an edit that reopens a signed-off
case) without a reason, a sign-off with required answers missing, locking a case whose
data queries are not all closed. A file gives one reason for all its cases
(`--reopen-reason`); the trail records it beside each move.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from audit import lifecycle, qa_rules, workflow
from audit.imports.problems import Problems
from audit.imports.rule_checks import stored_profiles
from audit.imports.staging import load_rows, run_sql, temp_table
from audit.permissions import refusal
from audit.rules import missing_required_many, rule_case_fields
from audit.store import chain_bulk
from audit.store.models import Case, utcnow
from question_sets import QuestionSet

REASON_OPTION = "--reopen-reason"


def needs_reason(text: str) -> str:
    """A refusal for want of a reason, saying how a file gives one."""
    return f"{text} (give it with {REASON_OPTION})"


@dataclass
class CaseFilePlan:
    """What a case file's rows do to the lifecycle: cases reopened before the merge
    (case_ref -> status they leave) and rows whose move needs every required answer
    (checked after the merge, when the file's profile changes are stored)."""

    reopen: dict[str, str] = field(default_factory=dict)
    signing: list[tuple[int, str, str]] = field(default_factory=list)  # row, case_ref, status
    reasoned: list[str] = field(default_factory=list)  # moves back: the reason follows them


def plan_case_file(rows: pd.DataFrame, name: str, role: str, reason: str | None,
                   problems: Problems) -> CaseFilePlan:
    """Check each row's move against the lifecycle (rows: case_ref, row, status - the
    file's cell or None -, stored_status - None for a new case - and changes, 1 when the
    row changes a field other than the status of a stored case)."""
    plan = CaseFilePlan()
    stored = rows["stored_status"].where(rows["stored_status"].notna(), lifecycle.NOT_STARTED)
    asked = rows["status"]
    edits_signed = (rows["changes"] == 1) & stored.isin(lifecycle.SIGNED_OFF)
    moved = asked.notna() & (asked != stored)
    interesting = (edits_signed | moved).to_numpy()
    for row, ref, was, cell, edits in zip(
            rows["row"][interesting].tolist(), rows["case_ref"][interesting].tolist(),
            stored[interesting].tolist(), asked[interesting].tolist(),
            edits_signed[interesting].tolist(), strict=True):
        row, ref, now = int(row), str(ref), str(was)
        if edits:  # first back to in progress, as an edit in the app
            if reason is None:
                problems.add(row, "case_ref", ref, needs_reason(
                    lifecycle.reason_refusal(ref, now, lifecycle.IN_PROGRESS)))
                continue
            refused = refusal(name, role, lifecycle.status_action(now, lifecycle.IN_PROGRESS))
            if refused:
                problems.add(row, "case_ref", ref, refused)
                continue
            plan.reopen[ref] = now
            now = lifecycle.IN_PROGRESS
        target = now if pd.isna(cell) else str(cell)
        if target == now:
            continue
        refused = refusal(name, role, lifecycle.status_action(now, target))
        step = lifecycle.TRANSITIONS.get((now, target))
        if refused or step is None:
            problems.add(row, "status", target, refused or lifecycle.move_refusal(now, target))
        elif step.reason and reason is None:
            problems.add(row, "status", target,
                         needs_reason(lifecycle.reason_refusal(ref, now, target)))
        else:
            if step.reason:
                plan.reasoned.append(ref)
            if step.complete:
                plan.signing.append((row, ref, target))
    return plan


_SIGNING = "iom_signing_case"


def _primary_answers(conn: sa.Connection, case_ids: np.ndarray) -> pd.DataFrame:
    """The primary answers of these cases (case_id, question_id, value)."""
    temp_table(conn, _SIGNING, {"case_id": "int"})
    load_rows(conn, _SIGNING, ("case_id",), ((int(i),) for i in pd.unique(case_ids)))
    rows = [tuple(r) for r in run_sql(conn, f"""
        SELECT a.case_id, a.question_id, a.value FROM {_SIGNING} s
        JOIN answer a ON a.case_id = s.case_id AND a.rater = 'primary'""")]
    conn.exec_driver_sql(f"DROP TABLE {_SIGNING}")
    return pd.DataFrame(rows, columns=["case_id", "question_id", "value"])


_REOPEN = "iom_reopen_case"


def reopen(conn: sa.Connection, inspection_id: int, case_ids: dict[int, str], who: str,
           reason: str) -> int:
    """Move these cases (id -> the status they go back to) with their trail events: the
    status change, then the reason. Returns how many moved."""
    if not case_ids:
        return 0
    at = utcnow()
    temp_table(conn, _REOPEN, {"case_id": "int", "target": "code"})
    load_rows(conn, _REOPEN, ("case_id", "target"), sorted(case_ids.items()))
    joined = f'FROM {_REOPEN} r JOIN "case" c ON c.id = r.case_id'
    # Through the bulk writer, like the import's other events: on PostgreSQL they then
    # enter the chain in the order they were written.
    with chain_bulk.bulk(conn, inspection_id) as trail:
        trail.write(f"""
            SELECT :at, :who, 'case', c.id, c.case_ref, 'status', c.status, r.target {joined}
            ORDER BY c.id""", at=at, who=who)
        trail.write(f"""
            SELECT :at, :who, 'case', c.id, c.case_ref, 'reason', NULL, :reason {joined}
            ORDER BY c.id""", at=at, who=who, reason=reason)
    moved = run_sql(conn, f"""
        UPDATE "case" SET status = (SELECT r.target FROM {_REOPEN} r
                                    WHERE r.case_id = "case".id),
                          version = version + 1, updated_at = :at
        WHERE id IN (SELECT case_id FROM {_REOPEN})""", at=at).rowcount
    conn.exec_driver_sql(f"DROP TABLE {_REOPEN}")
    return int(moved)


def record_reasons(conn: sa.Connection, inspection_id: int, case_ids: list[int], who: str,
                   reason: str) -> None:
    """The reason for status moves the merge just wrote (one event per case, after its
    status event)."""
    if not case_ids:
        return
    at = utcnow()
    temp_table(conn, _REOPEN, {"case_id": "int"})
    load_rows(conn, _REOPEN, ("case_id",), ((i,) for i in sorted(set(case_ids))))
    with chain_bulk.bulk(conn, inspection_id) as trail:
        trail.write(f"""
            SELECT :at, :who, 'case', c.id, c.case_ref, 'reason', NULL, :reason
            FROM {_REOPEN} r JOIN "case" c ON c.id = r.case_id ORDER BY c.id""",
                    at=at, who=who, reason=reason)
    conn.exec_driver_sql(f"DROP TABLE {_REOPEN}")


def refuse_incomplete(conn: sa.Connection, inspection_id: int, qs: QuestionSet,
                      signing: list[tuple[int, str, str]], problems: Problems) -> None:
    """Rows signing a case off (row, case_ref, status) whose case misses a required
    answer, judged as the app judges it (`lifecycle.JUDGED_AS`), once the file's profile
    changes are stored."""
    if not signing:
        return
    ids = dict(tuple(r) for r in run_sql(
        conn, 'SELECT case_ref, id FROM "case" WHERE inspection_id = :i', i=inspection_id))
    case_ids = np.array([ids[ref] for _, ref, _ in signing], dtype=np.int64)
    answers = _primary_answers(conn, case_ids)
    profiles = stored_profiles(conn, inspection_id, rule_case_fields(qs))
    if profiles is not None and "status" in profiles:
        profiles = profiles.assign(status=lifecycle.JUDGED_AS)
    missing = missing_required_many(qs, case_ids, answers, profiles)
    if missing.empty:
        return
    order = {q.id: i for i, q in enumerate(qs.questions)}
    by_case: dict[int, list[str]] = {}
    for case_id, qid in zip(missing["case_id"].tolist(), missing["question_id"].tolist(),
                            strict=True):
        by_case.setdefault(int(case_id), []).append(str(qid))
    for (row, ref, status), case_id in zip(signing, case_ids.tolist(), strict=True):
        gaps = by_case.get(int(case_id))
        if gaps:
            problems.add(row, "status", status,
                         lifecycle.incomplete_refusal(ref, sorted(gaps, key=order.__getitem__)))


def refuse_queried(conn: sa.Connection, inspection_id: int,
                   signing: list[tuple[int, str, str]], problems: Problems) -> None:
    """Rows locking a case (row, case_ref, status) whose case has a data query not yet
    closed: refused as the app refuses it (`lifecycle.queries_refusal`)."""
    locking = [(row, ref) for row, ref, status in signing if status == lifecycle.LOCKED]
    if not locking:
        return
    ids = dict(tuple(r) for r in run_sql(
        conn, 'SELECT case_ref, id FROM "case" WHERE inspection_id = :i', i=inspection_id))
    case_ids = sorted({ids[ref] for _, ref in locking if ref in ids})
    if conn.dialect.name == "postgresql" and case_ids:
        # As `audit.queries` locks a case's row to open a query: none slips in between.
        conn.execute(sa.text('SELECT id FROM "case" WHERE id = ANY(:ids) FOR UPDATE'),
                     {"ids": case_ids})
    unclosed = workflow.unclosed_queries(conn, case_ids)
    for row, ref in locking:
        count = unclosed.get(ids.get(ref, -1), 0)
        if count:
            problems.add(row, "status", lifecycle.LOCKED,
                         lifecycle.queries_refusal(ref, count))


def refuse_unreconciled(conn: sa.Connection, inspection_id: int, who: str,
                        signing: list[tuple[int, str, str]], problems: Problems) -> None:
    """Rows marking a case moderated (row, case_ref, status) that is not reconciled, or by
    one of its primary raters: refused as the app refuses it (`qa_rules.moderation_refusal`).
    A case file moderates few cases: each is read on its own."""
    marking = [(row, ref) for row, ref, status in signing if status == lifecycle.MODERATED]
    if not marking:
        return
    ids = dict(tuple(r) for r in run_sql(
        conn, 'SELECT case_ref, id FROM "case" WHERE inspection_id = :i', i=inspection_id))
    for row, ref in marking:
        refused = (qa_rules.moderation_refusal(conn, who, ids[ref], ref) if ref in ids
                   else qa_rules.side_by_side_refusal(qa_rules.QaState(case_ref=ref)))
        if refused:
            problems.add(row, "status", lifecycle.MODERATED, refused)


_EDITED = "iom_edited_case"


def _stored_of(conn: sa.Connection, case_ids: np.ndarray) -> pd.DataFrame:
    """Every stored answer of these cases (case_id, question_id, rater, value, note)."""
    temp_table(conn, _EDITED, {"case_id": "int"})
    load_rows(conn, _EDITED, ("case_id",), ((int(i),) for i in pd.unique(case_ids)))
    rows = [tuple(r) for r in run_sql(conn, f"""
        SELECT a.case_id, a.question_id, a.rater, a.value, a.note FROM {_EDITED} e
        JOIN answer a ON a.case_id = e.case_id""")]
    conn.exec_driver_sql(f"DROP TABLE {_EDITED}")
    return pd.DataFrame(rows, columns=["case_id", "question_id", "rater", "value", "note"],
                        dtype=object)


def _differs(new: pd.Series, old: pd.Series) -> np.ndarray:
    both_missing = new.isna().to_numpy() & old.isna().to_numpy()
    return ~(both_missing | (new.to_numpy(dtype=object) == old.to_numpy(dtype=object)))


@dataclass
class RatingFilePlan:
    """Cases to reopen before the merge (id -> the status they go back to), and signed-off
    cases the file changes without reopening them (QA answers of a complete case): their
    completeness is checked again after the merge."""

    reopen: dict[int, str] = field(default_factory=dict)
    changed_signed: set[int] = field(default_factory=set)


def plan_rating_file(conn: sa.Connection, rows: pd.DataFrame, statuses: dict[int, str],
                     refs: dict[int, str], with_notes: bool, name: str, role: str,
                     reason: str | None, problems: Problems) -> RatingFilePlan:
    """Rows of a ratings file on signed-off cases (case_id, question_id, rater, value,
    note, row): a row that changes a stored answer (or, with a note column, a note) of a
    locked case is refused; one that changes a signed-off rating needs a reason and the
    permission to reopen. Rows repeating what is stored change nothing and pass.
    """
    plan = RatingFilePlan()
    if rows.empty:
        return plan
    keys = ["case_id", "question_id", "rater"]
    given = rows.assign(case_id=rows["case_id"].astype("int64"),
                        question_id=rows["question_id"].astype(str),
                        rater=rows["rater"].astype(str))
    stored = _stored_of(conn, given["case_id"].to_numpy(dtype=np.int64))
    stored["case_id"] = stored["case_id"].astype("int64")
    both = given.merge(stored, on=keys, how="left", suffixes=("", "_stored"))
    changed = _differs(both["value"], both["value_stored"])
    if with_notes:
        changed |= _differs(both["note"], both["note_stored"])
    targets = plan.reopen
    for case_id, rater, row in zip(both["case_id"][changed].tolist(),
                                   both["rater"][changed].tolist(),
                                   both["row"][changed].tolist(), strict=True):
        status, ref = statuses[int(case_id)], refs[int(case_id)]
        if status == lifecycle.LOCKED:
            problems.add(int(row), "case_ref", ref, lifecycle.locked_refusal(ref))
            continue
        target = lifecycle.reopen_target(status, str(rater))
        if target is None:
            plan.changed_signed.add(int(case_id))
            continue
        if reason is None:
            problems.add(int(row), "case_ref", ref,
                         needs_reason(lifecycle.reason_refusal(ref, status, target)))
            continue
        refused = refusal(name, role, lifecycle.status_action(status, target))
        if refused:
            problems.add(int(row), "case_ref", ref, refused)
            continue
        earlier = targets.get(int(case_id))
        targets[int(case_id)] = lifecycle.earliest([target, earlier] if earlier else [target])
    plan.changed_signed -= set(targets)
    return plan


def withdraw_incomplete(conn: sa.Connection, qs: QuestionSet, inspection_id: int,
                        case_ids: set[int], who: str) -> int:
    """Withdraw those of these signed-off cases that miss a required answer (judged as
    the app judges it), each through `audit.workflow` with its trail event."""
    if not case_ids:
        return 0
    ids = np.array(sorted(case_ids), dtype=np.int64)
    profiles = stored_profiles(conn, inspection_id, rule_case_fields(qs))
    if profiles is not None and "status" in profiles:
        profiles = profiles.assign(status=lifecycle.JUDGED_AS)
    missing = missing_required_many(qs, ids, _primary_answers(conn, ids), profiles)
    gaps = sorted({int(i) for i in missing["case_id"].tolist()})
    with Session(bind=conn) as session:
        for case_id in gaps:
            case = session.get(Case, case_id)
            assert case is not None
            if workflow.withdraw_if_incomplete(session, qs, case, who):
                case.updated_at = utcnow()
                session.add(case)
            session.flush()
    return len(gaps)
