"""Case list: filter, search and sort the sample, one page at a time, and open a case."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Header, Input, Select, Static

from audit import allocation
from audit.errors import AuditError
from audit.formatting import format_count
from audit.views.caselist import (
    IOM_FILTERS,
    SORT_KEYS,
    CaseFilter,
    CasePage,
    Choice,
    inspectors,
    list_cases,
    sites,
)
from question_sets.profile import CASE_STATUS
from tui.screens.allocate import AllocateModal, AllocationChoice
from tui.screens.base import IomScreen
from tui.widgets.case_table import CaseTable
from tui.widgets.key_footer import KeyFooter

PAGE_SIZE = 50


@dataclass
class PageLoaded(Message):
    page: CasePage
    cursor: str


@dataclass
class ChoicesLoaded(Message):
    sites: list[Choice]
    inspectors: list[str]


class CaseListScreen(IomScreen):
    """The cases of the inspection, filtered and sorted; never more than a page in memory."""

    PALETTE_GROUP = "Case list"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="cases.open"),
        Binding("slash", "search", "Search", id="cases.search"),
        Binding("s", "cycle_sort", "Sort", id="cases.sort"),
        Binding("r", "reverse", "Reverse", id="cases.reverse"),
        Binding("f", "filters", "Filters", id="cases.filters"),
        Binding("Q", "open_qa", "Blind QA", id="cases.qa"),
        Binding("D", "disagreements", "Disagreements", id="cases.disagreements"),
        # A lead's: shown only to those who may allocate (the use case checks again).
        Binding("space", "mark", "Mark", id="cases.mark"),
        Binding("A", "allocate", "Allocate", id="cases.allocate"),
        Binding("escape", "back", "Back", id="cases.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = CaseFilter()
        self.page_offset = 0
        self.total = 0
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder="/ case ref (prefix; *text anywhere)", id="search",
                        compact=True)
            yield Select([], prompt="Any site", id="site", compact=True)
            yield Select([(label, code) for code, label in IOM_FILTERS.items()],
                         prompt="IOM or not", id="iom", compact=True)
            yield Select([(label, code) for code, label in CASE_STATUS.items()],
                         prompt="Any status", id="status", compact=True)
            yield Select([], prompt="Any inspector", id="inspector", compact=True)
            yield Select([(label, key) for key, label in SORT_KEYS.items()], value="case_ref",
                         allow_blank=False, id="sort", compact=True)
        yield CaseTable(id="cases")
        yield Static("", id="cases-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "Cases"
        self.filter = CaseFilter(inspection_id=self.ws.inspection_id)
        self.load_choices()
        self.load_page(0)
        self.query_one(CaseTable).focus()

    def on_screen_resume(self) -> None:
        # Back from a case: its status may have changed.
        self.load_page(self.page_offset, self.query_one(CaseTable).cursor_row)

    # -- loading (thread workers post typed messages; widgets change on the UI thread) --

    @work(thread=True, exclusive=True, exit_on_error=False, group="caselist",
          description="Loading cases")
    def load_page(self, offset: int, cursor: str | int = "top") -> None:
        page = list_cases(self.ws.db, self.filter, actor=self.ws.actor, offset=offset,
                          limit=PAGE_SIZE)
        self.post_message(PageLoaded(page, str(cursor)))

    @work(thread=True, exit_on_error=False, group="choices", description="Loading filters")
    def load_choices(self) -> None:
        self.post_message(ChoicesLoaded(sites(self.ws.db, self.ws.inspection_id),
                                        inspectors(self.ws.db)))

    @on(ChoicesLoaded)
    def show_choices(self, message: ChoicesLoaded) -> None:
        with self.prevent(Select.Changed):
            self.query_one("#site", Select).set_options(
                [(s.name, s.id) for s in message.sites])
            self.query_one("#inspector", Select).set_options(
                [(n, n) for n in message.inspectors])

    @on(PageLoaded)
    def show_page(self, message: PageLoaded) -> None:
        page = message.page
        table = self.query_one(CaseTable)
        self.page_offset, self.total = page.offset, page.total
        cursor = message.cursor
        table.show_rows(page.rows, "bottom" if cursor == "bottom" else "top")
        if cursor.isdigit() and page.rows:
            table.move_cursor(row=min(int(cursor), len(page.rows) - 1))
        first = page.offset + 1 if page.rows else 0
        pages = max(1, -(-page.total // PAGE_SIZE))
        sort = SORT_KEYS[self.filter.sort] + (" ↓" if self.filter.descending else " ↑")
        self.query_one("#cases-status", Static).update(
            f"Cases {format_count(first)}–{format_count(page.offset + len(page.rows))} of "
            f"{format_count(page.total)} · page {format_count(page.offset // PAGE_SIZE + 1)}/"
            f"{format_count(pages)} · sorted by {sort}")

    @on(CaseTable.PageRequested)
    def change_page(self, message: CaseTable.PageRequested) -> None:
        offset = self.page_offset + message.step * PAGE_SIZE
        if offset < 0 or offset >= self.total:
            return  # already on the first or last page
        self.load_page(offset, message.cursor)

    # -- filters -------------------------------------------------------------------------

    def _apply(self, **changes: Any) -> None:
        # Any: the values come from Select widgets, whose values are untyped.
        self.filter = replace(self.filter, **changes)
        self.load_page(0)

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else event.value
        key = event.select.id
        if key == "sort":
            self._apply(sort=value or "case_ref")
        elif key == "site":
            self._apply(site_id=value)
        elif key in {"iom", "status", "inspector"}:
            self._apply(**{key: value})

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        # Debounced: a query per keystroke would be wasted while typing.
        if self._search_timer is not None:
            self._search_timer.stop()
        text = event.value
        self._search_timer = self.set_timer(0.25, lambda: self._apply(search=text))

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._apply(search=event.value)
        self.query_one(CaseTable).focus()

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"mark", "allocate"} and not self.ws.may("allocate"):
            return False
        if action in {"open", "cycle_sort", "reverse", "open_qa", "disagreements", "mark",
                      "allocate"}:
            # While typing in the search box, letters are text.
            return not isinstance(self.focused, Input)
        return True

    def action_open(self) -> None:
        case_id = self.query_one(CaseTable).selected_case
        if case_id is not None:
            self.iom_app.open_case(case_id)

    def action_open_qa(self) -> None:
        case_id = self.query_one(CaseTable).selected_case
        if case_id is not None:
            self.iom_app.open_case(case_id, rater="qa")

    def action_disagreements(self) -> None:
        case_id = self.query_one(CaseTable).selected_case
        if case_id is not None:
            self.iom_app.open_disagreements(case_id)

    def action_mark(self) -> None:
        table = self.query_one(CaseTable)
        if table.toggle_mark() is not None:
            self.show_marks()
            table.action_cursor_down()

    def show_marks(self) -> None:
        marked = len(self.query_one(CaseTable).marked)
        self.sub_title = (f"Cases · {format_count(marked)} marked (A allocates them)"
                          if marked else "Cases")

    def action_allocate(self) -> None:
        """Allocate the marked cases (or the one under the cursor) to someone."""
        table = self.query_one(CaseTable)
        ids = sorted(table.marked) or ([table.selected_case]
                                       if table.selected_case is not None else [])
        if not ids:
            return
        current = table.allocated_to(ids[0]) if len(ids) == 1 else None
        people = allocation.people_who_rate(self.ws.db)

        def decided(choice: AllocationChoice | None) -> None:
            if choice is not None:
                self.allocate(ids, choice)

        self.app.push_screen(AllocateModal(len(ids), people, current), decided)

    def allocate(self, ids: list[int], choice: AllocationChoice) -> None:
        ws = self.ws
        try:
            if choice.to is None:
                result = allocation.unallocate_ids(ws.db, ws.inspection_id, ids,
                                                   actor=ws.actor)
            else:
                result = allocation.allocate_ids(ws.db, ws.inspection_id, ids, to=choice.to,
                                                 due=choice.due, actor=ws.actor)
        except AuditError as exc:
            self.notify(str(exc), title="Not allocated", severity="error")
            return
        due = f", due {result.due.isoformat()}" if result.due else ""
        whom = f"to {result.to}{due}" if result.to else "to no one"
        self.notify(f"{format_count(result.cases)} case(s) allocated {whom} "
                    f"({format_count(result.changed)} changed).", title="Allocated")
        self.query_one(CaseTable).clear_marks()
        self.show_marks()
        self.load_page(self.page_offset, self.query_one(CaseTable).cursor_row)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_filters(self) -> None:
        self.query_one("#site", Select).focus()

    def action_cycle_sort(self) -> None:
        keys = list(SORT_KEYS)
        following = keys[(keys.index(self.filter.sort) + 1) % len(keys)]
        self.query_one("#sort", Select).value = following  # its Changed reloads

    def action_reverse(self) -> None:
        self._apply(descending=not self.filter.descending)

    def action_back(self) -> None:
        self.app.pop_screen()  # one escape leaves, from the table or a filter

    @on(CaseTable.RowSelected)
    def row_selected(self, event: CaseTable.RowSelected) -> None:
        self.action_open()


