"""The case profile as a form of coded choices (labels from question_sets.profile)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from question_sets.profile import PROFILE, ProfileField
from tui.widgets.lazy_select import LazySelect


def form_value(spec: ProfileField, value: Any) -> Any:
    """A stored profile value as the form holds it (bools as yes/no, dates ISO)."""
    if value is None:
        return Select.NULL if spec.kind != "date" else ""
    if spec.kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return value


class ProfileForm(Grid):
    """One cell per profile field; a user's change posts `ProfileForm.Edited`."""

    @dataclass
    class Edited(Message):
        code: str
        value: str | None

    def compose(self) -> ComposeResult:
        for spec in PROFILE.values():
            with Vertical(classes="profile-cell"):
                yield Label(spec.label, classes="profile-label")
                widget: Widget
                if spec.kind == "date":
                    widget = Input(placeholder="YYYY-MM-DD", id=f"p-{spec.code}", compact=True)
                else:
                    # Its list of choices is built when first opened (LazySelect).
                    widget = LazySelect([(label, code) for code, label in spec.codes.items()],
                                        prompt="Unknown", id=f"p-{spec.code}", compact=True)
                yield widget

    def show(self, profile: Mapping[str, Any]) -> None:
        """Display stored values without posting edits."""
        with self.prevent(Select.Changed, Input.Changed):
            for code, spec in PROFILE.items():
                widget = self.query_one(f"#p-{code}")
                value = form_value(spec, profile.get(code))
                if isinstance(widget, Select) or isinstance(widget, Input) and not widget.has_focus:
                    widget.value = value

    def set_read_only(self, read_only: bool) -> None:
        for widget in self.query("Select, Input"):
            widget.disabled = read_only

    @on(Select.Changed)
    def select_changed(self, event: Select.Changed) -> None:
        event.stop()
        code = (event.select.id or "").removeprefix("p-")
        value = None if event.value is Select.NULL else str(event.value)
        self.post_message(self.Edited(code, value))

    @on(Input.Submitted)
    def date_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        code = (event.input.id or "").removeprefix("p-")
        self.post_message(self.Edited(code, event.value.strip() or None))
