"""Importing a case sample: one row per case, created or updated by its case_ref."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit import lifecycle
from audit.cell_safety import unneutralise
from audit.imports.allocations import (
    ALLOCATION_COLUMNS,
    FileAllocations,
    refuse_others_cases,
)
from audit.imports.case_moves import (
    plan_case_file,
    record_reasons,
    refuse_incomplete,
    refuse_queried,
    refuse_unreconciled,
    reopen,
)
from audit.imports.cells import (
    CASE_REF_MAX,
    NAME_MAX,
    check_inspection,
    check_length,
    check_unnamed,
    map_columns,
    name_cell,
    parse_unique,
    per_value,
    report,
    unnamed_columns,
)
from audit.imports.problems import ImportRejected, Problems
from audit.imports.reading import CHUNK_ROWS, open_table
from audit.imports.rule_checks import clear_inapplicable, settle_hidden
from audit.imports.stage_cases import CaseStaging
from audit.imports.transaction import (
    DryRun,
    ImportSummary,
    ProgressFn,
    lookup,
    refuse_early,
    run_in_transaction,
)
from audit.permissions import Actor, require
from audit.profile import parse_profile_value, parse_status
from audit.store.engine import Database
from question_sets.profile import PROFILE

CASE_FILE_COLUMNS = ("case_ref", "site", "status", *PROFILE, "inspection",
                     *ALLOCATION_COLUMNS)
CASE_REQUIRED = ("case_ref", "iom")


def import_cases(db: Database, path: Path, *, actor: Actor, inspection: str | None = None,
                 dry_run: bool = False, ignore_unknown: bool = False,
                 progress: ProgressFn | None = None, chunk_rows: int = CHUNK_ROWS,
                 reopen_reason: str | None = None) -> ImportSummary:
    """Import a case sample (one row per case); ImportRejected lists every bad row.

    A status column moves cases as the lifecycle allows (`audit.lifecycle`); moving a
    case back, unlocking it, or changing the profile of a signed-off case needs
    `reopen_reason`, recorded in the trail beside each move. `allocated_to` and
    `due_date` columns allocate cases, as a lead (`audit.imports.allocations`).
    """
    who = actor.name
    reason = lifecycle.clean_reason(reopen_reason)
    refuse_early(db, actor)
    with open_table(Path(path), chunk_rows) as table:
        problems = Problems(table.label)
        positions, ignored = map_columns(table, CASE_FILE_COLUMNS, CASE_REQUIRED,
                                         ignore_unknown, problems)
        if problems:
            raise ImportRejected(problems)
        fields = [c for c in positions
                  if c not in ("case_ref", "inspection", *ALLOCATION_COLUMNS)]

        def work(conn: sa.Connection) -> ImportSummary:
            role = require(conn, actor, "import")
            found, qs = lookup(conn, inspection)
            assert found.id is not None
            stage = CaseStaging(conn, found.id, fields, who=who)
            allocations = FileAllocations(conn, positions)
            refs: list[pd.DataFrame] = []
            total = 0
            unnamed = unnamed_columns(table)
            for chunk in table.chunks:
                rows = np.arange(total + 2, total + 2 + len(chunk))
                total += len(chunk)
                keep = (chunk != "").any(axis=1).to_numpy()  # blank rows are skipped
                chunk, rows = chunk[keep], rows[keep]
                check_unnamed(chunk, unnamed, rows, problems)
                parsed = _parse_cases(chunk, positions, rows, found.name, problems)
                allocations.read(chunk, rows, parsed["case_ref"], problems)
                refs.append(pd.DataFrame({
                    "case_ref": parsed["case_ref"], "row": rows,
                    "status": parsed.get("status")}))
                if not problems:
                    stage.add(parsed)
                if progress:
                    progress("Reading", table.position(), table.size)
            _check_duplicates(refs, problems)
            if problems:
                raise ImportRejected(problems)
            given = pd.concat(refs, ignore_index=True) if refs else \
                pd.DataFrame(columns=["case_ref", "row", "status"])
            frame = given.merge(stage.stored(), on="case_ref")
            plan = plan_case_file(frame, actor.name, role, reason, problems)
            if allocations:
                after = frame["status"].where(frame["status"].notna(), frame["stored_status"])
                allocations.check(found.id, dict(zip(frame["case_ref"], after, strict=True)),
                                  actor.name, role, problems)
            refuse_others_cases(conn, found.id, frame, actor.name, problems)
            refuse_queried(conn, found.id, plan.signing, problems)
            refuse_unreconciled(conn, found.id, actor.name, plan.signing, problems)
            if problems:
                raise ImportRejected(problems)
            if progress:
                progress("Storing", 0, None)
            if plan.reopen:
                assert reason is not None  # plan_case_file refused the rows otherwise
                ids = _case_ids(conn, found.id)
                reopen(conn, found.id,
                       {ids[ref]: lifecycle.IN_PROGRESS for ref in plan.reopen}, who, reason)
            result = stage.merge()
            if plan.reasoned:
                assert reason is not None
                ids = _case_ids(conn, found.id)
                record_reasons(conn, found.id, [ids[ref] for ref in plan.reasoned], who, reason)
            allocated = allocations.apply(found.id, _case_ids(conn, found.id), who) \
                if allocations else 0
            cleared = restored = 0
            if result.updated:
                cleared = clear_inapplicable(conn, found, qs, who, set(fields))
                ids = _case_ids(conn, found.id)
                changed = frame.loc[frame["changes"] == 1, "case_ref"]
                restored = settle_hidden(conn, qs, found.id,
                                         changed.map(ids).to_numpy(dtype=np.int64), who)
            refuse_incomplete(conn, found.id, qs, plan.signing, problems)
            if problems:
                raise ImportRejected(problems)
            summary = ImportSummary(table.label, found.name, stage.staged, result, dry_run,
                                    ignored, cleared, restored, allocated)
            if dry_run:
                raise DryRun(summary)
            return summary

        return run_in_transaction(db, work)


def _parse_cases(chunk: pd.DataFrame, positions: dict[str, int], rows: np.ndarray,
                 inspection: str, problems: Problems) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for name, i in positions.items():
        if name in ALLOCATION_COLUMNS:
            continue  # read by FileAllocations
        if name == "inspection":
            check_inspection(problems, rows, chunk[i], inspection)
            continue
        raw = per_value(chunk[i], unneutralise)
        if name in ("case_ref", "site"):
            # Trimmed and NFC-normalised, no control or invisible character: two refs or
            # sites that look the same are the same (audit/text_rules.py).
            value, reasons = parse_unique(chunk[i], name_cell)
            report(problems, rows, name, raw, pd.notna(reasons), reasons)
            empty = value == ""
            check_length(problems, rows, name, chunk[i],
                          CASE_REF_MAX if name == "case_ref" else NAME_MAX)
            if name == "case_ref":
                report(problems, rows, name, raw, empty, "case_ref is required")
            else:
                value[empty] = None
        elif name == "status":
            value, reasons = parse_unique(chunk[i], _status_cell)
            report(problems, rows, name, raw, pd.notna(reasons), reasons)
        else:
            value, reasons = parse_unique(chunk[i], partial(_profile_cell, name))
            report(problems, rows, name, raw, pd.notna(reasons),
                    _reason(PROFILE[name].kind, name))
        out[name] = pd.Series(value, index=chunk.index, dtype=object)  # not str: no copy
    return pd.DataFrame(out, index=chunk.index)


def _case_ids(conn: sa.Connection, inspection_id: int | None) -> dict[str, int]:
    return {str(ref): int(i) for ref, i in conn.execute(sa.text(
        'SELECT case_ref, id FROM "case" WHERE inspection_id = :i'), {"i": inspection_id})}


def _check_duplicates(refs: list[pd.DataFrame], problems: Problems) -> None:
    if not refs:
        return
    frame = pd.concat(refs, ignore_index=True)
    frame = frame[frame["case_ref"].notna() & (frame["case_ref"] != "")]
    first = frame.groupby("case_ref", sort=False)["row"].transform("min")
    dup = (frame["row"] != first).to_numpy()
    if dup.any():
        problems.add_rows(frame["row"].to_numpy()[dup], "case_ref",
                          frame["case_ref"].to_numpy()[dup].tolist(),
                          [f"duplicate: the same case_ref is on row {r}"
                           for r in first.to_numpy()[dup]])


def _status_cell(cell: str) -> str | None:
    return parse_status(unneutralise(cell).strip())


def _profile_cell(name: str, cell: str) -> Any:
    return parse_profile_value(name, unneutralise(cell).strip())


def _reason(kind: str, code: str) -> str:
    spec = PROFILE[code]
    if kind == "bool":
        return "not yes or no (also accepted: true/false, 1/0, y/n)"
    if kind == "date":
        return "not a date (write it as YYYY-MM-DD)"
    return f"not one of {', '.join(spec.codes)} (or their labels)"


