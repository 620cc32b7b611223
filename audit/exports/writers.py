"""Writing export batches, one writer per format, each keeping memory bounded.

CSV, XLSX and Parquet are written batch by batch as they are read. Stata and SPSS files
need the whole table at once (pyreadstat writes from one frame), so those writers keep
each batch in the format's compact coded form (numbers with missing codes, one small
array per column) and write once at the end.
"""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote

import numpy as np
import pandas as pd

from audit.cell_safety import neutralise_frame
from audit.errors import UsageError
from audit.exports.codebook import Variable
from audit.exports.coding import BY_CODE, MISSING_KINDS, short_label

XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
STATA_LABEL = 80  # Stata's limit for variable and dataset labels
SPSS_FILE_LABEL = 64  # SPSS's limit for the file label


class BatchWriter(Protocol):
    """Takes the batches of one export and finishes the file(s)."""

    def write(self, inspection: str, batch: pd.DataFrame) -> None: ...

    def close(self) -> None: ...


def partition_folder(inspection: str) -> str:
    """The Hive-style folder of an inspection's part of a Parquet dataset."""
    return "inspection=" + quote(inspection, safe="")


def iso_utc(values: pd.Series) -> pd.Series:
    """Timestamps (naive ones are UTC) as `datetime.isoformat()` writes them in UTC."""
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").where(
        stamps.dt.microsecond != 0, stamps.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return (text + "+00:00").astype(object).where(stamps.notna(), None)


def _texts(batch: pd.DataFrame, variables: dict[str, Variable]) -> pd.DataFrame:
    """A batch for the text formats: dates ISO, times ISO 8601 in UTC."""
    out = batch.copy()
    for name in out.columns:
        v = variables.get(name)
        if v is not None and v.type == "datetime":
            out[name] = iso_utc(out[name])
    return out


class CsvWriter:
    """CSV, UTF-8 without BOM, every text field quoted, formula triggers neutralised."""

    def __init__(self, path: Path, variables: Sequence[Variable]) -> None:
        self.variables = {v.name: v for v in variables}
        self.file: IO[str] = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.header = True

    def write(self, inspection: str, batch: pd.DataFrame) -> None:
        # Quote every text field: pandas leaves a bare CR unquoted, and a reader would
        # start a new row there, putting the rest of the cell (maybe "=...") first.
        neutralise_frame(_texts(batch, self.variables)).to_csv(
            self.file, index=False, header=self.header, quoting=csv.QUOTE_NONNUMERIC)
        self.header = False

    def close(self) -> None:
        self.file.close()


class XlsxWriter:
    """One sheet, rows appended as they come (openpyxl's write-only mode)."""

    def __init__(self, path: Path, variables: Sequence[Variable]) -> None:
        import openpyxl

        self.path = path
        self.variables = {v.name: v for v in variables}
        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = self.book.create_sheet("data")
        self.rows = 0
        self.header = True

    def write(self, inspection: str, batch: pd.DataFrame) -> None:
        self.rows += len(batch)
        if self.rows > XLSX_MAX_ROWS:
            raise UsageError(f"more than {XLSX_MAX_ROWS:,} rows do not fit in one XLSX sheet: "
                             "use csv or parquet")
        if self.header:
            self.sheet.append(list(batch.columns))
            self.header = False
        for row in neutralise_frame(_texts(batch, self.variables)).itertuples(
                index=False, name=None):
            # neutralised already: no text cell can start with '=' and become a formula
            self.sheet.append([None if v is None or v is pd.NA else v for v in row])

    def close(self) -> None:
        self.book.save(self.path)


def parquet_schema(variables: Sequence[Variable], columns: Sequence[str]) -> Any:
    """The Arrow schema of the data files: dates date32, times UTC, integers int32."""
    import pyarrow as pa

    kinds = {v.name: v.type for v in variables}
    types = {"date": pa.date32(), "datetime": pa.timestamp("us", tz="UTC"),
             "integer": pa.int32()}
    return pa.schema([(c, types.get(kinds.get(c, ""), pa.string())) for c in columns])


def _parquet_column(values: pd.Series, v: Variable | None) -> Any:
    if v is None or v.type not in ("integer", "date", "datetime"):
        return [None if x is None else str(x) for x in values]
    if v.type == "integer":  # a missing kind as its negative number (the codebook says)
        return [None if x is None else (BY_CODE[x].spss if x in BY_CODE else int(x))
                for x in values]
    if v.type == "datetime":
        return pd.to_datetime(values, utc=True)
    return [x if x is None or isinstance(x, date) else date.fromisoformat(str(x))
            for x in values]


class ParquetWriter:
    """A Hive-partitioned Parquet dataset: FOLDER/inspection=NAME/part-0.parquet.

    The inspection is the partition key, so it is not repeated inside the files; readers
    (pandas, pyarrow, DuckDB with hive_partitioning) add it back as a column.
    """

    def __init__(self, paths: dict[str, Path], variables: Sequence[Variable]) -> None:
        self.paths = paths  # inspection -> file
        self.variables = {v.name: v for v in variables}
        self.writers: dict[str, Any] = {}

    def write(self, inspection: str, batch: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = batch.drop(columns=["inspection"])
        schema = parquet_schema(list(self.variables.values()), list(data.columns))
        table = pa.Table.from_pydict(
            {c: _parquet_column(data[c], self.variables.get(c)) for c in data.columns},
            schema=schema)
        if inspection not in self.writers:
            self.writers[inspection] = pq.ParquetWriter(self.paths[inspection], schema)
        self.writers[inspection].write_table(table)

    def close(self) -> None:
        import pyarrow.parquet as pq

        for inspection, path in self.paths.items():
            writer = self.writers.pop(inspection, None)
            if writer is None:  # an inspection without rows still gets its (empty) part
                schema = parquet_schema(list(self.variables.values()),
                                        [v for v in self.variables if v != "inspection"])
                writer = pq.ParquetWriter(path, schema)
            writer.close()


# ------------------------------------------------------------------------ Stata and SPSS

def _compact(values: pd.Series, v: Variable | None, cache: dict[str, str]) -> np.ndarray:
    """A batch's column kept small until the file is written: numbers as int16 (a missing
    kind as its negative SPSS number), NaN for an unrecorded profile field, text with
    each distinct string stored once, dates as date objects, times as UTC datetime64."""
    if v is None or v.type in ("text", "multi_choice"):
        return np.array([cache.setdefault(x, x) if isinstance(x, str) else "" for x in values],
                        dtype=object)
    if v.type == "date":
        return np.array([x if x is None or isinstance(x, date) else date.fromisoformat(str(x))
                         for x in values], dtype=object)
    if v.type == "datetime":
        return pd.to_datetime(values, utc=True).dt.tz_localize(None).to_numpy()
    numeric = v.numeric
    if v.answers:
        return np.array([BY_CODE[x].spss if x in BY_CODE else (numeric[x] if numeric else int(x))
                         for x in values], dtype=np.int32 if v.type == "integer" else np.int16)
    # float32 holds every code exactly (and NaN), in half the memory of float64
    return pd.to_numeric(values.map(numeric), errors="coerce").to_numpy(dtype=np.float32)


def _final(array: np.ndarray, v: Variable | None, stata: bool) -> Any:
    """A whole column as the file stores it."""
    if v is not None and v.answers and _numeric(v):
        if not stata:  # SPSS: the negative numbers are declared user-missing; float32
            return array.astype(np.float32)  # holds every code exactly, in half the memory
        out = array.astype(object)  # Stata: .a/.b/.c are letters in pyreadstat's frame
        for kind in MISSING_KINDS:
            out[array == kind.spss] = kind.stata
        return out
    # Text stays an object array of shared strings: as a categorical, pandas would hold
    # the categories as Arrow strings and pyreadstat's row loop would copy every value.
    return array


class StatisticalWriter:
    """Stata .dta or SPSS .sav: every column kept in its final form, written at the end.

    pyreadstat writes from one frame, so each column is allocated once for the expected
    number of rows (grown if more come) and each batch is converted straight into its
    slice: no second copy of the table is ever made. Equal texts share one string.
    """

    def __init__(self, path: Path, variables: Sequence[Variable], fmt: str,
                 dataset_label: Callable[[int | None], str], rows: int = 0) -> None:
        self.path = path
        self.fmt = fmt
        self.variables = {v.name: v for v in variables}
        self.label = dataset_label
        self.capacity = max(rows, 1)
        self.filled = 0
        self.columns: dict[str, np.ndarray] = {}
        self.caches: dict[str, dict[str, str]] = {}

    def write(self, inspection: str, batch: pd.DataFrame) -> None:
        end = self.filled + len(batch)
        if end > self.capacity:  # more rows than counted (written meanwhile): grow
            self.capacity = max(end, self.capacity * 3 // 2)
            for name, array in self.columns.items():
                grown = np.empty(self.capacity, dtype=array.dtype)
                grown[:self.filled] = array[:self.filled]
                self.columns[name] = grown
        for c in batch.columns:
            name = str(c)
            v = self.variables.get(name)
            chunk = _final(_compact(batch[c], v, self.caches.setdefault(name, {})), v,
                           self.fmt == "stata")
            if name not in self.columns:
                self.columns[name] = np.empty(self.capacity, dtype=chunk.dtype)
            self.columns[name][self.filled:end] = chunk
        self.filled = end

    def _frame(self) -> pd.DataFrame:
        self.caches.clear()
        # Series without copies, so pandas does not consolidate the columns into one
        # block (a second copy of the whole table)
        return pd.DataFrame({k: pd.Series(v[:self.filled], copy=False)
                             for k, v in self.columns.items()}, copy=False)

    def close(self) -> None:
        import pyreadstat

        frame = self._frame()
        used = [self.variables[c] for c in frame.columns if c in self.variables]
        if self.fmt == "stata":
            pyreadstat.write_dta(
                frame, str(self.path), file_label=self.label(STATA_LABEL),
                column_labels={v.name: short_label(v.label, STATA_LABEL) for v in used},
                variable_value_labels=_value_labels(used, stata=True),
                missing_user_values={v.name: [k.stata for k in MISSING_KINDS]
                                     for v in used if v.answers and _numeric(v)})
        else:
            pyreadstat.write_sav(
                frame, str(self.path), file_label=self.label(SPSS_FILE_LABEL),
                note=textwrap.wrap(self.label(None), 80),  # SPSS document lines: 80 at most
                column_labels={v.name: v.label for v in used},
                variable_value_labels=_value_labels(used, stata=False),
                missing_ranges={v.name: ([k.spss for k in MISSING_KINDS] if _numeric(v)
                                         else [k.code for k in MISSING_KINDS])
                                for v in used if v.answers},
                variable_measure={v.name: v.measure for v in used},
                variable_format={v.name: "DATE11" for v in used if v.type == "date"})


def _numeric(v: Variable) -> bool:
    return v.coded or v.type == "integer"


def _value_labels(variables: Sequence[Variable], *, stata: bool) -> dict[str, dict[Any, str]]:
    out: dict[str, dict[Any, str]] = {}
    for v in variables:
        if not _numeric(v):
            continue
        # keys of the column's type: Stata answer columns mix ints and .a/.b/.c letters
        key = int if stata and v.answers else float
        labels: dict[Any, str] = {key(n): v.codes.get(c, c)[:STATA_LABEL]
                                  for c, n in v.numeric.items()}
        if v.answers:
            labels.update({(k.stata if stata else float(k.spss)): k.label
                           for k in MISSING_KINDS})
        if labels:
            out[v.name] = labels
    return out
