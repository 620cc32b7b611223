"""The app's screens, one per task. Imported lazily: start-up stays fast."""

from __future__ import annotations

import importlib

from textual.screen import Screen

_MAIN = {
    "dashboard": ("tui.screens.dashboard", "DashboardScreen"),
    "case_list": ("tui.screens.case_list", "CaseListScreen"),
    "comparison": ("tui.screens.comparison", "ComparisonScreen"),
    "report": ("tui.screens.report", "ReportScreen"),
}


def main_screen(name: str) -> type[Screen[None]]:
    """The class of a main screen by name (dashboard, case_list, comparison, report)."""
    module, cls = _MAIN[name]
    return getattr(importlib.import_module(module), cls)
