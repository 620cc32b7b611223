"""The allocation columns of a case file: `allocated_to` and `due_date`.

Optional columns, checked as `audit.allocation` checks the command line and the app:
`allocated_to` names a registered inspector or lead (full name, or initials no one else
has), `due_date` is YYYY-MM-DD. An empty cell keeps what the case has (allocation is
cleared with `iom-audit allocate --clear`, never by a blank cell). A row that changes a
case's allocation or due date needs the lead role, as the file's other lead-only moves
do; a due date needs the case to be allocated (in the file or already); a locked case is
not allocated. Allocation is not case data: it leaves the case's version alone and is
written after the file's cases, each change with its trail event (`allocation.apply`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit import allocation, lifecycle
from audit.cell_safety import unneutralise
from audit.imports.cells import name_cell, parse_unique, per_value, report
from audit.imports.independence import RaterRows
from audit.imports.problems import Problems
from audit.permissions import refusal
from audit.store.models import Case, table_of

ALLOCATION_COLUMNS = ("allocated_to", "due_date")


@dataclass(frozen=True)
class _Row:
    row: int
    case_ref: str
    person: int | None  # the file's person (None: the cell is empty)
    person_cell: str | None
    due: date | None
    due_cell: str | None


class FileAllocations:
    """The allocation cells of one case file, read chunk by chunk, then checked at once."""

    def __init__(self, conn: sa.Connection, positions: dict[str, int]) -> None:
        self.conn = conn
        self.positions = {c: positions[c] for c in ALLOCATION_COLUMNS if c in positions}
        self._people: dict[str, int] = {}
        self._rows: list[_Row] = []
        self._plan: list[tuple[str, int | None, date | None, bool]] = []

    def __bool__(self) -> bool:
        return bool(self.positions)

    def read(self, chunk: pd.DataFrame, rows: np.ndarray, refs: pd.Series,
             problems: Problems) -> None:
        """Parse a chunk's allocation cells (`refs`: its parsed case refs)."""
        if not self.positions:
            return
        people: np.ndarray = np.full(len(chunk), None, dtype=object)
        dues: np.ndarray = np.full(len(chunk), None, dtype=object)
        raws: dict[str, np.ndarray] = {}
        if "allocated_to" in self.positions:
            cells = chunk[self.positions["allocated_to"]]
            raws["allocated_to"] = per_value(cells, unneutralise)
            people, reasons = parse_unique(cells, self._person)
            report(problems, rows, "allocated_to", raws["allocated_to"], pd.notna(reasons),
                   reasons)
        if "due_date" in self.positions:
            cells = chunk[self.positions["due_date"]]
            raws["due_date"] = per_value(cells, unneutralise)
            dues, reasons = parse_unique(cells, _due)
            report(problems, rows, "due_date", raws["due_date"], pd.notna(reasons), reasons)
        given = np.flatnonzero(pd.notna(people) | pd.notna(dues))
        ref_values = refs.to_numpy(dtype=object)
        for i in given.tolist():
            self._rows.append(_Row(
                int(rows[i]), str(ref_values[i]), people[i],
                raws["allocated_to"][i] if "allocated_to" in raws else None, dues[i],
                raws["due_date"][i] if "due_date" in raws else None))

    def _person(self, cell: str) -> int | None:
        text = name_cell(cell)
        if not text:
            return None
        if text not in self._people:
            person, reason = allocation.person_problem(self.conn, text)
            if person is None:
                raise ValueError(reason)
            self._people[text] = person.id
        return self._people[text]

    def check(self, inspection_id: int, statuses: dict[str, str], name: str, role: str,
              problems: Problems) -> None:
        """Refuse rows that change an allocation without the lead role, give a due date to
        an unallocated case or allocate a locked one. `statuses`: case_ref -> the status
        the case has once the file's status column is applied (absent: a new case)."""
        if not self._rows:
            return
        stored = _stored(self.conn, inspection_id)
        refused = refusal(name, role, "allocate")
        for r in self._rows:
            had_person, had_due = stored.get(r.case_ref, (None, None))
            person = r.person if r.person is not None else had_person
            moves = r.person is not None and r.person != had_person
            redates = r.due is not None and r.due != had_due
            if not (moves or redates):
                continue
            column, cell = (("allocated_to", r.person_cell) if moves
                            else ("due_date", r.due_cell))
            if refused:
                problems.add(r.row, column, cell, refused)
            elif person is None:
                problems.add(r.row, "due_date", r.due_cell,
                             allocation.due_needs_allocation(r.case_ref))
            elif statuses.get(r.case_ref) == lifecycle.LOCKED:
                problems.add(r.row, column, cell,
                             allocation.locked_allocation_refusal([r.case_ref]))
            else:
                self._plan.append((r.case_ref, person, r.due, r.due is not None))

    def apply(self, inspection_id: int, ids: dict[str, int], who: str) -> int:
        """Write the checked changes (once the file's cases are stored); cases changed."""
        plan = [allocation.Planned(ids[ref], person, due, set_due)
                for ref, person, due, set_due in self._plan]
        return allocation.apply(self.conn, inspection_id, plan, who)[0]


def _due(cell: str) -> date | None:
    text = unneutralise(cell).strip()
    return allocation.parse_due(text) if text else None


def _stored(conn: sa.Connection, inspection_id: int) -> dict[str, tuple[Any, Any]]:
    case = table_of(Case).c
    rows = conn.execute(sa.select(case.case_ref, case.allocated_to, case.due_date)
                        .where(case.inspection_id == inspection_id))
    return {str(ref): (person, due) for ref, person, due in rows}


def refuse_unallocated_raters(conn: sa.Connection, inspection_id: int, seen: RaterRows,
                              refs: dict[int, str], problems: Problems) -> None:
    """A ratings file's primary rows on a case allocated to someone: refused unless they
    name that person, as the app refuses anyone else (`allocation.primary_refusal`)."""
    found = seen.triples()
    primary = found[found["rater"] == "primary"]
    if primary.empty:
        return
    allocated = allocation.allocated_names(conn, inspection_id)
    if not allocated:
        return
    for case_id, _, name, row in primary.itertuples(index=False):
        owner = allocated.get(int(case_id))
        if owner is not None and owner != name:
            ref = refs[int(case_id)]
            problems.add(int(row), "inspector", str(name),
                         allocation.file_refusal(ref, owner, str(name)))



def refuse_others_cases(conn: sa.Connection, inspection_id: int, frame: pd.DataFrame,
                        who: str, problems: Problems) -> None:
    """A case file's rows that change the profile of, start, complete or reopen a case
    allocated to someone else than `who`: refused as the app refuses them
    (`allocation.primary_refusal`), judged on the allocation stored before the file.
    `frame`: case_ref, row, status (the file's cell or None), stored_status, changes."""
    case = table_of(Case).c
    owners = {str(r): int(p) for r, p in conn.execute(
        sa.select(case.case_ref, case.allocated_to).where(
            case.inspection_id == inspection_id, case.allocated_to.is_not(None)))}
    if not owners:
        return
    for ref, row, asked, stored, changes in frame[
            ["case_ref", "row", "status", "stored_status", "changes"]].itertuples(index=False):
        if str(ref) not in owners:
            continue
        moves = (isinstance(asked, str) and asked != stored and isinstance(stored, str)
                 and lifecycle.status_action(stored, asked) == "complete")
        if not (changes == 1 or moves):
            continue
        refused = allocation.primary_refusal(conn, who, str(ref), owners[str(ref)])
        if refused:
            problems.add(int(row), "case_ref", str(ref), refused)
