"""Data queries: what waits for me (or every query of the inspection), and counts by site.

`enter` opens the case at the queried question, where `q` shows the thread. The lists
are read in a worker; the screen takes no keys until they are shown (the loading gate of
`tui/screens/base.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from audit.formatting import format_count
from audit.views.queries import QueryRow, SiteQueries, by_site, list_queries, my_queries
from tui.screens.base import IomScreen

AWAITING = {"respond": "you to respond", "close": "you to close or re-open"}


@dataclass
class QueriesLoaded(Message):
    rows: list[QueryRow]
    sites: list[SiteQueries]


class QueriesScreen(IomScreen):
    """My open queries (or all of them) and the queries of each site."""

    PALETTE_GROUP = "Queries"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_case", "Open the case", id="queries.open"),
        Binding("t", "toggle_all", "Mine/all", id="queries.toggle"),
        Binding("f5,ctrl+r", "refresh", "Refresh", id="queries.refresh"),
        Binding("escape", "back", "Back", id="queries.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.mine = True
        self.rows: list[QueryRow] = []
        self.begin_loading("the queries were loading")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="queries-title")
        yield DataTable(id="queries-table", cursor_type="row", zebra_stripes=True)
        yield Static("Queries by site", classes="heading", id="queries-sites-heading")
        yield DataTable(id="queries-sites", cursor_type="none", zebra_stripes=True)
        yield Static("Loading the queries…", id="queries-status", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Queries"
        table = self.query_one("#queries-table", DataTable)
        for label, key in (("#", "id"), ("Case", "case"), ("Site", "site"),
                           ("Question", "question"), ("Status", "status"),
                           ("Assignee", "assignee"), ("Opened by", "opener"),
                           ("Updated (UTC)", "updated"), ("Waiting for", "awaiting")):
            table.add_column(label, key=key)
        sites = self.query_one("#queries-sites", DataTable)
        for label in ("Site", "Open", "Answered", "Closed", "Total"):
            sites.add_column(label, key=label.lower())
        self.load()

    def on_screen_resume(self) -> None:
        if not self.loading_keys:
            self.action_refresh()

    def action_refresh(self) -> None:
        self.begin_loading("the queries were loading")
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="queries",
          description="Reading the queries")
    def load(self) -> None:
        ws = self.ws
        scope = [ws.inspection_id]
        rows = (my_queries(ws.db, actor=ws.actor, inspection_ids=scope) if self.mine
                else list_queries(ws.db, actor=ws.actor, inspection_ids=scope))
        self.post_message(QueriesLoaded(rows, by_site(ws.db, actor=ws.actor,
                                                      inspection_ids=scope)))

    def worker_error(self, worker: object, error: BaseException) -> None:
        self.query_one("#queries-status", Static).update("The queries could not be read.")
        self.end_loading()

    @on(QueriesLoaded)
    def show(self, message: QueriesLoaded) -> None:
        self.rows = message.rows
        table = self.query_one("#queries-table", DataTable)
        table.clear()
        for r in message.rows:
            # Refs, sites and names are data: cells are Text, never markup.
            table.add_row(*(Text(c) for c in (
                str(r.id), r.case_ref, r.site or "", f"{r.question_id} ({r.rater})",
                r.status_label, r.assignee or "(nobody)", r.opened_by,
                r.updated_at.strftime("%Y-%m-%d %H:%M"), AWAITING.get(r.awaiting, ""))),
                key=str(r.id))
        sites = self.query_one("#queries-sites", DataTable)
        sites.clear()
        for s in message.sites:
            sites.add_row(Text(s.site or "(no site)"),
                          *(format_count(n) for n in (s.open, s.answered, s.closed, s.total)))
        what = "Waiting for you" if self.mine else "Every query of this inspection"
        self.query_one("#queries-title", Static).update(Text.assemble(
            (what, "bold"), f": {format_count(len(message.rows))}"))
        self.query_one("#queries-status", Static).update(
            "enter opens the case at the question (q there shows the thread) · t mine/all · "
            "f5 refresh" if message.rows else
            ("Nothing waits for you. t shows every query." if self.mine
             else "No query in this inspection yet."))
        table.focus()
        self.end_loading()

    def selected(self) -> QueryRow | None:
        table = self.query_one("#queries-table", DataTable)
        if not self.rows or table.cursor_row is None:
            return None
        if not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_open_case(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("No query chosen.", severity="warning")
            return
        self.iom_app.open_case(row.case_id, rater="qa" if row.rater == "qa" else "primary",
                               question=row.question_id)

    @on(DataTable.RowSelected, "#queries-table")
    def row_chosen(self) -> None:
        self.action_open_case()

    def action_toggle_all(self) -> None:
        self.mine = not self.mine
        self.action_refresh()

    def action_back(self) -> None:
        self.app.pop_screen()
