"""Complementary (secondary) suppression: the fewest extra cells that protect the small ones.

An integer program (`scipy.optimize.milp`, HiGHS) chooses which printed cells to hide:
one binary per printed cell of the table's structure, the primary cells fixed at 1, a
percentage hidden whenever its printed count is (a percentage may go alone: of a base
that must not be known, the counts can stay), and the fewest cells hidden (ties broken
towards small counts). Protection itself is the auditor's (`disclosure_audit`): each
solution is attacked by linear programming, and a pattern that leaves some small count
too narrow a range is cut off with the constraint "hide at least one more cell of this
part of the table" (a no-good cut). Hiding more cells can only widen every range, so no
subset of a failed pattern protects either, and the first pattern the auditor accepts
is a smallest protecting pattern. Tables fall apart into independent parts (cells
linked by sums and percentages), solved one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from audit.report.disclosure_audit import (
    SECONDARY,
    AttackModel,
    CellRange,
    check_ranges_with_support,
    is_printed,
    protected_targets,
)
from audit.report.disclosure_rule import DisclosureRule
from audit.report.model import CellRef, ReportTable

MAX_ROUNDS = 5000


@dataclass(frozen=True)
class Pattern:
    """The secondary cells chosen, and how the search went."""

    secondary: frozenset[CellRef]
    rounds: int  # integer programs solved
    unprotectable: tuple[CellRef, ...]  # small counts no pattern could protect


def _components(table: ReportTable) -> list[set[CellRef]]:
    """Cells linked by a sum or a percentage, as independent parts of the table."""
    parent: dict[CellRef, CellRef] = {}

    def find(c: CellRef) -> CellRef:
        parent.setdefault(c, c)
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    def join(cells: list[CellRef]) -> None:
        for c in cells[1:]:
            parent[find(c)] = find(cells[0])
        if cells:
            find(cells[0])

    s = table.structure
    for total in s.sums:
        join([*total.parts, *([total.total] if isinstance(total.total, CellRef) else [])])
    for sh in s.shares:
        join([sh.pct, sh.count, *([sh.base] if isinstance(sh.base, CellRef) else [])])
    for nc in s.note_counts:
        join([nc.cell])
    groups: dict[CellRef, set[CellRef]] = {}
    for c in list(parent):
        groups.setdefault(find(c), set()).add(c)
    return list(groups.values())


def _candidates(table: ReportTable, part: set[CellRef]) -> list[CellRef]:
    """The printed numeric cells of one part (the cells the program may hide)."""
    notes = {nc.cell for nc in table.structure.note_counts if not is_printed(table, nc.cell)}
    return sorted((c for c in part if c not in notes and is_printed(table, c)
                   and isinstance(table.value(c), int | float)
                   and not isinstance(table.value(c), bool)),
                  key=lambda c: (c.row, c.key))


def _links(table: ReportTable, cells: list[CellRef]) -> list[tuple[CellRef, CellRef]]:
    """(percentage, count) pairs: the percentage is hidden whenever its count is."""
    present = set(cells)
    pairs = [(sh.pct, sh.count) for sh in table.structure.shares
             if sh.pct in present and sh.count in present]
    for c in cells:
        column = next((col for col in table.columns if col.id == c.key), None)
        if column is not None and column.count_of:
            other = CellRef(c.row, column.count_of)
            if other in present and (c, other) not in pairs:
                pairs.append((c, other))
    return pairs


def _necessary(table: ReportTable, targets: list[tuple[CellRef, str]],
               index: Mapping[CellRef, int]) -> list[np.ndarray]:
    """Covers every protecting pattern must meet, to start the search near the answer.

    A small count in a sum whose other terms are all printed (or stated) is given back
    by subtraction unless one of those terms is hidden; a printed percentage of an
    unprinted count with a printed base gives it back unless one of the two is hidden.
    """
    sensitive = {c for c, _ in targets}
    covers = []
    n = len(index)
    for s in table.structure.sums:
        terms = [*s.parts, *([s.total] if isinstance(s.total, CellRef) else [])]
        for k in sensitive & set(terms):
            others = [t for t in terms if t != k]
            if others and all(t in index for t in others):
                row = np.zeros(n)
                row[[index[t] for t in others]] = 1.0
                covers.append(row)
    for sh in table.structure.shares:
        if sh.count in sensitive and sh.count not in index and sh.pct in index:
            row = np.zeros(n)
            row[index[sh.pct]] = 1.0
            if isinstance(sh.base, CellRef):
                if sh.base not in index:
                    continue
                row[index[sh.base]] = 1.0
            covers.append(row)
    return covers


def _weights(table: ReportTable, cells: list[CellRef]) -> np.ndarray:
    """One per cell, plus a tie-break below 1 in total that prefers small counts."""
    values = np.array([abs(float(table.value(c))) for c in cells])
    scale = float(values.sum()) + 1.0
    return 1.0 + values / scale / max(1, len(cells))


def _cuts(failed: list[tuple[CellRange, frozenset[CellRef] | None]], outside: list[int],
          cells: list[CellRef], index: Mapping[CellRef, int], n: int) -> list[np.ndarray]:
    """Constraints that cut off the failed pattern: "hide at least one more of these".

    Where the auditor names the published cells a too-narrow range rests on, one cut per
    such count over those cells alone: no pattern that leaves them all published can
    protect it, whatever else it hides. Otherwise (or when none of them may be hidden)
    the no-good cut over every published cell of the part, which is always valid.
    """
    candidates = set(cells)
    cuts = []
    for _, support in failed:
        if support is None:
            break
        chosen = [index[c] for c in support if c in candidates and index[c] in outside]
        if not chosen:
            break
        row = np.zeros(n)
        row[chosen] = 1.0
        cuts.append(row)
    else:
        return cuts
    row = np.zeros(n)
    row[outside] = 1.0
    return [row]


def _feasible(x: np.ndarray, rows: list[np.ndarray], lo: list[float]) -> bool:
    """Whether the 0/1 choice ``x`` meets every constraint row (row . x >= lo)."""
    return all(float(row @ x) >= bound for row, bound in zip(rows, lo, strict=True))


def complementary(table: ReportTable, primary: Mapping[CellRef, str],
                  rule: DisclosureRule) -> Pattern:
    """The secondary cells that, with ``primary`` (cell -> mark), protect every small count."""
    chosen: set[CellRef] = set()
    rounds = 0
    unprotectable: list[CellRef] = []
    all_targets = protected_targets(table, primary, rule)
    for part in _components(table):
        targets = [(c, s) for c, s in all_targets if c in part and s != SECONDARY]
        if not targets:
            continue
        cells = _candidates(table, part)
        index = {c: i for i, c in enumerate(cells)}
        n = len(cells)
        lower = np.array([1.0 if c in primary else 0.0 for c in cells])
        rows: list[np.ndarray] = []
        lo: list[float] = []
        for pct, count in _links(table, cells):
            row = np.zeros(n)
            row[index[pct]], row[index[count]] = 1.0, -1.0
            rows.append(row)
            lo.append(0.0)
        for cover in _necessary(table, targets, index):
            rows.append(cover)
            lo.append(1.0)
        weights = _weights(table, cells) if n else np.zeros(0)
        while True:
            rounds += 1
            if rounds > MAX_ROUNDS:
                raise RuntimeError(f"complementary suppression of {table.id} did not settle")
            if n and _feasible(lower, rows, lo):
                # The primary cells alone meet every constraint: with every weight
                # positive, that is the integer program's unique optimum, without it.
                hidden = {c for c in cells if lower[index[c]] > 0.5}
            elif n:
                constraints = []
                if rows:
                    constraints.append(LinearConstraint(np.array(rows), np.array(lo), np.inf))
                result = milp(weights, integrality=np.ones(n), bounds=Bounds(lower, 1.0),
                              constraints=constraints)
                if result.status != 0 or result.x is None:
                    hidden = set(cells)  # nothing protects: hide the whole part
                    unprotectable += [c for c, _ in targets]
                    chosen |= hidden - set(primary)
                    break
                hidden = {c for c in cells if result.x[index[c]] > 0.5}
            else:
                hidden = set()
            marks = {**primary, **{c: SECONDARY for c in hidden if c not in primary}}
            model = AttackModel(table, marks, rule, part)
            failed = [(r, support) for r, support in
                      check_ranges_with_support(model, targets, rule) if not r.protected]
            if not failed:
                chosen |= hidden - set(primary)
                break
            outside = [index[c] for c in cells if c not in hidden]
            if not outside:
                unprotectable += [c for c, _ in targets]
                chosen |= hidden - set(primary)
                break
            for cut in _cuts(failed, outside, cells, index, n):
                rows.append(cut)
                lo.append(1.0)
    return Pattern(frozenset(chosen), rounds, tuple(unprotectable))
