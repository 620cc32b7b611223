"""What every screen of the app shares: typed access to the app, worker error reporting."""

from __future__ import annotations

from typing import cast

from textual import on
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from audit.store.errors import message
from tui.shell import Shell
from tui.workspace import Workspace


class IomScreen(Screen[None]):
    """A main screen of the app."""

    PALETTE_GROUP = "Screen"

    @property
    def iom_app(self) -> Shell:
        return cast(Shell, self.app)

    @property
    def ws(self) -> Workspace:
        workspace = self.iom_app.workspace
        assert workspace is not None, "screens after the start screen need a workspace"
        return workspace

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        # One place for every worker's failure: a one-line notification, never a crash.
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.notify(f"{event.worker.description or event.worker.name}: {message(error)}",
                        title="Failed", severity="error", timeout=8)
            self.worker_error(event.worker, error)

    def worker_error(self, worker: Worker[object], error: BaseException) -> None:
        """Hook for screens that must undo a loading state when a worker fails."""
