"""The case list's table: it holds one page of rows and asks for the next or previous."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from audit.views.caselist import CaseRow
from question_sets.profile import CASE_STATUS

IOM_TEXT = {True: "IOM", False: "Not IOM", None: "Unknown"}
MARK = "● "  # before the ref of a case marked for allocation


class CaseTable(DataTable[str | Text]):
    """A DataTable of one page of cases; paging keys post `PageRequested`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("pagedown,right_square_bracket", "page(1)", "Next page", id="cases.next_page"),
        Binding("pageup,left_square_bracket", "page(-1)", "Previous page",
                id="cases.previous_page", show=False),
    ]

    @dataclass
    class PageRequested(Message):
        step: int
        cursor: str  # "top" or "bottom": where the cursor lands on the new page

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, name=name, id=id,
                         classes=classes, disabled=disabled)
        self.case_ids: list[int] = []
        self.marked: set[int] = set()  # cases marked (a lead allocates them at once)
        self._rows: list[CaseRow] = []

    def on_mount(self) -> None:
        self.add_column("Case ref", width=18, key="case_ref")
        self.add_column("Site", width=22, key="site")
        self.add_column("IOM", width=8, key="iom")
        self.add_column("Status", width=12, key="status")
        self.add_column("Updated (UTC)", width=16, key="updated")
        self.add_column("Inspection", width=18, key="inspection")

    def show_rows(self, rows: list[CaseRow], cursor: str = "top") -> None:
        """Replace the page shown. The allocation column is there while a row of the page
        is allocated (an inspection that allocates nothing keeps the list as it was)."""
        self.clear()
        self._rows = list(rows)
        self.case_ids = [r.id for r in rows]
        allocated = any(r.allocated_to for r in rows)
        if allocated and "allocated" not in self.columns:
            self.add_column("Allocated to (due)", width=30, key="allocated")
        elif not allocated and "allocated" in self.columns:
            self.remove_column("allocated")
        for r in rows:
            updated = r.updated_at.strftime("%Y-%m-%d %H:%M") if r.updated_at else ""
            # Text, not str: a DataTable reads str cells as markup, and refs and site names
            # are what people typed.
            cells: list[str | Text] = [
                self._ref(r), Text(r.site or ""), IOM_TEXT[r.iom],
                CASE_STATUS.get(r.status, r.status), updated, Text(r.inspection)]
            if allocated:
                due = f" ({r.due_date.isoformat()})" if r.due_date else ""
                cells.append(Text(f"{r.allocated_to}{due}" if r.allocated_to else ""))
            self.add_row(*cells, key=str(r.id))
        if rows:
            self.move_cursor(row=len(rows) - 1 if cursor == "bottom" else 0)

    def _ref(self, row: CaseRow) -> Text:
        return Text(MARK + row.case_ref, style="bold") if row.id in self.marked \
            else Text(row.case_ref)

    def allocated_to(self, case_id: int) -> str | None:
        """Who a case of this page is allocated to (None: no one, or not on the page)."""
        if case_id not in self.case_ids:
            return None
        return self._rows[self.case_ids.index(case_id)].allocated_to

    def toggle_mark(self) -> int | None:
        """Mark or unmark the case under the cursor; its id."""
        case_id = self.selected_case
        if case_id is None:
            return None
        self.marked ^= {case_id}
        row = self._rows[self.case_ids.index(case_id)]
        self.update_cell(str(case_id), "case_ref", self._ref(row))
        return case_id

    def clear_marks(self) -> None:
        for case_id in list(self.marked):
            self.marked.discard(case_id)
            if case_id in self.case_ids:
                row = self._rows[self.case_ids.index(case_id)]
                self.update_cell(str(case_id), "case_ref", self._ref(row))

    @property
    def selected_case(self) -> int | None:
        if not self.case_ids or self.cursor_row < 0:
            return None
        return self.case_ids[min(self.cursor_row, len(self.case_ids) - 1)]

    def action_page(self, step: int) -> None:
        self.post_message(self.PageRequested(step, "top"))

    def action_cursor_down(self) -> None:
        # At the bottom of the page, going down goes on to the next page.
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.PageRequested(1, "top"))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.row_count and self.cursor_row <= 0:
            self.post_message(self.PageRequested(-1, "bottom"))
            return
        super().action_cursor_up()
