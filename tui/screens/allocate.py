"""The lead's allocation dialog: to whom, and by when (the use case checks again)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from audit.allocation import Person, parse_due
from audit.errors import UsageError
from audit.formatting import format_count
from audit.store.models import ROLES

NO_ONE = "__no_one__"


@dataclass(frozen=True)
class AllocationChoice:
    """What the lead chose: a person (None: allocated to no one) and a due date."""

    to: str | None
    due: date | None = None


class AllocateModal(ModalScreen[AllocationChoice | None]):
    """Allocate some cases: pick who rates them, type a due date, enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="allocate.cancel"),
    ]

    def __init__(self, cases: int, people: list[Person], current: str | None = None) -> None:
        super().__init__()
        self.cases, self.people, self.current = cases, people, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="allocate-dialog"):
            yield Static(Text(f"Allocate {format_count(self.cases)} case"
                              f"{'s' if self.cases != 1 else ''}", style="bold"),
                         classes="heading")
            yield Static("Who rates them (enter: then the due date):")
            yield OptionList(*[Option(Text(f"{p.name}  ·  {ROLES.get(p.role, p.role)}"),
                                      id=p.name) for p in self.people],
                             Option(Text("No one (clear the allocation and due date)"),
                                    id=NO_ONE), id="allocate-people")
            yield Static("Due date (YYYY-MM-DD; empty: each case keeps its own):")
            yield Input(placeholder="2026-12-15", id="allocate-due", max_length=10)
            with Horizontal(classes="buttons"):
                yield Button("Allocate (enter)", id="ok", variant="primary")
                yield Button("Cancel (escape)", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [p.name for p in self.people]
        options.highlighted = names.index(self.current) if self.current in names else 0
        options.focus()

    @on(OptionList.OptionSelected)
    def person_chosen(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.confirm()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.confirm()
        else:
            self.action_cancel()

    def confirm(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            self.notify("Choose who rates the cases.", severity="warning")
            return
        chosen = options.get_option_at_index(options.highlighted).id
        text = self.query_one(Input).value.strip()
        if chosen == NO_ONE:
            if text:
                self.notify("A due date needs someone to rate the cases.", severity="warning")
                return
            self.dismiss(AllocationChoice(None))
            return
        try:
            due = parse_due(text) if text else None
        except UsageError as exc:
            self.notify(str(exc), title="Not a date", severity="warning")
            return
        self.dismiss(AllocationChoice(chosen, due))

    def action_cancel(self) -> None:
        self.dismiss(None)
