"""Help: every key of the screen it was opened from, then the app-wide keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

INTRO = """\
# Keys

Everything can be done from the keyboard. **ctrl+p** opens the command palette, which
reaches every screen and every action below by name. **ctrl+q** quits from anywhere;
whatever you typed is saved first.
"""

PRETTY = {"right_square_bracket": "]", "left_square_bracket": "[", "question_mark": "?",
          "slash": "/", "pagedown": "PgDn", "pageup": "PgUp", "escape": "esc"}


def binding_rows(bindings: list[BindingType]) -> list[tuple[str, str]]:
    """(keys, what it does) for the bindings that have a description."""
    rows = []
    for b in bindings:
        if not isinstance(b, Binding) or not b.description:
            continue
        if b.id and b.id.startswith("case.choice") and b.id != "case.choice":
            continue  # 2-9 are listed once, as 1-9
        names = [PRETTY.get(k.strip(), k.strip()) for k in b.key.split(",")]
        keys = b.key_display if b.key_display and b.key_display != names[0] else ", ".join(names)
        rows.append((keys, b.description))
    return rows


def table(title: str, bindings: list[BindingType]) -> str:
    rows = binding_rows(bindings)
    if not rows:
        return ""
    lines = [f"## {title}", "", "| Key | Action |", "| --- | --- |"]
    lines += [f"| `{k}` | {d} |" for k, d in rows]
    return "\n".join(lines) + "\n"


class HelpScreen(ModalScreen[None]):
    """The keys that matter where you are."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close", id="help.close"),
    ]

    def __init__(self, over: Screen[object]) -> None:
        super().__init__()
        self.over = over

    def compose(self) -> ComposeResult:
        title = getattr(self.over, "PALETTE_GROUP", type(self.over).__name__)
        text = INTRO + "\n" + table(f"This screen: {title}", list(self.over.BINDINGS))
        extra = getattr(self.over, "HELP", None) or ""
        text += "\n" + extra + "\n" + table("Everywhere", list(self.app.BINDINGS)) + \
            "| `ctrl+p` | Command palette |\n"
        with VerticalScroll(classes="dialog help"):
            yield Markdown(text)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
