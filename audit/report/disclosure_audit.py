"""The disclosure auditor: what an attacker can work out about each suppressed number.

For every suppressed or unprinted count of a table it solves two linear programs
(`scipy.optimize.linprog`, HiGHS): the least and the greatest value consistent with
everything the table publishes. The counts are relaxed from non-negative integers to
non-negative reals, which can only widen a range, so a range found too narrow is truly
too narrow; a range found wide enough is wide for the relaxation (the usual audit of
statistical disclosure control, as in tau-argus).

What the attacker knows (``Structure`` of the table):

- every printed count, exactly, or within half the rounding step when counts are rounded;
- every declared sum: the parts add up to the total (a cell, or a number stated elsewhere);
- every printed percentage: 100 * count = pct * base (under rounding, the percentage is of
  the rounded counts, so it gives the count within half a step);
- a count a note calls "fewer than T" lies from 1 to T - 1.

Protection (documented on the methods page):

- a small count (1 to T - 1) shown as *, or never printed, must keep a range at least T
  wide (max - min >= T): the published numbers must not even tell it is small;
- a count a note calls "fewer than T" must keep the whole range 1 to T - 1;
- a count suppressed only to protect another (secondary) must not be exact (range >= 1).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linprog

from audit.report.disclosure_rule import DisclosureRule
from audit.report.model import CellRef, ReportTable, Share, Structure

PRIMARY = "primary"
SECONDARY = "secondary"
NOTE = "note"  # a count a note gives as "fewer than T"

_TOL = 1e-6
_DUAL_TOL = 1e-9

# Linear programs solved, by their data: the same program comes back often (the
# complementary search audits each part again after a cut; the ratings annex's two tables
# share one structure; the final audit repeats the search's last check of a table that is
# one part), and HiGHS gives the same answer to the same program, so it is solved once.
_SOLVED: dict[tuple[bytes, int, float], Any] = {}
_SOLVED_MAX = 4096
_SOLVED_LOCK = threading.Lock()


@dataclass(frozen=True)
class CellRange:
    """What the published numbers allow for one protected count."""

    cell: CellRef
    value: float
    low: float
    high: float
    status: str  # primary, secondary, note, or "hidden" (a small count never printed)
    required: str  # the protection asked of it, in words
    protected: bool


@dataclass(frozen=True)
class TableAudit:
    """The auditor's verdict on one published table."""

    table_id: str
    ranges: tuple[CellRange, ...]
    problems: tuple[str, ...]  # small counts printed, derived cells left printed

    @property
    def derivable(self) -> tuple[CellRange, ...]:
        """The protected counts whose range is too narrow."""
        return tuple(r for r in self.ranges if not r.protected)

    @property
    def safe(self) -> bool:
        """Whether nothing suppressed can be worked out and nothing small is printed."""
        return not self.derivable and not self.problems


def is_printed(table: ReportTable, cell: CellRef) -> bool:
    """Whether the cell is a column of the table (a printed cell), not a hidden key."""
    return any(c.id == cell.key for c in table.columns)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class AttackModel:
    """The linear constraints an attacker can write from one table's published numbers."""

    def __init__(self, table: ReportTable, hidden: Mapping[CellRef, str],
                 rule: DisclosureRule, part: set[CellRef] | None = None) -> None:
        """``hidden``: the printed cells and note counts not published (cell -> mark);
        ``part``: only the sums and percentages among these cells (a closed part)."""
        self.table = table
        structure = table.structure
        if part is not None:
            structure = Structure(
                tuple(s for s in structure.sums if set(s.parts) <= part),
                tuple(sh for sh in structure.shares if sh.pct in part),
                tuple(nc for nc in structure.note_counts if nc.cell in part),
                tuple(b for b in structure.base_cells if b[1] in part))
        self.cells = sorted(structure.count_cells(), key=lambda c: (c.row, c.key))
        self.index = {c: i for i, c in enumerate(self.cells)}
        n = len(self.cells)
        notes = {nc.cell for nc in structure.note_counts if not is_printed(table, nc.cell)}
        lower = np.zeros(n)
        upper = np.full(n, np.inf)
        slack = rule.rounding_slack
        for cell, i in self.index.items():
            value = _number(table.value(cell))
            if cell in notes:
                if hidden.get(cell) == NOTE:
                    lower[i], upper[i] = 1.0, float(rule.threshold - 1)
                elif cell in hidden:
                    pass  # left out of its note: nothing is said of it
                elif value is not None:
                    lower[i] = upper[i] = value
            elif is_printed(table, cell) and cell not in hidden and value is not None:
                shown = float(rule.rounded(value)) if slack else value
                lower[i], upper[i] = max(0.0, shown - slack), shown + slack
        rows: list[np.ndarray] = []
        lo: list[float] = []
        hi: list[float] = []
        self.slack = slack
        self.share_rows: dict[int, CellRef] = {}  # row of `matrix` -> its percentage cell
        for s in structure.sums:
            row = np.zeros(n)
            for term in s.parts:
                row[self.index[term]] += 1.0
            constant = 0.0
            if isinstance(s.total, CellRef):
                row[self.index[s.total]] -= 1.0
            else:
                constant = float(s.total)
            rows.append(row)
            lo.append(constant)
            hi.append(constant)
        for sh in structure.shares:
            pct = _number(table.value(sh.pct))
            if pct is None or sh.pct in hidden:
                continue
            i = self.index[sh.count]
            if slack:
                self._rounded_share(sh, hidden, rule, lower, upper)
                continue
            row = np.zeros(n)
            row[i] += 100.0
            constant = 0.0
            if isinstance(sh.base, CellRef):
                row[self.index[sh.base]] -= pct
            else:
                constant = pct * sh.base
            self.share_rows[len(rows)] = sh.pct
            rows.append(row)
            lo.append(constant - _TOL * max(1.0, abs(constant)))
            hi.append(constant + _TOL * max(1.0, abs(constant)))
        self.lower, self.upper = lower, upper
        self.matrix = np.array(rows) if rows else np.zeros((0, n))
        self.lo, self.hi = np.array(lo), np.array(hi)
        # What the programs of this model are made of, exactly (the key of `_SOLVED`).
        digest = hashlib.blake2b(np.array(self.matrix.shape, dtype=np.int64).tobytes())
        for array in (self.matrix, self.lo, self.hi, self.lower, self.upper):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        self.fingerprint = digest.digest()

    def _known(self, cell: CellRef | int, hidden: Mapping[CellRef, str]) -> bool:
        return not isinstance(cell, CellRef) or (
            cell not in hidden and (is_printed(self.table, cell) or any(
                nc.cell == cell for nc in self.table.structure.note_counts)))

    def _rounded_share(self, sh: Share, hidden: Mapping[CellRef, str], rule: DisclosureRule,
                       lower: np.ndarray, upper: np.ndarray) -> None:
        """What a percentage of rounded counts tells: with its count or its base known,
        the other one's rounded value, so each within half a step of its rounding."""
        if not (self._known(sh.count, hidden) or self._known(sh.base, hidden)):
            return  # a ratio of two unknown rounded counts: not modelled (a bound only)
        slack = rule.rounding_slack
        count = _number(self.table.value(sh.count)) or 0.0
        ends = [(sh.count, float(rule.rounded(count)))]
        if isinstance(sh.base, CellRef) and rule.rounded(count) > 0:
            base = _number(self.table.value(sh.base)) or 0.0
            ends.append((sh.base, float(rule.rounded(base))))
        for cell, shown in ends:
            i = self.index[cell]
            lower[i] = max(lower[i], shown - slack)
            upper[i] = min(upper[i], shown + slack)

    def range_of(self, cell: CellRef) -> tuple[float, float]:
        """The least and greatest value of ``cell`` the published numbers allow."""
        low, high, _ = self.range_and_support(cell)
        return low, high

    def range_and_support(self, cell: CellRef
                          ) -> tuple[float, float, frozenset[CellRef] | None]:
        """The range of ``cell``, and the published cells its two ends rest on.

        The support is read off the linear programs' duals: a published count with a
        non-zero reduced cost, or a percentage whose equation has a non-zero dual. Hiding
        any other cells leaves both duals feasible and their bounds unchanged, so a pattern
        that hides none of the support cannot widen the range (complementary suppression
        cuts with it). None when unknown: rounded counts (their percentages tighten bounds,
        not equations), or a solver that gave no duals.
        """
        i = self.index[cell]
        n = len(self.cells)
        bounds = list(zip(self.lower, [None if np.isinf(u) else u for u in self.upper],
                          strict=True))
        m = len(self.matrix)
        a_ub = np.vstack([self.matrix, -self.matrix]) if m else None
        b_ub = np.concatenate([self.hi, -self.lo]) if m else None
        ends = []
        support: set[CellRef] | None = None if self.slack else set()
        fixed = self.lower == self.upper
        for sign in (1.0, -1.0):
            objective = np.zeros(n)
            objective[i] = sign
            key = (self.fingerprint, i, sign)
            with _SOLVED_LOCK:
                result = _SOLVED.get(key)
            if result is None:
                result = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=bounds,
                                 method="highs")
                with _SOLVED_LOCK:
                    if len(_SOLVED) >= _SOLVED_MAX:
                        _SOLVED.clear()
                    _SOLVED[key] = result
            if result.status == 3:  # unbounded above
                ends.append(np.inf if sign < 0 else 0.0)
                continue
            if result.status != 0:
                raise RuntimeError(f"disclosure audit of {self.table.id}: the published "
                                   f"numbers are inconsistent ({result.message})")
            ends.append(sign * result.fun)
            if support is not None:
                support = self._support(result, fixed, m, support)
        return ends[0], ends[1], None if support is None else frozenset(support)

    def _support(self, result: Any, fixed: np.ndarray, m: int,
                 support: set[CellRef]) -> set[CellRef] | None:
        try:
            reduced = np.abs(result.lower.marginals) + np.abs(result.upper.marginals)
            duals = np.abs(result.ineqlin.marginals) if m else np.zeros(0)
        except AttributeError:
            return None
        support |= {self.cells[j] for j in np.flatnonzero(fixed & (reduced > _DUAL_TOL))}
        for row, pct in self.share_rows.items():
            if duals[row] > _DUAL_TOL or duals[m + row] > _DUAL_TOL:
                support.add(pct)
        return support


def requirement(status: str, rule: DisclosureRule) -> tuple[str, float]:
    """The protection asked of a count (words, and the least width accepted)."""
    if status == NOTE:
        return f"the whole range 1 to {rule.threshold - 1}", float(rule.threshold - 2)
    if status == SECONDARY:
        return "not exact (range at least 1)", 1.0
    return f"range at least {rule.threshold} wide", float(rule.threshold)


def check_ranges(model: AttackModel, targets: Iterable[tuple[CellRef, str]],
                 rule: DisclosureRule) -> list[CellRange]:
    """The range of each (cell, status) target and whether it is protected."""
    return [r for r, _ in check_ranges_with_support(model, targets, rule)]


def check_ranges_with_support(model: AttackModel, targets: Iterable[tuple[CellRef, str]],
                              rule: DisclosureRule
                              ) -> list[tuple[CellRange, frozenset[CellRef] | None]]:
    """`check_ranges`, each range with the published cells it rests on
    (`AttackModel.range_and_support`)."""
    out = []
    for cell, status in targets:
        low, high, support = model.range_and_support(cell)
        words, width = requirement(status, rule)
        if status == NOTE:
            ok = low <= 1.0 + _TOL and high >= rule.threshold - 1 - _TOL
        else:
            ok = high - low >= width - _TOL
        out.append((CellRange(cell, _number(model.table.value(cell)) or 0.0, low, high,
                              status, words, ok), support))
    return out


def protected_targets(table: ReportTable, marks: Mapping[CellRef, str],
                      rule: DisclosureRule) -> list[tuple[CellRef, str]]:
    """The counts the auditor must check: small ones (printed or not), and secondaries."""
    targets = []
    for cell in sorted(table.structure.count_cells(), key=lambda c: (c.row, c.key)):
        if rule.is_small(table.value(cell)):
            status = marks.get(cell, "hidden")
            targets.append((cell, PRIMARY if status == SECONDARY else status))
        elif marks.get(cell) == SECONDARY:
            targets.append((cell, SECONDARY))
    return targets


def audit_table(table: ReportTable, marks: Mapping[CellRef, str],
                rule: DisclosureRule) -> TableAudit:
    """Audit one table as published: ``table`` holds the raw values, ``marks`` the cells
    (and note counts) that were not published, each ``primary`` or ``secondary``."""
    problems: list[str] = []
    if not rule.active:
        return TableAudit(table.id, (), ())
    for index, row in enumerate(table.rows):
        for column in table.columns:
            cell = CellRef(index, column.id)
            if (column.suppressible and column.kind == "count" and cell not in marks
                    and rule.is_small(row.get(column.id))):
                problems.append(f"row {index} {column.id}: {row.get(column.id)} printed")
            hidden_sources = [f for f in column.follows if CellRef(index, f) in marks]
            if hidden_sources and cell not in marks and row.get(column.id) is not None:
                problems.append(f"row {index} {column.id}: printed though "
                                f"{', '.join(hidden_sources)} is suppressed")
            if (column.count_of and CellRef(index, column.count_of) in marks
                    and cell not in marks and row.get(column.id) is not None):
                problems.append(f"row {index} {column.id}: a percentage of a suppressed count")
    for sh in table.structure.shares:
        if sh.pct in marks:
            continue
        base = table.value(sh.base) if isinstance(sh.base, CellRef) else sh.base
        if rule.is_small(base) and table.value(sh.pct) is not None:
            problems.append(f"row {sh.pct.row} {sh.pct.key}: a percentage of {base} cases")
    model = AttackModel(table, marks, rule)
    ranges = check_ranges(model, protected_targets(table, marks, rule), rule)
    return TableAudit(table.id, tuple(ranges), tuple(problems))
