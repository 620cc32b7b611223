"""Exporting coded data for researchers: CSV, XLSX, Parquet, Stata and SPSS, with a codebook.

Data is loaded column-wise with SQL (never one ORM object per answer). Every export is
logged in the audit trail as a disclosure: what left the database, how much, and
whether it was pseudonymised.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import col

from audit import pseudonyms, trail
from audit.cell_safety import neutralise_frame
from audit.disclosure import Disclosure
from audit.errors import UsageError
from audit.exports.codebook import (
    Variable,
    case_variables,
    long_variables,
    question_variables,
    unique_names,
    write_codebook,
)
from audit.inspections import inspections_for_reading, question_set_of
from audit.permissions import Actor, allows, require
from audit.store.engine import Database
from audit.store.models import RATERS, Answer, Case, Inspection, Inspector, Site, utcnow
from audit.views.frames import fetch_frame, pivot_answers
from question_sets import Question
from question_sets.profile import PROFILE

FORMATS = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet", "stata": ".dta",
           "spss": ".sav"}
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header

ProgressFn = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and disclosed."""

    files: tuple[Path, ...]
    rows: int
    inspections: tuple[str, ...]
    pseudonymised: bool = False
    pseudonymised_by_role: bool = False  # identifiable data was asked for by a non-lead


# ---------------------------------------------------------------------------- loading

def _questions(qsets: Sequence[Any]) -> list[Question]:
    """Every question of the sets, in order, each id once (first set wins)."""
    seen: dict[str, Question] = {}
    for qs in qsets:
        for q in qs.questions:
            seen.setdefault(q.id, q)
    return list(seen.values())


def _frame(conn: sa.Connection, stmt: sa.Select[*tuple[Any, ...]]) -> pd.DataFrame:
    result = conn.execute(stmt)
    return pd.DataFrame([tuple(r) for r in result], columns=list(result.keys()), dtype=object)


def load_cases(conn: sa.Connection, inspection_ids: Sequence[int]) -> pd.DataFrame:
    """One row per case: id, inspection, case_ref, site, status and the profile."""
    stmt = (sa.select(col(Case.id), sa.label("inspection", col(Inspection.name)),
                      col(Case.case_ref), sa.label("site", col(Site.name)), col(Case.status),
                      *(getattr(Case, f) for f in PROFILE))
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .where(col(Case.inspection_id).in_(inspection_ids))
            .order_by(col(Inspection.id), col(Case.case_ref)))
    return _frame(conn, stmt)


LONG_COLUMNS = ("case_id", "inspection", "case_ref", "question_id", "rater", "value", "note",
                "inspector", "updated_at")


def load_answers(conn: sa.Connection, inspection_ids: Sequence[int]) -> pd.DataFrame:
    """One row per answer: case_id, inspection, case_ref, question_id, rater, value, note,
    inspector, updated_at (ISO 8601 text in UTC).

    Read through the raw cursor: millions of rows, and SQLAlchemy's per-row result
    processing (the UTC timestamps above all) cost several times the read itself.
    """
    stmt = (sa.select(col(Answer.case_id), col(Inspection.name), col(Case.case_ref),
                      col(Answer.question_id), col(Answer.rater), col(Answer.value),
                      col(Answer.note), col(Inspector.name), col(Answer.updated_at))
            .join(Case, col(Answer.case_id) == Case.id)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Inspector, col(Answer.inspector_id) == Inspector.id)
            .where(col(Case.inspection_id).in_(inspection_ids))
            .order_by(col(Inspection.id), col(Case.case_ref), col(Answer.question_id),
                      col(Answer.rater)))
    frame = fetch_frame(conn, stmt, LONG_COLUMNS).astype(object)
    frame["updated_at"] = iso_utc(frame["updated_at"])
    return frame


def load_answer_values(conn: sa.Connection, inspection_ids: Sequence[int],
                       rater: str) -> pd.DataFrame:
    """One rater's answers: case_id, question_id, value (what a wide file holds)."""
    stmt = (sa.select(col(Answer.case_id), col(Answer.question_id), col(Answer.value))
            .join(Case, col(Answer.case_id) == Case.id)
            .where(col(Case.inspection_id).in_(inspection_ids), col(Answer.rater) == rater,
                   col(Answer.value).is_not(None)))
    return fetch_frame(conn, stmt, ["case_id", "question_id", "value"])


def iso_utc(values: pd.Series) -> pd.Series:
    """Timestamps (naive ones are UTC) as `datetime.isoformat()` writes them in UTC."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").where(
        stamps.dt.microsecond != 0, stamps.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return (text + "+00:00").astype(object).where(stamps.notna(), None)


def _text_bools(frame: pd.DataFrame) -> pd.DataFrame:
    for spec in PROFILE.values():
        if spec.kind == "bool" and spec.code in frame:
            frame[spec.code] = frame[spec.code].map(
                lambda v: None if v is None or v is pd.NA else ("yes" if v else "no"))
    return frame


def wide_frame(cases: pd.DataFrame, answers: pd.DataFrame, questions: Sequence[Question],
               names: dict[str, str]) -> pd.DataFrame:
    """Cases with one column per question (named by `names`) holding that rater's answer."""
    wide = pivot_answers(answers, [q.id for q in questions]).rename(columns=names)
    out = cases.join(wide, on="id").drop(columns=["id"])
    return _text_bools(out).astype(object).where(out.notna(), None)


# ---------------------------------------------------------------------------- writing

def _numeric(frame: pd.DataFrame, variables: Sequence[Variable]) -> pd.DataFrame:
    """Coded variables as 1..k (Stata value labels need numbers); dates as datetimes."""
    out = frame.copy()
    for v in variables:
        if v.name not in out:
            continue
        if v.coded:
            out[v.name] = pd.to_numeric(out[v.name].map(v.numeric), errors="coerce") \
                .astype("float64")
        elif v.type == "integer":
            out[v.name] = pd.to_numeric(out[v.name], errors="coerce").astype("float64")
        elif v.type in ("date", "datetime"):
            out[v.name] = pd.to_datetime(out[v.name], errors="coerce", utc=v.type == "datetime")
            if v.type == "datetime":
                out[v.name] = out[v.name].dt.tz_localize(None)
        else:
            out[v.name] = out[v.name].map(lambda x: "" if x is None or x is pd.NA else str(x))
    return out


def _labels(variables: Sequence[Variable], frame: pd.DataFrame, limit: int) -> dict[str, Any]:
    return {
        "column_labels": [next((v.label[:limit] for v in variables if v.name == c), c)
                          for c in frame.columns],
        "variable_value_labels": {v.name: {float(n): v.codes[c][:limit] for c, n in
                                           v.numeric.items()}
                                  for v in variables if v.coded and v.name in frame},
    }


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    import openpyxl

    if len(frame) > XLSX_MAX_ROWS:
        raise UsageError(f"{len(frame):,} rows do not fit in one XLSX sheet "
                         f"({XLSX_MAX_ROWS:,} at most): use csv or parquet")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        # neutralised already: no text cell can start with '=' and become a formula
        sheet.append([None if v is None or v is pd.NA else v for v in row])
    book.save(path)


def write_frame(frame: pd.DataFrame, variables: Sequence[Variable], fmt: str,
                path: Path) -> None:
    """Write one data file in a format, with labels where the format holds them."""
    if fmt == "csv":
        # Quote every text field: pandas leaves a bare CR unquoted, and a reader would
        # start a new row there, putting the rest of the cell (maybe "=...") first.
        neutralise_frame(frame).to_csv(path, index=False, encoding="utf-8",
                                        quoting=csv.QUOTE_NONNUMERIC)
    elif fmt == "xlsx":
        _write_xlsx(neutralise_frame(frame), path)
    elif fmt == "parquet":
        frame.astype(object).where(frame.notna(), None).to_parquet(path, index=False)
    elif fmt in ("stata", "spss"):
        import pyreadstat

        data = _numeric(frame, variables)
        if fmt == "stata":
            pyreadstat.write_dta(data, str(path), **_labels(variables, data, 80))
        else:
            pyreadstat.write_sav(data, str(path), **_labels(variables, data, 255))
    else:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")


# ----------------------------------------------------------------------------- export

def export(db: Database, out: Path, *, actor: Actor, fmt: str = "csv", long: bool = False,
           pseudonymise_refs: bool = False, inspections: Sequence[str] | None = None,
           rater: str = "primary", progress: ProgressFn | None = None,
           force: bool = False) -> ExportResult:
    """Export the named inspections (default: all) to `out`, with codebook.csv.

    Case references and notes identify people: only a lead may export them, so anyone
    else gets pseudonymised data (`pseudonymised_by_role` says so). The files appear
    under their names only after the export event is committed (`audit.disclosure`);
    an existing file is replaced only with `force`, a symbolic link never.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if rater not in RATERS:
        raise UsageError(f"--rater must be one of {', '.join(RATERS)}, not {rater!r}")
    pseudonyms.refuse_retired_key()
    out = Path(out)
    data_name = ("answers" if long else "cases") + FORMATS[fmt]
    with Disclosure([out / data_name, out / "codebook.csv"], force=force,
                    folders=[out]) as disclosure:
        by_role = False
        with db.engine.connect() as conn:
            role = require(conn, actor, "export")
        if not pseudonymise_refs and not allows(role, "export_identifiable"):
            pseudonymise_refs = by_role = True
        with db.session() as session:
            chosen = inspections_for_reading(session, inspections)
            questions = _questions([question_set_of(i) for i in chosen])
        ids = [i.id for i in chosen if i.id is not None]
        if progress:
            progress("Loading", 0, None)
        frame, variables = _load(db, ids, questions, long=long, rater=rater,
                                 pseudonymise_refs=pseudonymise_refs)
        names_out = tuple(i.name for i in chosen)
        if progress:
            progress("Writing", 0, None)

        def write(staged: Mapping[Path, Path]) -> None:
            write_frame(frame, variables, fmt, staged[out / data_name])
            write_codebook(variables, staged[out / "codebook.csv"])

        def record(conn: sa.Connection, files: Sequence[Path]) -> None:
            # The disclosure is recorded by the role the person has now.
            now = require(conn, actor, "export")
            if not pseudonymise_refs and not allows(now, "export_identifiable"):
                require(conn, actor, "export_identifiable")
            trail.record_many(conn, [{
                "at": utcnow(), "who": actor.name, "entity": "export",
                "key": f"{fmt}:{out}"[:200], "field": "long" if long else f"wide/{rater}",
                "new_value": (f"inspections={','.join(names_out)}; rows={len(frame)}; "
                              f"format={fmt}; layout={'long' if long else 'wide'}; rater="
                              f"{'all' if long else rater}; pseudonymised="
                              f"{'yes' if pseudonymise_refs else 'no'}; files="
                              f"{','.join(f.name for f in files)}"),
            }])

        placed = disclosure.publish(db, write, record)
    return ExportResult(tuple(placed), len(frame), names_out, pseudonymise_refs, by_role)


def _load(db: Database, ids: Sequence[int], questions: Sequence[Question], *, long: bool,
          rater: str, pseudonymise_refs: bool) -> tuple[pd.DataFrame, list[Variable]]:
    """The frame to write and its variables (case references replaced when asked)."""
    with db.engine.connect() as conn:
        names_of = pseudonyms.case_pseudonyms(conn, ids) if pseudonymise_refs else {}
        if long:
            frame = load_answers(conn, ids)
            variables = long_variables(pseudonymised=pseudonymise_refs)
            if pseudonymise_refs:
                frame["case_ref"] = frame["case_id"].map(names_of)
                frame = frame.drop(columns=["note", "updated_at"])
            frame = frame.drop(columns=["case_id"])
        else:
            cases = load_cases(conn, ids)
            if pseudonymise_refs:
                cases["case_ref"] = cases["id"].map(names_of)
            variables = case_variables(pseudonymised=pseudonymise_refs,
                                       with_dates=not pseudonymise_refs)
            names = unique_names([q.id for q in questions], [v.name for v in variables])
            frame = wide_frame(cases, load_answer_values(conn, ids, rater), questions,
                               names)
            if pseudonymise_refs:
                frame = frame.drop(columns=[f for f, s in PROFILE.items() if s.kind == "date"])
    variables += question_variables(questions, unique_names(
        [q.id for q in questions], [v.name for v in variables]))
    return frame, variables
