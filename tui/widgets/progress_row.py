"""One line of the dashboard: a name, a progress bar, and the counts by status."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from audit.formatting import format_count
from audit.views.progress import Progress


def counts_text(p: Progress) -> str:
    """'3 to start, 2 rating, 4 complete, 1 QA-checked' (moderated, locked only when any)."""
    parts = [f"{format_count(p.get('not_started'))} to start",
             f"{format_count(p.get('in_progress'))} rating",
             f"{format_count(p.get('complete'))} complete",
             f"{format_count(p.get('qa_checked'))} QA-checked"]
    if p.get("moderated"):
        parts.append(f"{format_count(p.get('moderated'))} moderated")
    if p.get("locked"):
        parts.append(f"{format_count(p.get('locked'))} locked")
    return ", ".join(parts)


class ProgressRow(Horizontal):
    """Progress of one site or inspector: done (complete or beyond) out of all cases."""

    DEFAULT_CSS = """
    ProgressRow { height: auto; }
    ProgressRow > .name { width: 28; height: auto; }
    ProgressRow > ProgressBar { width: 30; }
    ProgressRow > ProgressBar > Bar { width: 20; }
    ProgressRow > .counts { width: 1fr; color: $text-muted; }
    """

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def compose(self) -> ComposeResult:
        p = self.progress
        # A site or person's name, as typed: wrapped in its column, never cut.
        yield Label(Text(p.name), classes="name")
        yield ProgressBar(total=max(p.total, 1), show_eta=False)
        yield Label(f"{format_count(p.total)}: {counts_text(p)}", classes="counts")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).progress = self.progress.done
