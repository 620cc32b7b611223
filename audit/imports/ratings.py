"""Importing ratings in long format: one row per answer, each checked against its question.

A file is streamed in chunks and validated column by column; valid chunks go straight
into the bulk staging table, and the merge runs once at the end, only if the whole file
is valid.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit import lifecycle, qa_rules, text_rules
from audit.cell_safety import unneutralise
from audit.errors import UsageError
from audit.identity import ENV_INSPECTOR
from audit.imports.allocations import refuse_unallocated_raters
from audit.imports.attribution import Raters, unnamed_rater
from audit.imports.case_moves import plan_rating_file, reopen, withdraw_incomplete
from audit.imports.cells import (
    NAME_MAX,
    VALUE_MAX,
    categorical_of,
    check_inspection,
    check_length,
    check_notes,
    check_unnamed,
    map_columns,
    objects,
    per_value,
    per_value_categorical,
    report,
    unnamed_columns,
)
from audit.imports.independence import RaterRows, refuse_self_rating
from audit.imports.problems import ImportRejected, Problems
from audit.imports.reading import CHUNK_ROWS, open_table
from audit.imports.rule_checks import check_file_rules, hide_answers, settle_hidden
from audit.imports.stage_answers import AnswerStaging
from audit.imports.transaction import (
    DryRun,
    ImportSummary,
    ProgressFn,
    lookup,
    refuse_early,
    run_in_transaction,
)
from audit.permissions import Actor, require
from audit.rules import rule_questions
from audit.store.engine import Database
from audit.store.models import RATERS, Answer, table_of
from question_sets import Question, QuestionSet

RATING_REQUIRED = ("case_ref", "question_id", "answer")


RATING_OPTIONAL = ("note", "inspector", "rater", "inspection")


RATING_IGNORED = ("updated_at",)  # in the long export, for information only


ANSWER_ALIAS = "value"  # the long export's name for the answer column


DEFAULT_INSPECTOR = "import"


def _normaliser(question: Question) -> Callable[[str], str]:
    """Accept a code in any case, or a label, for coded answers; keep valid values as is."""
    lookup = {c.lower(): c for c in question.codes}
    lookup.update({label.lower(): c for c, label in question.codes.items()})

    def one(part: str) -> str:
        return lookup.get(part.strip().lower(), part.strip())

    def normalise(value: str) -> str:
        if question.check_answer(value) is None:
            return value
        if question.type == "multi_choice":
            return ";".join(one(p) for p in value.split(";"))
        return one(value) if question.codes else value.strip()

    return normalise


@dataclass
class _Ratings:
    """What the chunks leave for the whole-file checks (compact arrays, not objects)."""

    keys: list[np.ndarray] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    ruled: list[pd.DataFrame] = field(default_factory=list)
    duplicates: bool = False  # set by _duplicate_answers


def import_ratings(db: Database, path: Path, *, actor: Actor, inspection: str | None = None,
                   rater: str = "primary", inspector: str | None = None,
                   dry_run: bool = False, ignore_unknown: bool = False,
                   progress: ProgressFn | None = None, chunk_rows: int = CHUNK_ROWS,
                   reopen_reason: str | None = None) -> ImportSummary:
    """Import answers in long format (case_ref, question_id, answer[, note, inspector, rater]).

    The trail records the actor; `inspector` (else the file's inspector column) names whose
    judgement the answers record: someone else only for a lead (audit/imports/attribution).
    Rows that change the rating of a signed-off case are refused unless
    `reopen_reason` is given: the case then goes back to in progress (QA and moderated
    ratings of a moderated case: to QA-checked) first, with the reason in the trail, as
    in the app. A locked case is never changed by a ratings file.
    """
    if rater not in RATERS:
        raise UsageError(f"--rater must be one of {', '.join(RATERS)}, not {rater!r}")
    if inspector is not None:
        inspector = text_rules.clean_name(inspector, "--inspector") or None
    who = actor.name
    reason = lifecycle.clean_reason(reopen_reason)
    refuse_early(db, actor)
    fallback = os.environ.get(ENV_INSPECTOR) or DEFAULT_INSPECTOR  # (--inspector: every row)
    with open_table(Path(path), chunk_rows) as table:
        problems = Problems(table.label)
        positions, ignored = map_columns(
            table, (*RATING_REQUIRED, *RATING_OPTIONAL, *RATING_IGNORED), RATING_REQUIRED,
            ignore_unknown, problems, aliases={ANSWER_ALIAS: "answer"})
        if problems:
            raise ImportRejected(problems)

        def work(conn: sa.Connection) -> ImportSummary:
            role = require(conn, actor, "import")
            default_rater = unnamed_rater(conn, actor, fallback)
            raters = Raters(conn, actor, default_rater)
            if inspector is not None:
                raters.check_option(inspector)
            found, qs = lookup(conn, inspection)
            assert found.id is not None
            cases = {ref: i for ref, i in conn.execute(sa.text(
                'SELECT case_ref, id FROM "case" WHERE inspection_id = :i'), {"i": found.id})}
            stage = AnswerStaging(conn, found.id, who=who, question_set_version=qs.version,
                                  own_names=(who, default_rater))
            relevant = rule_questions(qs)
            signed = _signed_off(conn, found.id)
            on_signed: list[pd.DataFrame] = []
            touched: list[np.ndarray] = []
            seen = _Ratings()
            moderated: list[pd.DataFrame] = []  # reconciliation's rules (audit.qa_rules)
            named = RaterRows()  # who each row names: QA independence (audit.qa_rules)
            checker = _AnswerChecker(qs)
            unnamed = unnamed_columns(table)
            total = count = 0
            for chunk in table.chunks:
                rows = np.arange(total + 2, total + 2 + len(chunk))
                total += len(chunk)
                keep = (chunk != "").any(axis=1).to_numpy()
                chunk, rows = chunk[keep], rows[keep]
                check_unnamed(chunk, unnamed, rows, problems)
                parsed = _parse_ratings(chunk, positions, rows, found.name, cases, checker,
                                        rater, inspector, default_rater, problems)
                if inspector is None:
                    raters.check(problems, rows, parsed["inspector"])
                _remember(parsed, rows, qs, relevant, seen)
                named.add(parsed, rows)
                mod = parsed["ok"].to_numpy() & (parsed["rater"] == qa_rules.MODERATED).to_numpy()
                if mod.any():
                    moderated.append(parsed[mod].astype(object).assign(row=rows[mod]))
                ids = parsed["case_id"].to_numpy()
                touched.append(pd.unique(ids[parsed["ok"].to_numpy()]))
                if signed:
                    mine = parsed["ok"].to_numpy() & np.isin(ids, list(signed))
                    on_signed.append(parsed[mine].astype(object).assign(row=rows[mine]))
                count += int(parsed["ok"].sum())
                if not problems:
                    # Without a note column the stored notes are left as they are.
                    drop = ["ok"] + ([] if "note" in positions else ["note"])
                    stage.add(parsed[parsed["ok"]].drop(columns=drop))
                if progress:
                    progress("Reading", table.position(), table.size)
            _duplicate_answers(seen, problems)
            refuse_self_rating(conn, named, who, {i: ref for ref, i in cases.items()},
                               problems)
            _refuse_unreconciling(conn, moderated, problems)
            refuse_unallocated_raters(conn, found.id, named,
                                      {i: ref for ref, i in cases.items()}, problems)
            plan = plan_rating_file(
                conn, pd.concat(on_signed, ignore_index=True) if on_signed else pd.DataFrame(),
                signed, {i: ref for ref, i in cases.items()}, "note" in positions,
                actor.name, role, reason, problems)
            if plan.reopen and not problems:
                assert reason is not None  # plan_rating_file refused the rows otherwise
                reopen(conn, found.id, plan.reopen, who, reason)  # first, as in the app
            given = pd.concat(seen.ruled, ignore_index=True) if seen.ruled else pd.DataFrame()
            clears = check_file_rules(conn, found, qs, given, seen.duplicates, relevant,
                                      problems) \
                if relevant else None
            if problems:
                raise ImportRejected(problems)
            if progress:
                progress("Storing", 0, None)
            result = stage.merge()
            cleared = hide_answers(conn, found.id, clears, who) if clears is not None else 0
            restored = settle_hidden(conn, qs, found.id,
                                     np.concatenate(touched) if touched else [], who)
            withdraw_incomplete(conn, qs, found.id, plan.changed_signed, who)
            summary = ImportSummary(table.label, found.name, count, result, dry_run, ignored,
                                    cleared, restored)
            if dry_run:
                raise DryRun(summary)
            return summary

        return run_in_transaction(db, work)


def _refuse_unreconciling(conn: sa.Connection, moderated: list[pd.DataFrame],
                          problems: Problems) -> None:
    """Moderated rows refused as the app refuses them: on a case whose blind QA rating is
    not complete, or a third answer without a comment (`qa_rules`), judged on the primary
    and QA ratings stored before the file. Moderated rows are few: read case by case."""
    if not moderated:
        return
    rows = pd.concat(moderated, ignore_index=True)
    states = qa_rules.qa_states(conn, {int(c) for c in rows["case_id"]})
    answer = table_of(Answer).c
    for key, group in rows.groupby("case_id"):
        case_id = int(str(key))
        state = states[case_id]
        refused = qa_rules.side_by_side_refusal(state)
        if refused:
            for row in group["row"]:
                problems.add(int(row), "rater", qa_rules.MODERATED, refused)
            continue
        primary = dict(conn.execute(sa.select(answer.question_id, answer.value).where(
            answer.case_id == case_id, answer.rater == qa_rules.PRIMARY)).all())
        for qid, value, note, row in group[["question_id", "value", "note", "row"]].itertuples(
                index=False):
            given = None if pd.isna(value) else str(value)
            refused = qa_rules.third_answer_refusal(
                state.case_ref, str(qid), given, primary.get(qid), state.qa_answers.get(qid),
                None if pd.isna(note) else str(note))
            if refused:
                problems.add(int(row), "answer", given or "", refused)


def _signed_off(conn: sa.Connection, inspection_id: int) -> dict[int, str]:
    """The inspection's signed-off cases (complete or later) and their status."""
    return {int(i): str(status) for i, status in conn.execute(
        sa.text('SELECT id, status FROM "case" WHERE inspection_id = :i AND status IN :s')
        .bindparams(sa.bindparam("s", expanding=True)),
        {"i": inspection_id, "s": list(lifecycle.SIGNED_OFF)})}


class _AnswerChecker:
    """Normalises and checks answers: each distinct (question, value) pair once."""

    def __init__(self, qs: QuestionSet) -> None:
        self.qs = qs
        self._normalisers = {q.id: _normaliser(q) for q in qs.questions}
        self._cache: dict[tuple[str, str], tuple[str, str | None]] = {}

    def __call__(self, qid: str, value: str) -> tuple[str, str | None]:
        key = (qid, value)
        if key not in self._cache:
            question = self.qs.question(qid)
            normal = self._normalisers[qid](value)
            reason = question.check_answer(normal)
            if reason and normal == "na" and not question.allows_na:
                reason = f"'na' (not applicable) is not allowed for {qid}"
            self._cache[key] = (normal, reason)
        return self._cache[key]


def _parse_ratings(chunk: pd.DataFrame, positions: dict[str, int], rows: np.ndarray,
                   inspection: str, cases: dict[str, int], checker: _AnswerChecker,
                   rater: str, inspector: str | None, fallback: str,
                   problems: Problems) -> pd.DataFrame:
    """Check one chunk; the parsed columns, with `ok` marking the rows without errors.

    The text columns come back as categoricals: each distinct cell is parsed once and
    no per-row string is built, whatever the chunk's size.
    """
    empty = pd.Series(pd.Categorical.from_codes(np.zeros(len(chunk), dtype=np.int8),
                                                categories=pd.Index([""], dtype=object)),
                      index=chunk.index)

    def column(name: str) -> pd.Series:
        return chunk[positions[name]] if name in positions else empty

    if "inspection" in positions:
        check_inspection(problems, rows, column("inspection"), inspection)

    refs = column("case_ref")
    # A ref is looked up as stored: trimmed and NFC-normalised (audit/text_rules.py).
    ref_ids = np.array([cases.get(text_rules.normal(unneutralise(str(v))), -1)
                        for v in refs.cat.categories], dtype=np.int64)
    case_ids = ref_ids[refs.cat.codes.to_numpy()]
    bad = case_ids < 0
    report(problems, rows, "case_ref", refs, bad,
            per_value(refs, lambda v: _ref_reason(v, inspection)))
    ok = ~bad

    qids = column("question_id")
    qid = per_value_categorical(qids, lambda v: v.strip() if v.strip() in checker.qs else None)
    bad = qid.codes < 0
    report(problems, rows, "question_id", qids, bad,
            f"no such question in {checker.qs.id} v{checker.qs.version}")
    ok &= ~bad

    given = column("rater")
    raters = per_value_categorical(given, lambda v: v.strip().lower() or rater)
    bad = ~np.isin(raters.codes, [i for i, r in enumerate(raters.categories) if r in RATERS])
    report(problems, rows, "rater", given, bad, f"not one of {', '.join(RATERS)}")
    ok &= ~bad

    raw = column("answer")
    ok &= ~check_notes(problems, rows, column("note"))  # capped, no NUL (audit/text_rules)
    notes = per_value_categorical(column("note"),
                                  lambda v: unneutralise(v) if v.strip() else None)
    values, reasons = _check_answers(qids, raw, ok, checker)
    bad = ~pd.isna(reasons)
    report(problems, rows, "answer", raw, bad, reasons)
    ok &= ~bad
    blank = per_value(raw, lambda v: not v.strip()).astype(bool) & (notes.codes < 0)
    report(problems, rows, "answer", raw, blank & ok, "no answer (and no note) given")
    ok &= ~blank
    check_length(problems, rows, "answer", raw, VALUE_MAX)

    if inspector is not None:
        names = pd.Categorical.from_codes(np.zeros(len(chunk), dtype=np.int8),
                                          categories=pd.Index([inspector], dtype=object))
    else:
        given_names = column("inspector")
        names = per_value_categorical(given_names,
                                      lambda v: text_rules.normal(unneutralise(v)) or fallback)
        check_length(problems, rows, "inspector", given_names, NAME_MAX)
        reasons = per_value(given_names,
                            lambda v: text_rules.name_problem(text_rules.normal(unneutralise(v))))
        report(problems, rows, "inspector", given_names, pd.notna(reasons), reasons)
    return pd.DataFrame({
        "case_id": case_ids, "question_id": qid, "rater": raters, "value": values,
        "note": notes, "inspector": names, "ok": ok}, index=chunk.index)


def _ref_reason(cell: str, inspection: str) -> str:
    """Why a case_ref cell names no case of the inspection."""
    text = text_rules.normal(unneutralise(cell))
    if not text:
        return "case_ref is required"
    return text_rules.name_problem(text) or f"no such case in inspection {inspection!r}"


def _check_answers(qids: pd.Series, raw: pd.Series, ok: np.ndarray,
                   checker: _AnswerChecker) -> tuple[pd.Categorical, np.ndarray]:
    """Normalised answers (missing when empty) and the reason per bad row (None when fine).

    Each distinct (question, answer) pair is checked once: the pair is encoded as one
    integer from the two columns' category codes.
    """
    q_cats, a_cats = qids.cat.categories, raw.cat.categories
    pair = qids.cat.codes.to_numpy(np.int64) * len(a_cats) + raw.cat.codes.to_numpy(np.int64)
    inverse, unique = pd.factorize(pair)
    values = np.empty(len(unique), dtype=object)
    reasons = np.empty(len(unique), dtype=object)
    for k, code in enumerate(unique.tolist()):
        qid = str(q_cats[code // len(a_cats)]).strip()
        answer = str(a_cats[code % len(a_cats)])
        if qid in checker.qs and answer.strip():
            values[k], reasons[k] = checker(qid, unneutralise(answer))
    row_reasons = reasons[inverse]
    row_reasons[~ok] = None  # rows already refused for their case, question or rater
    return categorical_of(values, inverse), row_reasons


def _remember(parsed: pd.DataFrame, rows: np.ndarray, qs: QuestionSet, relevant: set[str],
              seen: _Ratings) -> None:
    """Keep compact keys for the duplicate check and the rows the rules will need."""
    ok = parsed["ok"].to_numpy(dtype=bool)
    index = {q.id: i for i, q in enumerate(qs.questions)}
    raters = {r: i for i, r in enumerate(RATERS)}
    questions: pd.Categorical = parsed["question_id"].array
    rater_codes: pd.Categorical = parsed["rater"].array
    q_of = np.array([index.get(c, -1) for c in questions.categories] + [-1], dtype=np.int64)
    r_of = np.array([raters.get(c, -1) for c in rater_codes.categories] + [-1], dtype=np.int64)
    qcode = q_of[questions.codes[ok]]
    rcode = r_of[rater_codes.codes[ok]]
    case_ids = parsed["case_id"].to_numpy(np.int64)[ok]
    key = case_ids * (len(index) * len(raters)) + qcode * len(raters) + rcode
    seen.keys.append(key)
    seen.rows.append(rows[ok])
    if relevant:
        ruled = np.array([c in relevant for c in questions.categories] + [False])
        mine = ok & ruled[questions.codes]
        text = {"rater": objects(rater_codes, mine), "question_id": objects(questions, mine),
                "value": objects(parsed["value"].array, mine)}
        seen.ruled.append(pd.DataFrame({
            "case_id": parsed["case_id"].to_numpy(np.int64)[mine],
            **{k: pd.Series(v, dtype=object) for k, v in text.items()},  # not str: no copy
            "row": rows[mine]}))


def _duplicate_answers(seen: _Ratings, problems: Problems) -> None:
    if not seen.keys:
        return
    keys = np.concatenate(seen.keys)
    if not pd.Series(keys).duplicated().any():  # one hash pass; the usual case
        return
    seen.duplicates = True
    frame = pd.DataFrame({"key": keys, "row": np.concatenate(seen.rows)})
    first = frame.groupby("key", sort=False)["row"].transform("min").to_numpy()
    rows = frame["row"].to_numpy()
    dup = rows != first
    if dup.any():
        problems.add_rows(rows[dup], "question_id", None,
                          [f"duplicate: row {r} answers the same question for the same case "
                           "and rater" for r in first[dup]])
