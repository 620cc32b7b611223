"""Start: confirm who is rating and pick the inspection (each skipped when known)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from audit.errors import AuditError
from audit.formatting import format_count
from audit.identity import database_login
from audit.people import identify, known_role
from audit.store.models import ROLES
from audit.views.progress import InspectionInfo, inspections, question_set_for
from tui.settings import scripted_inspector
from tui.shell import Shell
from tui.workspace import Workspace


@dataclass
class InspectionsLoaded(Message):
    """The inspections in the database, the role known for the remembered name and, on
    PostgreSQL, the login (which is the person rating, whatever name was remembered)."""

    inspections: list[InspectionInfo]
    known_role: str | None
    login: str | None = None


class StartScreen(Screen[None]):
    """Who is rating (remembered; IOM_AUDIT_INSPECTOR skips it) and on which inspection."""

    PALETTE_GROUP = "Start"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not a priority binding: typed text must reach the name box before enter is seen.
        Binding("enter", "confirm", "Start", id="start.confirm"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._inspections: list[InspectionInfo] = []
        self._scripted = scripted_inspector()

    @property
    def iom_app(self) -> Shell:
        return cast(Shell, self.app)

    def compose(self) -> ComposeResult:
        settings = self.iom_app.settings
        yield Header()
        with Vertical(id="start-box"):
            yield Static("Who is rating?", classes="heading", id="who-heading")
            yield Input(self._scripted or settings.inspector or "", placeholder="Your full name",
                        id="name", disabled=bool(self._scripted))
            yield Label("Role (for a name new to this database)")
            yield Select([(label, code) for code, label in ROLES.items()],
                         value=settings.role if settings.role in ROLES else "inspector",
                         allow_blank=False, id="role", compact=True)
            yield Static("Inspection", classes="heading", id="inspection-heading")
            yield OptionList(id="inspections")
            yield Static("", id="start-message")
            yield Button("Start", id="start", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def load(self) -> None:
        db = self.iom_app.database
        login = database_login(db)
        name = login or self._scripted or self.iom_app.settings.inspector
        self.post_message(InspectionsLoaded(inspections(db),
                                            known_role(db, name) if name else None, login))

    @on(InspectionsLoaded)
    def show_inspections(self, message: InspectionsLoaded) -> None:
        self._inspections = message.inspections
        if message.login:
            # On PostgreSQL the database login is the person: shown, and not to be changed.
            name = self.query_one("#name", Input)
            name.value = message.login
            name.disabled = True
            self.query_one("#who-heading", Static).update(
                Text(f"Who is rating? You are logged in to the database as {message.login}."))
        if message.known_role:
            self.query_one("#role", Select).value = message.known_role
        options = self.query_one("#inspections", OptionList)
        options.add_options([Option(Text(f"{i.name}  ·  {i.question_set}  ·  "
                                         f"{format_count(i.cases)} cases"),
                                    id=str(i.id)) for i in self._inspections])
        last = self.iom_app.settings.inspection
        index = next((n for n, i in enumerate(self._inspections) if i.name == last), 0)
        if self._inspections:
            options.highlighted = index
        if len(self._inspections) <= 1:
            # Nothing to choose: hide the list (the only inspection is used).
            options.display = False
            self.query_one("#inspection-heading").display = False
        if not self._inspections:
            self.query_one("#start-message", Static).update(
                "This database holds no inspection yet. Quit (ctrl+q) and run "
                "`iom-audit init` (or `make run` for the demo).")
            return
        if self._scripted and len(self._inspections) == 1:
            self.action_confirm()
            return
        if self._scripted or message.login:
            (options if options.display else self.query_one("#start", Button)).focus()
        else:
            self.query_one("#name", Input).focus()

    @on(Button.Pressed, "#start")
    @on(Input.Submitted, "#name")
    @on(OptionList.OptionSelected, "#inspections")
    def action_confirm(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.notify("Type your name first.", severity="warning")
            self.query_one("#name", Input).focus()
            return
        if not self._inspections:
            self.notify("No inspection to rate yet.", severity="warning")
            return
        highlighted = self.query_one("#inspections", OptionList).highlighted or 0
        chosen = self._inspections[min(highlighted, len(self._inspections) - 1)]
        role = cast(str, self.query_one("#role", Select).value)
        db = self.iom_app.database
        try:
            who = identify(db, name, role)
            qs = question_set_for(db, chosen.id)
        except AuditError as exc:
            self.notify(str(exc), severity="error")
            return
        if who.notice:
            self.notify(who.notice, severity="warning", timeout=8)
        self.iom_app.start(Workspace(db, who.actor, chosen.id, chosen.name, qs))
