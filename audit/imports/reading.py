"""Opening a CSV or XLSX file as a table read in chunks of text cells.

CSV encodings (UTF-8 with or without BOM, UTF-16, Windows-1252) and separators (`,`,
`;`, tab) are found from the file itself; every cell arrives as text in a categorical,
so repeated values cost one string each, whatever the file's size.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from audit.imports.problems import FileProblem

CHUNK_ROWS = 250_000


@dataclass
class Table:
    """A file opened for reading: its header, then its data rows in chunks of text."""

    label: str
    header: list[str]
    chunks: Iterator[pd.DataFrame]
    size: int
    position: Callable[[], int] = lambda: 0


def categorical(series: pd.Series) -> pd.Series:
    """The column as a categorical without missing cells (a short row reads as empty)."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    if series.hasnans:
        if "" not in series.cat.categories:
            series = series.cat.add_categories([""])
        series = series.fillna("")
    return series


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
            yield pd.DataFrame({c: categorical(chunk[c]) for c in chunk.columns},
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
