"""Checking the cells of a chunk: each distinct value once, every bad row located.

Files repeat few distinct values (question ids, codes, names), so a column is parsed per
distinct value and the verdicts are mapped onto the rows: millions of cells cost a few
thousand Python calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from audit import text_rules
from audit.cell_safety import unneutralise
from audit.errors import UsageError
from audit.imports.problems import Problems
from audit.imports.reading import Table

CASE_REF_MAX = 60


NAME_MAX = 120


VALUE_MAX = 200


def per_value(series: pd.Series, fn: Callable[[str], Any]) -> np.ndarray:
    """`fn` of every cell, computed once per distinct value (an object array).

    Files repeat few distinct values (question ids, codes, names), so this is how the
    importer validates millions of cells with a few thousand Python calls.
    """
    cats = series.cat.categories.tolist()
    out = np.empty(len(cats) + 1, dtype=object)
    out[:-1] = [fn(str(c)) for c in cats]
    return out[series.cat.codes.to_numpy()]  # code -1 (never after categorical) -> last


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


def parse_unique(series: pd.Series,
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


Cells = pd.Series | np.ndarray


def report(problems: Problems, rows: np.ndarray, column: str, values: Cells,
            bad: Cells, reasons: Cells | str) -> None:
    mask = np.asarray(bad, dtype=bool)
    if mask.any():
        reason = reasons if isinstance(reasons, str) else list(np.asarray(reasons)[mask])
        cells = values[mask].astype(object).tolist() if isinstance(values, pd.Series) \
            else list(np.asarray(values)[mask])  # only the bad rows become objects
        problems.add_rows(rows[mask], column, cells, reason)


def check_length(problems: Problems, rows: np.ndarray, column: str, raw: pd.Series,
                  limit: int) -> None:
    report(problems, rows, column, raw,
            per_value(raw, lambda v: len(v.strip()) > limit),
            f"longer than {limit} characters")


def name_cell(cell: str) -> str:
    """A case ref or name cell as stored (see `audit.text_rules`); ValueError saying why a
    control or invisible character makes it unusable."""
    text = text_rules.normal(unneutralise(cell))
    reason = text_rules.name_problem(text)
    if reason:
        raise ValueError(reason)
    return text


def check_notes(problems: Problems, rows: np.ndarray, raw: pd.Series) -> np.ndarray:
    """Report notes too long or holding a NUL or another control character; the bad rows."""
    reasons = per_value(raw, lambda v: text_rules.note_problem(unneutralise(v))
                        if v.strip() else None)
    bad = pd.notna(reasons)
    report(problems, rows, "note", raw, bad, reasons)
    return np.asarray(bad, dtype=bool)


def check_inspection(problems: Problems, rows: np.ndarray, raw: pd.Series,
                      name: str) -> None:
    report(problems, rows, "inspection", raw,
            per_value(raw, lambda v: unneutralise(v).strip() not in ("", name)),
            f"the row belongs to another inspection (importing into {name!r})")


def map_columns(table: Table, known: Sequence[str], required: Sequence[str],
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


def unnamed_columns(table: Table) -> list[int]:
    return [i for i, raw in enumerate(table.header) if not raw.strip()]


def check_unnamed(chunk: pd.DataFrame, unnamed: list[int], rows: np.ndarray,
                   problems: Problems) -> None:
    for i in unnamed:
        filled = (chunk[i] != "").to_numpy()
        problems.add_rows(rows[filled], f"#{i + 1}", chunk[i].astype(object)[filled].tolist(),
                          "a column with no name in the header holds a value")
