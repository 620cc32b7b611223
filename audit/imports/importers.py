"""Importing case samples and ratings from CSV or XLSX: read, validate, then bulk-write.

A file is streamed in chunks and validated column by column (each distinct value is
parsed once, then mapped onto the chunk), so a 4,000,000-row ratings file never sits
in memory as Python objects. Valid chunks go straight into the bulk staging table; the
merge runs once at the end, and only if the whole file is valid. One file is one
transaction: any error and nothing is stored.

Errors are located as a spreadsheet user sees them (header = row 1) and kept in order;
only the first `MAX_SHOWN` are formatted, the rest are counted.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session

from audit.imports.staging import AnswerStaging, BulkResult, CaseStaging
from audit.cases import parse_profile_value
from audit.store.engine import Database
from audit.errors import AuditError, UsageError
from audit.identity import ENV_INSPECTOR, current_user
from audit.inspections import inspection_for_writing, question_set_of
from audit.store.models import RATERS, Case, Inspection, Site
from question_sets import Question, QuestionSet
from question_sets.profile import CASE_STATUS, PROFILE

MAX_SHOWN = 50
CHUNK_ROWS = 250_000
DEFAULT_INSPECTOR = "import"
CASE_REF_MAX = 60
NAME_MAX = 120
VALUE_MAX = 200

CASE_FILE_COLUMNS = ("case_ref", "site", "status", *PROFILE, "inspection")
CASE_REQUIRED = ("case_ref", "iom")
RATING_REQUIRED = ("case_ref", "question_id", "answer")
RATING_OPTIONAL = ("note", "inspector", "rater", "inspection")
RATING_IGNORED = ("updated_at",)  # in the long export, for information only
ANSWER_ALIAS = "value"  # the long export's name for the answer column

# The export prefixes ' to text a spreadsheet would run as a formula; undo that here so
# an export imports back unchanged (see exporters.neutralise).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

ProgressFn = Callable[[str, int, int | None], None]
"""progress(what, done, total): bytes read of a file, or a phase with total None."""


# ------------------------------------------------------------------------------ errors

@dataclass(frozen=True, order=True)
class RowError:
    """One bad cell (or row, or file when `row` is 0)."""

    row: int
    column: str | None = None
    value: str | None = None
    reason: str = ""

    def format(self, label: str) -> str:
        where = f"{label}:{self.row}" if self.row else label
        column = f" column {self.column}:" if self.column is not None else ""
        value = f" value '{_shown(self.value)}':" if self.value is not None else ""
        return f"{where}:{column}{value} {self.reason}"


def _shown(value: str, limit: int = 60) -> str:
    text = "".join(c if c >= " " else repr(c)[1:-1] for c in value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Problems:
    """The errors of one file: the first MAX_SHOWN (by row) kept, the rest counted."""

    def __init__(self, label: str, limit: int = MAX_SHOWN) -> None:
        self.label = label
        self.limit = limit
        self.count = 0
        self._kept: list[RowError] = []

    def add(self, row: int, column: str | None, value: str | None, reason: str) -> None:
        self.count += 1
        self._kept.append(RowError(row, column, value, reason))
        self._trim()

    def add_rows(self, rows: np.ndarray, column: str | None, values: Sequence[Any] | None,
                 reasons: str | Sequence[str]) -> None:
        """Add many errors at once; only the `limit` lowest rows become objects."""
        n = len(rows)
        if not n:
            return
        self.count += n
        order = np.argsort(rows, kind="stable")[: self.limit]
        for i in order:
            value = None if values is None else values[i]
            reason = reasons if isinstance(reasons, str) else reasons[i]
            self._kept.append(RowError(int(rows[i]), column,
                                       None if value is None else str(value), str(reason)))
        self._trim()

    def _trim(self) -> None:
        if len(self._kept) > 4 * self.limit:
            self._kept = sorted(self._kept)[: self.limit]

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        """The located messages, then '... and N more errors'."""
        shown = [e.format(self.label) for e in sorted(self._kept)[: self.limit]]
        if self.count > len(shown):
            shown.append(f"... and {self.count - len(shown)} more errors")
        return shown


class ImportRejected(AuditError):
    """The file has errors: nothing was stored. `lines` locates each bad row."""

    def __init__(self, problems: Problems) -> None:
        self.lines = problems.lines()
        self.count = problems.count
        self.label = problems.label
        super().__init__(f"{problems.label}: {problems.count} error(s); nothing was stored")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did (or, with dry_run, would do)."""

    file: str
    inspection: str
    rows: int
    result: BulkResult
    dry_run: bool = False
    ignored_columns: tuple[str, ...] = ()
    cleared: int = 0  # answers removed because their question no longer applies


class _DryRun(Exception):
    """Raised to roll the transaction back after a dry run has counted everything."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary


# ----------------------------------------------------------------------------- reading

@dataclass
class Table:
    """A file opened for reading: its header, then its data rows in chunks of text."""

    label: str
    header: list[str]
    chunks: Iterator[pd.DataFrame]
    size: int
    position: Callable[[], int] = lambda: 0


class FileProblem(AuditError):
    """A file that cannot be read as a table at all."""


def unneutralise(text: str) -> str:
    """Drop the "'" the export puts before text a spreadsheet would treat as a formula."""
    if text.startswith("'") and text[1:].lstrip("'").startswith(_FORMULA_TRIGGERS):
        return text[1:]
    return text


def _categorical(series: pd.Series) -> pd.Series:
    """The column as a categorical without missing cells (a short row reads as empty)."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    if series.hasnans:
        if "" not in series.cat.categories:
            series = series.cat.add_categories([""])
        series = series.fillna("")
    return series


def per_value(series: pd.Series, fn: Callable[[str], Any]) -> np.ndarray:
    """`fn` of every cell, computed once per distinct value (an object array).

    Files repeat few distinct values (question ids, codes, names), so this is how the
    importer validates millions of cells with a few thousand Python calls.
    """
    cats = series.cat.categories.tolist()
    out = np.empty(len(cats) + 1, dtype=object)
    out[:-1] = [fn(str(c)) for c in cats]
    return out[series.cat.codes.to_numpy()]  # code -1 (never after _categorical) -> last


def categorical_of(values: Sequence[Any] | np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """The rows' values as a categorical, given the value of each code (None: missing).

    Nothing is built per row but the codes, so a chunk's parsed text columns cost
    what their few distinct values cost.
    """
    value_codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return pd.Categorical.from_codes(value_codes[codes],
                                     categories=pd.Index(uniques, dtype=object))


def per_value_categorical(series: pd.Series, fn: Callable[[str], Any]) -> pd.Categorical:
    """`fn` of every cell as a categorical (None: missing), computed once per distinct value."""
    return categorical_of([fn(str(c)) for c in series.cat.categories],
                          series.cat.codes.to_numpy())


def objects(values: pd.Categorical, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Some rows of a categorical as an object array, None where missing."""
    table = np.empty(len(values.categories) + 1, dtype=object)  # code -1: the last, None
    table[:-1] = np.asarray(values.categories, dtype=object)
    return table[values.codes[rows]]


def _encoding(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for block in iter(lambda: f.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"  # what Excel on Windows writes as "CSV (comma delimited)"
    return "utf-8"


@contextmanager
def open_table(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[Table]:
    """Open a CSV or XLSX file (by its extension) for chunked reading."""
    if not path.is_file():
        raise FileProblem(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        with _open_xlsx(path, chunk_rows) as table:
            yield table
    else:
        with _open_csv(path, chunk_rows) as table:
            yield table


@contextmanager
def _open_csv(path: Path, chunk_rows: int) -> Iterator[Table]:
    label = str(path)
    encoding = _encoding(path)
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            first = text.readline()
        except UnicodeDecodeError as exc:
            raise FileProblem(f"{label}: not UTF-8 or Windows-1252 text ({exc.reason})") from exc
        if not first.strip("\r\n\ufeff"):
            raise FileProblem(f"{label}: the file is empty or its first line (the header) "
                              "is blank")
        # Excel in some locales writes ';' (or tabs); the header tells which.
        sep = "," if "," in first else max(",;\t", key=first.count)
        text.seek(0)
        try:
            reader = pd.read_csv(text, header=None, dtype="category", keep_default_na=False,
                                 na_filter=False, skip_blank_lines=False, sep=sep,
                                 chunksize=chunk_rows, engine="c", quotechar='"')
            chunks = _csv_chunks(reader, label)
            header_frame = next(chunks)
        except StopIteration:
            raise FileProblem(f"{label}: the file is empty (no header row)") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError,
                OverflowError) as exc:
            # The parser may fail while opening, before the chunk loop can catch it.
            message = str(exc).strip().splitlines()[-1] if str(exc).strip() else \
                type(exc).__name__
            raise FileProblem(f"{label}: cannot be read as CSV: {message}") from exc
        header = [str(v) for v in header_frame.iloc[0].tolist()]
        header_frame = header_frame.iloc[1:]

        def rest() -> Iterator[pd.DataFrame]:
            yield header_frame
            yield from chunks

        yield Table(label, header, rest(), path.stat().st_size, raw.tell)


def _csv_chunks(reader: Any, label: str) -> Iterator[pd.DataFrame]:
    try:
        for chunk in reader:
            yield pd.DataFrame({c: _categorical(chunk[c]) for c in chunk.columns},
                               index=chunk.index, columns=chunk.columns)
    except UnicodeDecodeError as exc:
        raise FileProblem(f"{label}: not UTF-8 or Windows-1252 text ({exc.reason})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError) as exc:
        message = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise FileProblem(f"{label}: cannot be read as CSV: {message}") from exc


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


@contextmanager
def _open_xlsx(path: Path, chunk_rows: int) -> Iterator[Table]:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"{path}: cannot be read as an XLSX workbook ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        label = f"{path}[{sheet.title}]"
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None or all(v is None for v in first):
            raise FileProblem(f"{label}: the sheet is empty (no header row)")
        header = [_cell_text(v) for v in first]
        done = [0]

        def chunks() -> Iterator[pd.DataFrame]:
            batch: list[list[str]] = []
            for row in rows:
                cells = [_cell_text(v) for v in row[: len(header)]]
                batch.append(cells + [""] * (len(header) - len(cells)))
                if len(batch) >= chunk_rows:
                    done[0] += len(batch)
                    yield pd.DataFrame(batch, dtype="category")
                    batch = []
            done[0] += len(batch)
            yield pd.DataFrame(batch, columns=range(len(header)), dtype="category")

        yield Table(label, header, chunks(), sheet.max_row or 0, lambda: done[0])
    finally:
        book.close()


# --------------------------------------------------------------------------- validation

def _columns(table: Table, known: Sequence[str], required: Sequence[str],
             ignore_unknown: bool, problems: Problems,
             aliases: dict[str, str] | None = None) -> tuple[dict[str, int], tuple[str, ...]]:
    """Map known column names to positions; report missing, repeated and unknown ones."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for i, raw in enumerate(table.header):
        name = raw.strip().lower()
        name = (aliases or {}).get(name, name)
        if name in positions:
            problems.add(1, raw, None, "column appears twice")
        elif name in known:
            positions[name] = i
        elif not name or ignore_unknown:
            ignored.append(raw)  # an unnamed column must be empty: checked per chunk
        else:
            problems.add(1, raw, None, "unknown column (use --ignore-unknown to skip it; "
                                       f"known: {', '.join(known)})")
    for name in required:
        if name not in positions:
            problems.add(1, name, None, "required column is missing")
    return positions, tuple(i for i in ignored if i.strip())


def _unnamed_columns(table: Table) -> list[int]:
    return [i for i, raw in enumerate(table.header) if not raw.strip()]


def _check_unnamed(chunk: pd.DataFrame, unnamed: list[int], rows: np.ndarray,
                   problems: Problems) -> None:
    for i in unnamed:
        filled = (chunk[i] != "").to_numpy()
        problems.add_rows(rows[filled], f"#{i + 1}", chunk[i].astype(object)[filled].tolist(),
                          "a column with no name in the header holds a value")


def _parse_unique(series: pd.Series,
                  parse: Callable[[str], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Parse each distinct cell once: (parsed value per row, reason per bad row or None)."""
    cats = series.cat.categories.tolist()
    parsed = np.empty(len(cats) + 1, dtype=object)
    reasons = np.empty(len(cats) + 1, dtype=object)
    for k, cell in enumerate(cats):
        try:
            parsed[k] = parse(str(cell))
        except (UsageError, ValueError) as exc:
            reasons[k] = str(exc)
    codes = series.cat.codes.to_numpy()
    return parsed[codes], reasons[codes]


def _status_cell(cell: str) -> str | None:
    return _status(unneutralise(cell).strip())


def _profile_cell(name: str, cell: str) -> Any:
    return parse_profile_value(name, unneutralise(cell).strip())


def _reason(kind: str, code: str) -> str:
    spec = PROFILE[code]
    if kind == "bool":
        return "not yes or no (also accepted: true/false, 1/0, y/n)"
    if kind == "date":
        return "not a date (write it as YYYY-MM-DD)"
    return f"not one of {', '.join(spec.codes)} (or their labels)"


def _status(value: str) -> str | None:
    text = value.strip()
    if not text:
        return None
    for code, label in CASE_STATUS.items():
        if text.lower() in (code, label.lower()):
            return code
    raise ValueError(f"not one of {', '.join(CASE_STATUS)}")


Cells = pd.Series | np.ndarray


def _report(problems: Problems, rows: np.ndarray, column: str, values: Cells,
            bad: Cells, reasons: Cells | str) -> None:
    mask = np.asarray(bad, dtype=bool)
    if mask.any():
        reason = reasons if isinstance(reasons, str) else list(np.asarray(reasons)[mask])
        cells = values[mask].astype(object).tolist() if isinstance(values, pd.Series) \
            else list(np.asarray(values)[mask])  # only the bad rows become objects
        problems.add_rows(rows[mask], column, cells, reason)


def _check_length(problems: Problems, rows: np.ndarray, column: str, raw: pd.Series,
                  limit: int) -> None:
    _report(problems, rows, column, raw,
            per_value(raw, lambda v: len(v.strip()) > limit),
            f"longer than {limit} characters")


def _check_inspection(problems: Problems, rows: np.ndarray, raw: pd.Series,
                      name: str) -> None:
    _report(problems, rows, "inspection", raw,
            per_value(raw, lambda v: unneutralise(v).strip() not in ("", name)),
            f"the row belongs to another inspection (importing into {name!r})")


# ---------------------------------------------------------------------------- sessions

def _lookup(conn: sa.Connection, inspection: str | None) -> tuple[Inspection, QuestionSet]:
    with Session(bind=conn) as session:
        found = inspection_for_writing(session, inspection)
        return found, question_set_of(found)


def _run(db: Database, work: Callable[[sa.Connection], ImportSummary]) -> ImportSummary:
    try:
        with db.write() as conn:
            return work(conn)
    except _DryRun as dry:
        return dry.summary


# ---------------------------------------------------------------------------- case files

def import_cases(db: Database, path: Path, *, inspection: str | None = None,
                 dry_run: bool = False, ignore_unknown: bool = False, who: str | None = None,
                 progress: ProgressFn | None = None,
                 chunk_rows: int = CHUNK_ROWS) -> ImportSummary:
    """Import a case sample (one row per case); ImportRejected lists every bad row."""
    who = current_user(who)
    with open_table(Path(path), chunk_rows) as table:
        problems = Problems(table.label)
        positions, ignored = _columns(table, CASE_FILE_COLUMNS, CASE_REQUIRED, ignore_unknown,
                                      problems)
        if problems:
            raise ImportRejected(problems)
        fields = [c for c in positions if c not in ("case_ref", "inspection")]

        def work(conn: sa.Connection) -> ImportSummary:
            found, qs = _lookup(conn, inspection)
            assert found.id is not None
            stage = CaseStaging(conn, found.id, fields, who=who)
            refs: list[pd.DataFrame] = []
            total = 0
            unnamed = _unnamed_columns(table)
            for chunk in table.chunks:
                rows = np.arange(total + 2, total + 2 + len(chunk))
                total += len(chunk)
                keep = (chunk != "").any(axis=1).to_numpy()  # blank rows are skipped
                chunk, rows = chunk[keep], rows[keep]
                _check_unnamed(chunk, unnamed, rows, problems)
                parsed = _parse_cases(chunk, positions, rows, found.name, problems)
                refs.append(pd.DataFrame({"case_ref": parsed["case_ref"], "row": rows}))
                if not problems:
                    stage.add(parsed)
                if progress:
                    progress("Reading", table.position(), table.size)
            _check_duplicates(refs, problems)
            if problems:
                raise ImportRejected(problems)
            if progress:
                progress("Storing", 0, None)
            result = stage.merge()
            cleared = _enforce_rules(conn, found, qs, who, set(fields)) if result.updated else 0
            summary = ImportSummary(table.label, found.name, stage.staged, result, dry_run,
                                    ignored, cleared)
            if dry_run:
                raise _DryRun(summary)
            return summary

        return _run(db, work)


def _parse_cases(chunk: pd.DataFrame, positions: dict[str, int], rows: np.ndarray,
                 inspection: str, problems: Problems) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for name, i in positions.items():
        if name == "inspection":
            _check_inspection(problems, rows, chunk[i], inspection)
            continue
        raw = per_value(chunk[i], unneutralise)
        if name in ("case_ref", "site"):
            value = per_value(chunk[i], lambda v: unneutralise(v).strip())
            empty = value == ""
            _check_length(problems, rows, name, chunk[i],
                          CASE_REF_MAX if name == "case_ref" else NAME_MAX)
            if name == "case_ref":
                _report(problems, rows, name, raw, empty, "case_ref is required")
            else:
                value[empty] = None
        elif name == "status":
            value, reasons = _parse_unique(chunk[i], _status_cell)
            _report(problems, rows, name, raw, pd.notna(reasons), reasons)
        else:
            value, reasons = _parse_unique(chunk[i], partial(_profile_cell, name))
            _report(problems, rows, name, raw, pd.notna(reasons),
                    _reason(PROFILE[name].kind, name))
        out[name] = pd.Series(value, index=chunk.index, dtype=object)  # not str: no copy
    return pd.DataFrame(out, index=chunk.index)


def _check_duplicates(refs: list[pd.DataFrame], problems: Problems) -> None:
    if not refs:
        return
    frame = pd.concat(refs, ignore_index=True)
    frame = frame[frame["case_ref"] != ""]
    first = frame.groupby("case_ref", sort=False)["row"].transform("min")
    dup = (frame["row"] != first).to_numpy()
    if dup.any():
        problems.add_rows(frame["row"].to_numpy()[dup], "case_ref",
                          frame["case_ref"].to_numpy()[dup].tolist(),
                          [f"duplicate: the same case_ref is on row {r}"
                           for r in first.to_numpy()[dup]])


# -------------------------------------------------------------------------- rating files

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


def import_ratings(db: Database, path: Path, *, inspection: str | None = None,
                   rater: str = "primary", inspector: str | None = None,
                   dry_run: bool = False, ignore_unknown: bool = False, who: str | None = None,
                   progress: ProgressFn | None = None,
                   chunk_rows: int = CHUNK_ROWS) -> ImportSummary:
    """Import answers in long format (case_ref, question_id, answer[, note, inspector, rater])."""
    if rater not in RATERS:
        raise UsageError(f"--rater must be one of {', '.join(RATERS)}, not {rater!r}")
    who = current_user(inspector or who)
    fallback = inspector or os.environ.get(ENV_INSPECTOR) or DEFAULT_INSPECTOR
    with open_table(Path(path), chunk_rows) as table:
        problems = Problems(table.label)
        positions, ignored = _columns(
            table, (*RATING_REQUIRED, *RATING_OPTIONAL, *RATING_IGNORED), RATING_REQUIRED,
            ignore_unknown, problems, aliases={ANSWER_ALIAS: "answer"})
        if problems:
            raise ImportRejected(problems)

        def work(conn: sa.Connection) -> ImportSummary:
            found, qs = _lookup(conn, inspection)
            assert found.id is not None
            cases = {ref: i for ref, i in conn.execute(sa.text(
                'SELECT case_ref, id FROM "case" WHERE inspection_id = :i'), {"i": found.id})}
            stage = AnswerStaging(conn, found.id, who=who, question_set_version=qs.version)
            relevant = _rule_questions(qs)
            seen = _Ratings()
            checker = _AnswerChecker(qs)
            unnamed = _unnamed_columns(table)
            total = count = 0
            for chunk in table.chunks:
                rows = np.arange(total + 2, total + 2 + len(chunk))
                total += len(chunk)
                keep = (chunk != "").any(axis=1).to_numpy()
                chunk, rows = chunk[keep], rows[keep]
                _check_unnamed(chunk, unnamed, rows, problems)
                parsed = _parse_ratings(chunk, positions, rows, found.name, cases, checker,
                                        rater, inspector, fallback, problems)
                _remember(parsed, rows, qs, relevant, seen)
                count += int(parsed["ok"].sum())
                if not problems:
                    # Without a note column the stored notes are left as they are.
                    drop = ["ok"] + ([] if "note" in positions else ["note"])
                    stage.add(parsed[parsed["ok"]].drop(columns=drop))
                if progress:
                    progress("Reading", table.position(), table.size)
            _duplicate_answers(seen, problems)
            clears = _check_rules(conn, found, qs, seen, relevant, problems) \
                if relevant else None
            if problems:
                raise ImportRejected(problems)
            if progress:
                progress("Storing", 0, None)
            cleared = 0
            if clears is not None and not clears.empty:
                stage.add(clears.assign(value=None, note=None, inspector=who))
                cleared = len(clears)
            result = stage.merge()
            summary = ImportSummary(table.label, found.name, count, result, dry_run, ignored,
                                    cleared)
            if dry_run:
                raise _DryRun(summary)
            return summary

        return _run(db, work)


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
        _check_inspection(problems, rows, column("inspection"), inspection)

    refs = column("case_ref")
    ref_ids = np.array([cases.get(unneutralise(str(v)).strip(), -1)
                        for v in refs.cat.categories], dtype=np.int64)
    case_ids = ref_ids[refs.cat.codes.to_numpy()]
    bad = case_ids < 0
    _report(problems, rows, "case_ref", refs, bad,
            per_value(refs, lambda v: "case_ref is required" if not v.strip()
                      else f"no such case in inspection {inspection!r}"))
    ok = ~bad

    qids = column("question_id")
    qid = per_value_categorical(qids, lambda v: v.strip() if v.strip() in checker.qs else None)
    bad = qid.codes < 0
    _report(problems, rows, "question_id", qids, bad,
            f"no such question in {checker.qs.id} v{checker.qs.version}")
    ok &= ~bad

    given = column("rater")
    raters = per_value_categorical(given, lambda v: v.strip().lower() or rater)
    bad = ~np.isin(raters.codes, [i for i, r in enumerate(raters.categories) if r in RATERS])
    _report(problems, rows, "rater", given, bad, f"not one of {', '.join(RATERS)}")
    ok &= ~bad

    raw = column("answer")
    notes = per_value_categorical(column("note"),
                                  lambda v: unneutralise(v) if v.strip() else None)
    values, reasons = _check_answers(qids, raw, ok, checker)
    bad = ~pd.isna(reasons)
    _report(problems, rows, "answer", raw, bad, reasons)
    ok &= ~bad
    blank = per_value(raw, lambda v: not v.strip()).astype(bool) & (notes.codes < 0)
    _report(problems, rows, "answer", raw, blank & ok, "no answer (and no note) given")
    ok &= ~blank
    _check_length(problems, rows, "answer", raw, VALUE_MAX)

    if inspector is not None:
        names = pd.Categorical.from_codes(np.zeros(len(chunk), dtype=np.int8),
                                          categories=pd.Index([inspector], dtype=object))
    else:
        names = per_value_categorical(column("inspector"),
                                      lambda v: unneutralise(v).strip() or fallback)
        _check_length(problems, rows, "inspector", column("inspector"), NAME_MAX)
    return pd.DataFrame({
        "case_id": case_ids, "question_id": qid, "rater": raters, "value": values,
        "note": notes, "inspector": names, "ok": ok}, index=chunk.index)


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


# ------------------------------------------------------------------------------- rules

def _rule_questions(qs: QuestionSet) -> set[str]:
    """Questions with a rule, and those a rule reads: the answers the rules depend on."""
    out: set[str] = set()
    for q in qs.questions:
        if q.rule is not None:
            out.add(q.id)
            out.update(q.rule.question_ids)
    return out


def inapplicable(qs: QuestionSet, answers: pd.DataFrame,
                 profiles: pd.DataFrame | None) -> pd.DataFrame:
    """The answers whose question does not apply to their case, given all the others.

    `answers`: case_id, rater, question_id, value (every answer of each (case, rater)
    group that a rule reads or has; one per question). `profiles`: case fields indexed
    by case id. Rules run in dependency order and a non-applicable answer reads as None
    in later rules, as in `QuestionSet.applicable`. Each rule is evaluated once per
    distinct combination of the values it reads, not once per case. The result lists
    rule by rule, groups in (case_id, rater) order.
    """
    empty = pd.DataFrame(columns=["case_id", "rater", "question_id"])
    if answers.empty:
        return empty
    # The groups as rows and the questions as columns of one object matrix.
    c_codes, c_uniques = pd.factorize(answers["case_id"].to_numpy(), sort=True)
    r_codes, r_uniques = pd.factorize(answers["rater"].to_numpy(dtype=object), sort=True)
    q_codes, q_uniques = pd.factorize(answers["question_id"].to_numpy(dtype=object), sort=True)
    groups, row_group = np.unique(c_codes.astype(np.int64) * len(r_uniques) + r_codes,
                                  return_inverse=True)
    group_case = np.asarray(c_uniques)[groups // len(r_uniques)]
    group_rater = np.asarray(r_uniques, dtype=object)[groups % len(r_uniques)]
    column = {q: j for j, q in enumerate(q_uniques)}
    wide = np.full((len(groups), len(q_uniques)), None, dtype=object)
    values = answers["value"].to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    wide[row_group, q_codes] = values
    found: list[pd.DataFrame] = []
    for qid in qs.rule_order:
        rule = qs.question(qid).rule
        assert rule is not None
        inputs: list[tuple[str, str]] = [("case", f) for f in sorted(rule.case_fields)]
        inputs += [("answer", q) for q in sorted(rule.question_ids)]
        codes: list[np.ndarray] = []
        choices: list[list[Any]] = []
        for kind, name in inputs:
            if kind == "case":
                cells = profiles[name].reindex(group_case).to_numpy(dtype=object) \
                    if profiles is not None and name in profiles else None
            else:
                cells = wide[:, column[name]] if name in column else None
            if cells is None:
                codes.append(np.zeros(len(groups), dtype=np.int64))
                choices.append([None])
                continue
            code, uniques = pd.factorize(cells)  # missing (None, NaN) -> -1
            codes.append(code.astype(np.int64) + 1)
            choices.append([None, *uniques])
        applies = _rule_verdicts(rule, inputs, codes, choices, len(groups))
        if qid in column:
            j = column[qid]
            bad = (wide[:, j] != None) & ~applies  # noqa: E711 - elementwise on objects
            found.append(pd.DataFrame({"case_id": group_case[bad],
                                       "rater": group_rater[bad], "question_id": qid}))
            wide[~applies, j] = None
    return pd.concat(found, ignore_index=True) if found else empty


def _rule_verdicts(rule: Any, inputs: list[tuple[str, str]], codes: list[np.ndarray],
                   choices: list[list[Any]], n: int) -> np.ndarray:
    """The rule's verdict per group, evaluated once per distinct combination of inputs."""
    key = np.zeros(n, dtype=np.int64)
    for code, options in zip(codes, choices, strict=True):
        if len(options) > 1:
            key = pd.factorize(key * len(options) + code)[0].astype(np.int64)
    combos, first = np.unique(key, return_index=True)
    verdict = np.empty(len(combos), dtype=bool)
    for k, row in enumerate(first.tolist()):
        case: dict[str, Any] = {}
        given: dict[str, Any] = {}
        for (kind, name), code, options in zip(inputs, codes, choices, strict=True):
            (case if kind == "case" else given)[name] = options[code[row]]
        verdict[k] = rule.evaluate(case, given)
    return verdict[np.searchsorted(combos, key)]


def _profiles(conn: sa.Connection, inspection_id: int, fields: set[str]) -> pd.DataFrame | None:
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


def _stored_answers(conn: sa.Connection, inspection_id: int, qids: set[str]) -> pd.DataFrame:
    stmt = sa.text('SELECT a.case_id, a.rater, a.question_id, a.value FROM answer a '
                   'JOIN "case" c ON c.id = a.case_id WHERE c.inspection_id = :i '
                   "AND a.question_id IN :q").bindparams(sa.bindparam("q", expanding=True))
    rows = [tuple(r) for r in conn.execute(stmt, {"i": inspection_id, "q": sorted(qids)})]
    return pd.DataFrame(rows, columns=["case_id", "rater", "question_id", "value"])


def _case_fields(qs: QuestionSet) -> set[str]:
    return {f for q in qs.questions if q.rule is not None for f in q.rule.case_fields}


def _check_rules(conn: sa.Connection, found: Inspection, qs: QuestionSet, seen: _Ratings,
                 relevant: set[str], problems: Problems) -> pd.DataFrame:
    """Report file answers whose rule is false; return stored answers to clear."""
    assert found.id is not None
    given = pd.concat(seen.ruled, ignore_index=True) if seen.ruled else pd.DataFrame()
    if given.empty:
        return pd.DataFrame(columns=["case_id", "rater", "question_id"])
    keys = ["case_id", "rater", "question_id"]
    stored = _stored_answers(conn, found.id, relevant)
    if not stored.empty:
        groups = given[["case_id", "rater"]].drop_duplicates()
        stored = stored.merge(groups, on=["case_id", "rater"])
    if stored.empty and not seen.duplicates:
        merged = given[[*keys, "value"]]  # one answer per key already
    else:
        merged = pd.concat([stored, given[[*keys, "value"]]], ignore_index=True) \
            .drop_duplicates(subset=keys, keep="last")  # the file's answers win
    bad = inapplicable(qs, merged, _profiles(conn, found.id, _case_fields(qs)))
    hits = given.merge(bad, on=keys)
    hits = hits[hits["value"].notna()]
    if not hits.empty:
        rules = {q.id: q.applies_when for q in qs.questions}
        problems.add_rows(hits["row"].to_numpy(), "answer", hits["value"].tolist(),
                          [f"{q} does not apply to this case ({rules[q]} is false)"
                           for q in hits["question_id"]])
    from_file = bad.merge(given[keys], on=keys, how="left", indicator=True)
    return from_file.loc[from_file["_merge"] == "left_only", keys].reset_index(drop=True)


def _enforce_rules(conn: sa.Connection, found: Inspection, qs: QuestionSet, who: str,
                   fields: set[str]) -> int:
    """After profile changes, remove answers whose rule no longer holds (as the app does)."""
    read = _case_fields(qs)
    if not read & fields:
        return 0
    assert found.id is not None
    stored = _stored_answers(conn, found.id, _rule_questions(qs))
    bad = inapplicable(qs, stored, _profiles(conn, found.id, read))
    if bad.empty:
        return 0
    stage = AnswerStaging(conn, found.id, who=who, question_set_version=qs.version)
    stage.add(bad.assign(value=None, note=None, inspector=who))
    return stage.merge().removed
