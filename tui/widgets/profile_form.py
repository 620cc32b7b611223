"""The case profile: shown read-only in one widget, edited in a form of coded choices.

The form (a drop-down or a date box per field, fifteen of them) was half the time a case
took to open, and most cases are rated without touching the profile. The case screen
shows `ProfileSummary` (one widget: every field's label and value) and builds the form
only when the inspector enters it (`p`, a click on a field, or focus moving onto it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from audit.profile import value_label
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


COLUMNS = 5  # fields per row, in the summary as in the form (its grid-size)


class ProfileSummary(Widget, can_focus=True):
    """The profile read-only in one widget: a label and a value per field, in the form's
    places. A click on a field, or focus arriving here, asks for the form (`Enter`)."""

    # A click asks for its field (`on_click`), not for the focus's first field.
    FOCUS_ON_CLICK = False

    COMPONENT_CLASSES: ClassVar[set[str]] = {"profile-summary--label",
                                             "profile-summary--unknown"}
    DEFAULT_CSS = """
    ProfileSummary > .profile-summary--label { color: $text-muted; }
    ProfileSummary > .profile-summary--unknown { color: $text-disabled; }
    """

    @dataclass
    class Enter(Message):
        """The inspector wants to edit the profile, at this field (None: the first);
        `click`: as a click on the field's control (a list opens)."""

        code: str | None
        click: bool = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile: Mapping[str, Any] = {}

    def show(self, profile: Mapping[str, Any]) -> None:
        """Display stored values."""
        self.profile = dict(profile)
        self.refresh()

    def render(self) -> RenderableType:
        # Colours only, blended over the background as a Label's muted text is.
        label_style, unknown_style = (
            Style(color=self.get_component_rich_style(f"profile-summary--{name}").color)
            for name in ("label", "unknown"))
        table = Table.grid(expand=True, padding=(0, 1, 0, 0))
        for _ in range(COLUMNS):
            table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        specs = list(PROFILE.values())
        for start in range(0, len(specs), COLUMNS):
            cells = []
            for spec in specs[start:start + COLUMNS]:
                value = self.profile.get(spec.code)
                unknown = value is None or value == ""
                cells.append(Text.assemble(
                    (spec.label, label_style), "\n",
                    (value_label(spec.code, value), unknown_style if unknown else ""),
                    no_wrap=True, overflow="ellipsis"))
            table.add_row(*cells, *[""] * (COLUMNS - len(cells)))
        return table

    def field_at(self, x: int, y: int) -> str | None:
        """The field shown at this point of the content (rows of two lines)."""
        width = self.content_size.width
        if width <= 0 or x < 0 or y < 0:
            return None
        index = (y // 2) * COLUMNS + min(COLUMNS - 1, x * COLUMNS // width)
        specs = list(PROFILE)
        return specs[index] if index < len(specs) else None

    def on_click(self, event: events.Click) -> None:
        event.stop()
        offset = event.get_content_offset(self)
        code = self.field_at(offset.x, offset.y) if offset else None
        self.post_message(self.Enter(code, click=code is not None))

    def on_focus(self) -> None:
        self.post_message(self.Enter(None))
