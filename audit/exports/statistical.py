"""Stata .dta and SPSS .sav exports, written chunk by chunk in bounded memory.

pyreadstat writes a file from one whole frame. So the rows are kept in chunks of about
`CHUNK_CELLS` values, each in the format's compact coded form (numbers with missing
codes, text with each distinct string stored once); a full chunk goes to a scratch file
in the export's private staging folder. When all rows are in, each chunk is written by
pyreadstat on its own, led by one made-up row that gives every variable its type and the
longest string the whole export holds (so every chunk gets the same dictionary), and the
chunk files are joined into one (`audit.exports.spliced`), the made-up rows left out.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.exports.codebook import Variable
from audit.exports.coding import BY_CODE, MISSING_KINDS, short_label
from audit.exports.spliced import DtaJoiner, SavJoiner

STATA_LABEL = 80  # Stata's limit for variable and dataset labels
SPSS_FILE_LABEL = 64  # SPSS's limit for the file label
STATA_STR_MAX = 2045  # longer strings are strLs (pyreadstat's rule, from Stata's)
CHUNK_CELLS = 250_000  # values per chunk: pyreadstat takes ~50 bytes a value (~12 MB)

Chunk = dict[str, np.ndarray]


def _text(v: Variable | None) -> bool:
    return v is None or v.type in ("text", "multi_choice")


def _numeric(v: Variable) -> bool:
    return v.coded or v.type == "integer"


def _compact(values: pd.Series, v: Variable | None, cache: dict[str, str]) -> np.ndarray:
    """A batch's column kept small until the file is written: numbers as int16 (a missing
    kind as its negative SPSS number), NaN for an unrecorded profile field, text with
    each distinct string stored once, dates as date objects, times as UTC datetime64."""
    if _text(v):
        return np.array([cache.setdefault(x, x) if isinstance(x, str) else "" for x in values],
                        dtype=object)
    assert v is not None
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


def _final(array: np.ndarray, v: Variable | None, stata: bool) -> np.ndarray:
    """A column as the file stores it."""
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


def _utf8_width(array: np.ndarray) -> int:
    """The longest string's length in UTF-8 bytes, as pyreadstat measures it (at least 1)."""
    return max((len(s.encode("utf-8")) for s in set(array.tolist())), default=0)


class StatisticalWriter:
    """Stata .dta or SPSS .sav: chunks of rows in their final form, joined at the end."""

    def __init__(self, path: Path, variables: Sequence[Variable], fmt: str,
                 dataset_label: Callable[[int | None], str],
                 chunk_cells: int | None = None) -> None:
        self.path = path
        self.fmt = fmt
        self.variables = {v.name: v for v in variables}
        self.label = dataset_label
        self.chunk_cells = chunk_cells or CHUNK_CELLS
        self.columns: list[str] = []
        self.pending: list[Chunk] = []  # batches not yet put away
        self.pending_rows = 0
        self.caches: dict[str, dict[str, str]] = {}
        self.widths: dict[str, int] = {}  # text column -> longest value (UTF-8 bytes)
        self.spilled: list[Path] = []

    def write(self, inspection: str, batch: pd.DataFrame) -> None:
        stata = self.fmt == "stata"
        chunk: Chunk = {}
        for c in batch.columns:
            name = str(c)
            v = self.variables.get(name)
            chunk[name] = _final(_compact(batch[c], v, self.caches.setdefault(name, {})), v,
                                 stata)
            if _text(v):
                self.widths[name] = max(self.widths.get(name, 1), _utf8_width(chunk[name]))
        if not self.columns:
            self.columns = list(chunk)
        self.pending.append(chunk)
        self.pending_rows += len(batch)
        if self.pending_rows * max(len(self.columns), 1) >= self.chunk_cells:
            self._put_away()

    def _gathered(self) -> Chunk:
        chunks, self.pending, self.pending_rows = self.pending, [], 0
        if len(chunks) == 1:
            return chunks[0]
        return {c: np.concatenate([chunk[c] for chunk in chunks]) for c in self.columns}

    def _put_away(self) -> None:
        """Move the pending rows to a scratch file in the (private) staging folder."""
        chunk = self._gathered()
        self.caches.clear()  # equal texts are shared within a chunk, not across
        fd, name = tempfile.mkstemp(prefix=".chunk-", dir=self.path.parent)
        self.spilled.append(Path(name))
        with os.fdopen(fd, "wb") as f:
            pickle.dump(chunk, f, protocol=pickle.HIGHEST_PROTOCOL)

    def _chunks(self) -> Iterator[Chunk]:
        for path in self.spilled:
            with open(path, "rb") as f:
                chunk: Chunk = pickle.load(f)  # noqa: S301 - our own file, 0600, in 0700
            path.unlink()
            yield chunk
        if self.pending or not self.spilled:
            yield self._gathered()

    def close(self) -> None:
        """Write the file: each chunk by pyreadstat, joined into one."""
        try:
            self._write()
        finally:
            for path in self.spilled:
                with suppress(FileNotFoundError):
                    path.unlink()

    def _write(self) -> None:
        import pyreadstat

        used = [self.variables[c] for c in self.columns if c in self.variables]
        stata = self.fmt == "stata"
        options = _stata_options(used, self.label) if stata else _spss_options(used, self.label)
        write = pyreadstat.write_dta if stata else pyreadstat.write_sav
        with open(self.path, "wb") as out, _scratch(self.path.parent) as (strls, part):
            joiner = DtaJoiner(out, strls) if stata else SavJoiner(out)
            for chunk in self._chunks():
                write(self._frame(chunk), str(part), **options)
                joiner.add(part.read_bytes())
            joiner.finish()

    def _frame(self, chunk: Chunk) -> pd.DataFrame:
        """The chunk led by the row that fixes each column's type and width."""
        first = self._first_row(chunk)
        # Series without copies, so pandas does not consolidate the columns into one
        # block (a second copy of the chunk); text kept as objects, not made Arrow strings
        # by pandas (pyreadstat's row loop would convert every value back, slowly)
        columns = {}
        for c in self.columns:
            values = np.concatenate([first[c], chunk[c]])
            columns[c] = pd.Series(values, dtype=values.dtype, copy=False)
        return pd.DataFrame(columns, copy=False)

    def _first_row(self, chunk: Chunk) -> Chunk:
        row: Chunk = {}
        for c in self.columns:
            array, v = chunk[c], self.variables.get(c)
            if _text(v):
                value: Any = self._filler(c, chunk)
            elif array.dtype != object:
                row[c] = np.zeros(1, dtype=array.dtype)
                continue
            else:
                assert v is not None
                value = date(2000, 1, 1) if v.type == "date" else 0
            one = np.empty(1, dtype=object)
            one[0] = value
            row[c] = one
        return row

    def _filler(self, column: str, chunk: Chunk) -> str:
        """A string as long as the column's longest (UTF-8 bytes). A Stata strL's filler
        must equal no value of the chunk: values refer to the first row holding them, and
        the first row's strings are left out of the joined file."""
        width = self.widths.get(column, 1)
        if self.fmt != "stata" or width < STATA_STR_MAX:
            return "x" * width
        for n in range(1_000):
            filler = f"<{n}>".ljust(width, "x")
            if not any(np.any(chunk[c] == filler) for c in self.columns
                       if self.widths.get(c, 0) >= STATA_STR_MAX):
                return filler
        raise RuntimeError("no filler string for a long Stata string column")  # unreachable


@contextmanager
def _scratch(folder: Path) -> Iterator[tuple[Any, Path]]:
    """A scratch file for Stata's long strings and a path for each chunk's file, in the
    private staging folder, removed afterwards."""
    fd, name = tempfile.mkstemp(prefix=".part-", dir=folder)
    os.close(fd)
    part = Path(name)
    try:
        with tempfile.TemporaryFile(dir=folder) as strls:
            yield strls, part
    finally:
        with suppress(FileNotFoundError):
            part.unlink()


def _stata_options(used: Sequence[Variable], label: Callable[[int | None], str]
                   ) -> dict[str, Any]:
    return {"file_label": label(STATA_LABEL),
            "column_labels": {v.name: short_label(v.label, STATA_LABEL) for v in used},
            "variable_value_labels": _value_labels(used, stata=True),
            "missing_user_values": {v.name: [k.stata for k in MISSING_KINDS]
                                    for v in used if v.answers and _numeric(v)}}


def _spss_options(used: Sequence[Variable], label: Callable[[int | None], str]
                  ) -> dict[str, Any]:
    return {"file_label": label(SPSS_FILE_LABEL),
            "note": textwrap.wrap(label(None), 80),  # SPSS document lines: 80 at most
            "column_labels": {v.name: v.label for v in used},
            "variable_value_labels": _value_labels(used, stata=False),
            "missing_ranges": {v.name: ([k.spss for k in MISSING_KINDS] if _numeric(v)
                                        else [k.code for k in MISSING_KINDS])
                               for v in used if v.answers},
            "variable_measure": {v.name: v.measure for v in used},
            "variable_format": {v.name: "DATE11" for v in used if v.type == "date"}}


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
