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

    def on_mount(self) -> None:
        self.add_column("Case ref", width=18, key="case_ref")
        self.add_column("Site", width=22, key="site")
        self.add_column("IOM", width=8, key="iom")
        self.add_column("Status", width=12, key="status")
        self.add_column("Updated (UTC)", width=16, key="updated")
        self.add_column("Inspection", width=18, key="inspection")

    def show_rows(self, rows: list[CaseRow], cursor: str = "top") -> None:
        """Replace the page shown."""
        self.clear()
        self.case_ids = [r.id for r in rows]
        for r in rows:
            updated = r.updated_at.strftime("%Y-%m-%d %H:%M") if r.updated_at else ""
            # Text, not str: a DataTable reads str cells as markup, and refs and site names
            # are what people typed.
            self.add_row(Text(r.case_ref), Text(r.site or ""), IOM_TEXT[r.iom],
                         CASE_STATUS.get(r.status, r.status), updated, Text(r.inspection),
                         key=str(r.id))
        if rows:
            self.move_cursor(row=len(rows) - 1 if cursor == "bottom" else 0)

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
