"""Exporting coded data for researchers: CSV, XLSX, Parquet, Stata and SPSS, with a codebook.

Data is read a batch of cases at a time, column-wise with SQL (never one ORM object per
answer), and written as it is read (`audit.exports.chunks`, `audit.exports.writers`), so
memory stays bounded at any size. Missing answers are coded by why they are missing
(`audit.exports.coding`). Every export is logged in the audit trail as a disclosure:
what left the database, how much, and whether it was pseudonymised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from audit import pseudonyms, trail
from audit.disclosure import Disclosure
from audit.errors import UsageError
from audit.exports.chunks import Source, batches
from audit.exports.codebook import (
    Variable,
    case_variables,
    long_variables,
    question_variables,
    unique_names,
    write_codebook,
)
from audit.exports.coding import short_label
from audit.exports.statistical import StatisticalWriter
from audit.exports.writers import (
    BatchWriter,
    CsvWriter,
    ParquetWriter,
    XlsxWriter,
    iso_utc,
    partition_folder,
)
from audit.final_record import ANSWER_SOURCES
from audit.inspections import inspections_for_reading, question_set_of
from audit.permissions import Actor, allows, require
from audit.store.engine import Database
from audit.store.models import utcnow
from question_sets import Question, QuestionSet

__all__ = ["FORMATS", "ExportResult", "export", "iso_utc"]

FORMATS = {"csv": ".csv", "xlsx": ".xlsx", "parquet": ".parquet", "stata": ".dta",
           "spss": ".sav"}

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

def _questions(qsets: Sequence[QuestionSet]) -> list[Question]:
    """Every question of the sets, in order, each id once (first set wins)."""
    seen: dict[str, Question] = {}
    for qs in qsets:
        for q in qs.questions:
            seen.setdefault(q.id, q)
    return list(seen.values())


def _sets_asking(qsets: Sequence[QuestionSet]) -> dict[str, str]:
    """Question id -> the question sets (id and version) that ask it."""
    out: dict[str, list[str]] = {}
    for qs in qsets:
        for q in qs.questions:
            label = f"{qs.id} {qs.version}"
            if label not in out.setdefault(q.id, []):
                out[q.id].append(label)
    return {k: ", ".join(v) for k, v in out.items()}


def dataset_label(sources: Sequence[Source], at: datetime, limit: int | None = None) -> str:
    """What the Stata and SPSS files say they hold: the inspections, their question sets
    and versions, and when the export was made (UTC), within `limit` characters: the
    inspections' names give way to their number before the sets or the time are cut."""
    sets = sorted({f"{s.question_set.id} {s.question_set.version}" for s in sources})
    names = ", ".join(s.name for s in sources) or "no inspection"
    count = f"{len(sources)} inspections" if len(sources) > 1 else names
    some = f"{sets[0]} +{len(sets) - 1}" if len(sets) > 1 else ", ".join(sets) or "none"
    stamp = at.strftime("%Y-%m-%dT%H:%MZ")
    for label in (f"{names}; question set {', '.join(sets) or 'none'}; exported "
                  f"{at.strftime('%Y-%m-%d %H:%M')} UTC",
                  f"{names}; {', '.join(sets)}; exported {stamp}", f"{names}; {some}; {stamp}",
                  f"{count}; {', '.join(sets)}; exported {stamp}", f"{count}; {some}; {stamp}"):
        if limit is None or len(label) <= limit:
            return label
    return short_label(f"{count}; {some}; {stamp}", limit or 80)


def _writer(fmt: str, staged: Mapping[Path, Path], data: Path,
            partitions: Mapping[str, Path], variables: Sequence[Variable],
            label: Callable[[int | None], str]) -> BatchWriter:
    if fmt == "csv":
        return CsvWriter(staged[data], variables)
    if fmt == "xlsx":
        return XlsxWriter(staged[data], variables)
    if fmt == "parquet":
        return ParquetWriter({name: staged[path] for name, path in partitions.items()},
                             variables)
    return StatisticalWriter(staged[data], variables, fmt, label)


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
    if rater not in ANSWER_SOURCES:
        raise UsageError(f"--rater must be one of {', '.join(ANSWER_SOURCES)}, not {rater!r}")
    pseudonyms.refuse_retired_key()
    out = Path(out)
    data_name = ("answers" if long else "cases") + FORMATS[fmt]
    with db.session() as session:
        chosen = inspections_for_reading(session, inspections)
        sources = [Source(i.id, i.name, question_set_of(i)) for i in chosen
                   if i.id is not None]
    # Parquet is a dataset partitioned by inspection: one file per inspection.
    partitions = {s.name: out / data_name / partition_folder(s.name) / "part-0.parquet"
                  for s in sources} if fmt == "parquet" else {}
    files = [*(partitions.values() if partitions else [out / data_name]),
             out / "codebook.csv"]
    # The dataset's folder and its partitions are folders the export makes, as named.
    folders = [out, *([out / data_name, *(f.parent for f in partitions.values())]
                      if partitions else [])]
    if partitions:
        _refuse_stale_partitions(out / data_name, partitions)
    with Disclosure(files, force=force, folders=folders) as disclosure:
        by_role = False
        with db.engine.connect() as conn:
            role = require(conn, actor, "export")
        if not pseudonymise_refs and not allows(role, "export_identifiable"):
            pseudonymise_refs = by_role = True
        qsets = [s.question_set for s in sources]
        questions = _questions(qsets)
        variables, names = _variables(questions, qsets, long=long,
                                      pseudonymise_refs=pseudonymise_refs, rater=rater)
        now = utcnow()

        def label(limit: int | None) -> str:
            return dataset_label(sources, now, limit)

        names_out = tuple(s.name for s in sources)
        rows = 0

        def write(staged: Mapping[Path, Path]) -> None:
            nonlocal rows
            writer = _writer(fmt, staged, out / data_name, partitions, variables, label)
            try:
                with db.engine.connect() as conn:
                    keys = ({s.id: pseudonyms.case_pseudonyms(conn, [s.id]) for s in sources}
                            if pseudonymise_refs else None)
                    if progress:
                        progress("Exporting", 0, None)
                    for source, batch in batches(conn, sources, questions, names, long=long,
                                                 rater=rater, pseudonyms=keys):
                        writer.write(source.name, batch)
                        rows += len(batch)
                        if progress:
                            progress("Exporting", rows, None)
                    if rows == 0 and fmt != "parquet":
                        writer.write("", _empty(variables))
            finally:
                writer.close()
            write_codebook(variables, staged[out / "codebook.csv"])

        def record(conn: sa.Connection, files: Sequence[Path]) -> None:
            # The disclosure is recorded by the role the person has now.
            now = require(conn, actor, "export")
            if not pseudonymise_refs and not allows(now, "export_identifiable"):
                require(conn, actor, "export_identifiable")
            trail.record_many(conn, [{
                "at": utcnow(), "who": actor.name, "entity": "export",
                "key": f"{fmt}:{out}"[:200], "field": "long" if long else f"wide/{rater}",
                "new_value": (f"inspections={','.join(names_out)}; rows={rows}; "
                              f"format={fmt}; layout={'long' if long else 'wide'}; rater="
                              f"{'all' if long else rater}; pseudonymised="
                              f"{'yes' if pseudonymise_refs else 'no'}; files="
                              f"{','.join(_shown(f, out) for f in files)}"),
            }])

        placed = disclosure.publish(db, write, record)
    return ExportResult(tuple(placed), rows, names_out, pseudonymise_refs, by_role)


def _variables(questions: Sequence[Question], qsets: Sequence[QuestionSet], *, long: bool,
               pseudonymise_refs: bool, rater: str = "primary"
               ) -> tuple[list[Variable], dict[str, str]]:
    """The variables of the export, in column order, and question id -> column name; in
    the wide layout each question's codebook row says whose answers fill its column."""
    if long:
        variables = long_variables(pseudonymised=pseudonymise_refs)
    else:
        variables = case_variables(pseudonymised=pseudonymise_refs,
                                   with_dates=not pseudonymise_refs)
    names = unique_names([q.id for q in questions], [v.name for v in variables])
    # in the long layout the question rows document the codes of the `value` column
    rating = "" if long else f"{rater}: {ANSWER_SOURCES[rater]}"
    variables += question_variables(questions, names, _sets_asking(qsets), rating=rating)
    return variables, names


def _empty(variables: Sequence[Variable]) -> pd.DataFrame:
    return pd.DataFrame({v.name: pd.Series(dtype=object) for v in variables})


def _shown(path: Path, out: Path) -> str:
    """A published file as the trail names it: relative to the output folder."""
    try:
        return str(Path(path).relative_to(Path(out).absolute()))
    except ValueError:
        return Path(path).name


def _refuse_stale_partitions(folder: Path, partitions: Mapping[str, Path]) -> None:
    """A dataset folder holding another inspection's part is refused (even with --force):
    readers would take the stale part for data of this export."""
    if not folder.is_dir() or folder.is_symlink():
        return
    wanted = {p.parent.name for p in partitions.values()}
    stale = sorted(p.name for p in folder.iterdir() if p.name not in wanted
                   and not p.name.startswith("."))
    if stale:
        raise UsageError(f"{folder} holds {', '.join(stale)}, which this export would not "
                         "replace: remove the folder or choose another --out")
