"""What screens may ask of the app that hosts them: a protocol, so that screens never
import the app (the app imports its screens; the arrow points one way)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from audit.store.engine import Database
from audit.views.comparison_cache import ComparisonCache
from tui.settings import Settings
from tui.workspace import Workspace


class Shell(Protocol):
    """The app as its screens and the command palette see it (`tui.app.IomAuditApp`)."""

    database: Database
    settings: Settings
    workspace: Workspace | None
    report_dir: Path
    comparisons: ComparisonCache

    def start(self, workspace: Workspace) -> None:
        """Identity and inspection confirmed: open the dashboard."""

    def goto(self, name: str) -> None:
        """Open a main screen (dashboard, my_cases, case_list, comparison, report,
        queries) from anywhere."""

    def open_case(self, case_id: int, *, rater: str = "primary",
                  question: str | None = None) -> None:
        """Open the rating screen of one case (at `question`, if given)."""

    def open_disagreements(self, case_id: int) -> None:
        """Open the side-by-side QA view of one case."""

    def action_help(self) -> None:
        """Show the keys of the current screen."""

    def action_toggle_theme(self) -> None:
        """Switch between the light and dark themes."""

    def action_toggle_advance(self) -> None:
        """Switch moving on after each answer on or off (a remembered setting)."""
