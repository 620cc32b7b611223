"""Dashboard: progress per site and per inspector, and the way to every other screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, LoadingIndicator, Static

from audit.formatting import format_count
from audit.views.my_cases import AllocationOverview, allocation_overview
from audit.views.progress import Overview, Progress, inspector_progress, overview
from tui.screens.base import IomScreen
from tui.widgets.progress_row import ProgressRow


@dataclass
class OverviewLoaded(Message):
    overview: Overview


@dataclass
class InspectorsLoaded(Message):
    inspectors: list[Progress]


@dataclass
class AllocationLoaded(Message):
    allocation: AllocationOverview


class DashboardScreen(IomScreen):
    """How far the inspection has got, per site and per inspector."""

    SCREEN_NAME = "dashboard"
    PALETTE_GROUP = "Dashboard"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l,enter", "goto('case_list')", "Case list", id="dashboard.cases"),
        Binding("m", "goto('comparison')", "Comparison", id="dashboard.comparison"),
        Binding("r", "goto('report')", "Report", id="dashboard.report"),
        Binding("q", "goto('queries')", "Queries", id="dashboard.queries"),
        Binding("f5,ctrl+r", "refresh", "Refresh", id="dashboard.refresh"),
        Binding("i", "switch_user", "Change rater/inspection", id="dashboard.switch"),
        Binding("c", "goto('my_cases')", "My cases", id="dashboard.my_cases", show=False),
    ]

    def compose(self) -> ComposeResult:
        ws = self.ws
        yield Header()
        yield Static(f"[b]{escape(ws.inspection)}[/b] · {escape(ws.qs.title)} "
                     f"(v{escape(ws.qs.version)}) · rating as [b]{escape(ws.who)}[/b] "
                     f"({ws.role})", id="dashboard-title")
        yield LoadingIndicator(id="dashboard-loading")
        yield VerticalScroll(id="dashboard-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Dashboard"
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="dashboard")
    def load(self) -> None:
        ws = self.ws
        # Cases per site and status come first (milliseconds); per-inspector counts read
        # the answers (seconds on a national dataset), so they follow into their place.
        self.post_message(OverviewLoaded(overview(ws.db, ws.inspection_id,
                                                  with_inspectors=False)))
        self.post_message(AllocationLoaded(allocation_overview(ws.db, ws.inspection_id,
                                                               actor=ws.actor)))
        self.post_message(InspectorsLoaded(inspector_progress(ws.db, ws.inspection_id)))

    @on(OverviewLoaded)
    async def show(self, message: OverviewLoaded) -> None:
        o = message.overview
        body = self.query_one("#dashboard-body", VerticalScroll)
        self.query_one("#dashboard-loading").display = False
        rows: list[Static | ProgressRow] = [
            Static("Overall", classes="heading"), ProgressRow(o.total),
            Static("Per site", classes="heading"), *[ProgressRow(p) for p in o.sites],
            Static("Per inspector (cases they gave primary answers on)", classes="heading"),
            Static("Counting…", classes="muted", id="dashboard-inspectors-pending"),
            Static("l case list · m comparison · r report · q queries · ? help · ctrl+p "
                   "every command",
                   classes="muted hint"),
        ]
        with self.app.batch_update():
            await body.remove_children()
            await body.mount_all(rows)

    @on(InspectorsLoaded)
    async def show_inspectors(self, message: InspectorsLoaded) -> None:
        pending = self.query("#dashboard-inspectors-pending")
        if not pending:
            return  # the overview was redrawn meanwhile; its own counts will follow
        placeholder = pending.first()
        rows: list[Static | ProgressRow] = (
            [ProgressRow(p) for p in message.inspectors]
            or [Static("No answers yet.", classes="muted")])
        body = self.query_one("#dashboard-body", VerticalScroll)
        with self.app.batch_update():
            await body.mount_all(rows, before=placeholder)
            await placeholder.remove()

    @on(AllocationLoaded)
    async def show_allocation(self, message: AllocationLoaded) -> None:
        """Allocation per inspector, once any case of the inspection is allocated."""
        a = message.allocation
        hint = self.query(".hint")
        if not a.in_use or not hint:
            return
        rows = [Static("Allocation per inspector", classes="heading")]
        rows += [Static(Text.assemble((f"{i.name[:27]:<28}", ""),
                                      f"{format_count(i.allocated)} allocated · "
                                      f"{format_count(i.done)} done · ",
                                      (f"{format_count(i.overdue)} overdue",
                                       "bold red" if i.overdue else "")),
                        classes="allocation-row") for i in a.inspectors]
        rows.append(Static(f"{'Unallocated':<28}{format_count(a.unallocated)} cases · "
                           f"{format_count(a.unallocated_to_rate)} still to rate",
                           classes="allocation-row muted"))
        rows.append(Static("c my cases · a lead allocates from the case list: space marks "
                           "cases, A allocates them", classes="muted"))
        body = self.query_one("#dashboard-body", VerticalScroll)
        with self.app.batch_update():
            await body.mount_all(rows, before=hint.first())

    def action_goto(self, name: str) -> None:
        self.iom_app.goto(name)

    def action_switch_user(self) -> None:
        self.switch_user()
