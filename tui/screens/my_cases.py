"""My cases: the cases allocated to me, by due date, with my progress and open queries.

An inspector with cases allocated starts here after choosing who is rating; a lead
opens it from the dashboard (c) or the command palette. `n` opens the next case to
rate (the first not signed off, by due date then ref), `enter` the one under the cursor,
both on the usual case screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Header, Static

from audit.formatting import format_count
from audit.views.my_cases import MyCase, MyCases, my_cases
from question_sets.profile import CASE_STATUS
from tui.screens.base import IomScreen
from tui.widgets.key_footer import KeyFooter

PAGE_SIZE = 100


@dataclass
class MyCasesLoaded(Message):
    cases: MyCases
    cursor: int


def progress_text(case: MyCase) -> str:
    """'12/40 answered' (required questions that apply), or 'done'."""
    answered = f"{format_count(case.answered)}/{format_count(case.required)}"
    return f"{answered} · done" if case.done else answered


def due_text(case: MyCase) -> Text:
    if case.due_date is None:
        return Text("")
    if case.overdue:
        return Text(f"{case.due_date.isoformat()} overdue", style="bold red")
    return Text(case.due_date.isoformat())


class MyCasesScreen(IomScreen):
    """The cases allocated to the person rating, the next one first."""

    SCREEN_NAME = "my_cases"
    PALETTE_GROUP = "My cases"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "open_next", "Next case", id="my_cases.next"),
        Binding("enter", "open", "Open", id="my_cases.open", show=False),
        Binding("pagedown,right_square_bracket", "page(1)", "Next page",
                id="my_cases.next_page", show=False),
        Binding("pageup,left_square_bracket", "page(-1)", "Previous page",
                id="my_cases.previous_page", show=False),
        Binding("l", "goto('case_list')", "Case list", id="my_cases.cases"),
        Binding("d", "goto('dashboard')", "Dashboard", id="my_cases.dashboard"),
        Binding("f5,ctrl+r", "refresh", "Refresh", id="my_cases.refresh"),
        Binding("i", "switch_user", "Change rater/inspection", id="my_cases.switch",
                show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.cases: MyCases | None = None
        self.ids: list[int] = []
        self.page_offset = 0
        self.begin_loading("your cases were loading")

    def compose(self) -> ComposeResult:
        ws = self.ws
        yield Header()
        yield Static(f"[b]My cases[/b] · {escape(ws.inspection)} · rating as "
                     f"[b]{escape(ws.who)}[/b] ({ws.role})", id="my-cases-title")
        yield Static("Loading your cases…", id="my-cases-summary")
        yield Static("", id="my-cases-next")
        yield DataTable(id="my-cases-table", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "My cases"
        table = self.query_one(DataTable)
        for label, width, key in (("Case ref", 18, "ref"), ("Site", 22, "site"),
                                  ("Status", 12, "status"), ("Progress", 14, "progress"),
                                  ("Due", 20, "due"), ("Open queries", 12, "queries")):
            table.add_column(label, width=width, key=key)
        table.focus()
        self.load(0)

    def on_screen_resume(self) -> None:
        # Back from a case: its progress and status may have changed.
        self.load(self.page_offset, self.query_one(DataTable).cursor_row)

    def action_refresh(self) -> None:
        self.load(self.page_offset, self.query_one(DataTable).cursor_row)

    @work(thread=True, exclusive=True, exit_on_error=False, group="my-cases",
          description="Loading your cases")
    def load(self, offset: int, cursor: int = 0) -> None:
        ws = self.ws
        found = my_cases(ws.db, ws.inspection_id, actor=ws.actor, offset=offset,
                         limit=PAGE_SIZE)
        self.post_message(MyCasesLoaded(found, cursor))

    def worker_error(self, worker: object, error: BaseException) -> None:
        if self.loading_keys:
            self.end_loading()

    @on(MyCasesLoaded)
    def show(self, message: MyCasesLoaded) -> None:
        mine = message.cases
        self.cases, self.page_offset = mine, mine.offset
        self.ids = [c.id for c in mine.rows]
        table = self.query_one(DataTable)
        table.clear()
        for c in mine.rows:
            table.add_row(Text(c.case_ref), Text(c.site or ""),
                          CASE_STATUS.get(c.status, c.status), progress_text(c), due_text(c),
                          format_count(c.open_queries) if c.open_queries else "",
                          key=str(c.id))
        if mine.rows:
            table.move_cursor(row=min(message.cursor, len(mine.rows) - 1))
        self.query_one("#my-cases-summary", Static).update(self.summary(mine))
        self.query_one("#my-cases-next", Static).update(self.next_line(mine))
        if self.loading_keys:
            self.end_loading()

    @staticmethod
    def summary(mine: MyCases) -> Text:
        if not mine.total:
            return Text("No case of this inspection is allocated to you. A lead allocates "
                        "cases from the case list (A).")
        shown = ""
        if mine.total > len(mine.rows):
            shown = (f" · showing {format_count(mine.offset + 1)}–"
                     f"{format_count(mine.offset + len(mine.rows))} ([ and ] page)")
        overdue = Text(f"{format_count(mine.overdue)} overdue",
                       style="bold red" if mine.overdue else "")
        queries = f"{format_count(mine.open_queries)} open quer" \
                  f"{'y' if mine.open_queries == 1 else 'ies'} on them"
        if mine.assigned_queries:
            queries += f" ({format_count(mine.assigned_queries)} waiting for you)"
        return Text.assemble(f"{format_count(mine.total)} cases allocated to you: "
                             f"{format_count(mine.done)} done, {format_count(mine.to_rate)} "
                             "to rate, ", overdue, f" · {queries}{shown}")

    @staticmethod
    def next_line(mine: MyCases) -> Text:
        following = mine.next_case
        if following is None:
            return Text("Nothing left to rate." if mine.total else "")
        due = f", due {following.due_date.isoformat()}" if following.due_date else ""
        late = " (overdue)" if following.overdue else ""
        return Text.assemble("Next: ", (following.case_ref, "bold"),
                             f" · {CASE_STATUS.get(following.status, following.status)} · "
                             f"{progress_text(following)} answered{due}{late} · "
                             "n opens it")

    def action_open_next(self) -> None:
        if self.cases is None or self.cases.next_case is None:
            self.notify("Nothing left to rate.", title="My cases")
            return
        self.iom_app.open_case(self.cases.next_case.id)

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if self.ids and table.cursor_row >= 0:
            self.iom_app.open_case(self.ids[min(table.cursor_row, len(self.ids) - 1)])

    @on(DataTable.RowSelected)
    def row_selected(self) -> None:
        self.action_open()

    def action_page(self, step: int) -> None:
        if self.cases is None:
            return
        offset = self.page_offset + step * PAGE_SIZE
        if 0 <= offset < self.cases.total:
            self.load(offset)

    def action_goto(self, name: str) -> None:
        self.iom_app.goto(name)

    def action_switch_user(self) -> None:
        self.switch_user()
