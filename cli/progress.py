"""Progress shown on stderr while a command works (stdout stays clean for scripts)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class StderrProgress:
    """A rich progress bar on stderr, shown only once work has taken over `delay` seconds.

    Called as progress(what, done, total); a total of None shows a spinner. stdout is
    never touched, so scripts can read a command's output.
    """

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self.started = time.monotonic()
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if self._bar is None:
            if time.monotonic() - self.started < self.delay:
                return
            console = Console(stderr=True)
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 console=console, transient=True,
                                 disable=not console.is_terminal)
            self._bar.start()
        if what not in self._tasks:
            self._tasks[what] = self._bar.add_task(what, total=total)
        self._bar.update(self._tasks[what], completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def table_progress() -> Progress:
    """A rich progress display for the report's tables and pages, on stderr."""
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)
