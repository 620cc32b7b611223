"""Writing export batches, one writer per format, each keeping memory bounded.

CSV, XLSX and Parquet are written batch by batch as they are read; Stata and SPSS files
chunk by chunk (`audit.exports.statistical`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote

import pandas as pd

from audit.cell_safety import neutralise_frame
from audit.errors import UsageError
from audit.exports.codebook import Variable
from audit.exports.coding import BY_CODE

XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


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
