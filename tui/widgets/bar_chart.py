"""Horizontal bars drawn with block characters: two groups per question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from audit.formatting import format_pct

BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(pct: float | None, width: int) -> str:
    """A bar `pct` per cent of `width` cells long, in eighths of a cell."""
    if pct is None:
        return ""
    eighths = round(max(0.0, min(100.0, pct)) / 100 * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (BLOCKS[rest] if rest else "")


@dataclass(frozen=True)
class BarGroup:
    """One question: its label and each group's percentage (None: no answers)."""

    label: str
    values: Sequence[tuple[str, float | None, int]]  # (group label, pct, n)


class BarChart(Static):
    """Percentages per group for each question; the highlighted question in bold."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        super().__init__("", name=name, id=id, classes=classes, disabled=disabled)
        self.groups: list[BarGroup] = []
        self.highlight = -1

    def on_resize(self) -> None:
        self.update(self.render_chart())

    def show(self, groups: list[BarGroup], highlight: int = -1) -> None:
        self.groups, self.highlight = groups, highlight
        self.update(self.render_chart())

    def render_chart(self, width: int | None = None) -> Text:
        # Bars fill what is left of the line after the group name and the figures.
        width = width or max(8, (self.size.width or 40) - 16)
        colours = ("green", "magenta")
        out = Text()
        for i, g in enumerate(self.groups):
            style = "bold reverse" if i == self.highlight else "bold"
            # One line per group: a wrapped name would change the panel's height with its
            # width, and a scrollbar with it (the full label is in the table beside).
            out.append(f"{g.label[:width + 15]}\n", style=style)
            for j, (name, pct, _n) in enumerate(g.values):
                pct_text = format_pct(pct).rjust(4)  # "100%" is the widest
                out.append(f" {name:<8}", style="dim")
                out.append(f"{bar(pct, width):<{width}}", style=colours[j % 2])
                out.append(f"{pct_text}\n")
        return out
