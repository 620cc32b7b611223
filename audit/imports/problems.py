"""Problems in a file, located as a spreadsheet user sees them (the header is row 1).

Errors are kept in row order; only the first `MAX_SHOWN` become objects, the rest are
counted, so a 4,000,000-row file full of mistakes costs no more memory than a clean one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.errors import AuditError
from audit.text_rules import visible

MAX_SHOWN = 50
KEPT_CHARS = 200  # of a bad cell's value: a 50 MB note is not kept 50 times over


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
        value = f" value '{shown(self.value)}':" if self.value is not None else ""
        return f"{where}:{column}{value} {self.reason}"


def shown(value: str, limit: int = 60) -> str:
    """A cell's value in a message: control and invisible characters as escapes, cut."""
    return visible(value, limit)


class Problems:
    """The errors of one file: the first MAX_SHOWN (by row) kept, the rest counted."""

    def __init__(self, label: str, limit: int = MAX_SHOWN) -> None:
        self.label = label
        self.limit = limit
        self.count = 0
        self._kept: list[RowError] = []

    def add(self, row: int, column: str | None, value: str | None, reason: str) -> None:
        self.count += 1
        self._kept.append(RowError(row, column,
                                   None if value is None else value[:KEPT_CHARS], reason))
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
                                       None if value is None else str(value)[:KEPT_CHARS],
                                       str(reason)))
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


class FileProblem(AuditError):
    """A file that cannot be read as a table at all."""
