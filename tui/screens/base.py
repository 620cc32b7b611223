"""What every screen of the app shares: typed access to the app, worker error reporting,
and the loading gate (a screen that is still loading takes no keys)."""

from __future__ import annotations

from typing import cast

from textual import events, on
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from audit.store.errors import message
from tui.shell import Shell
from tui.workspace import Workspace


class IomScreen(Screen[None]):
    """A main screen of the app."""

    PALETTE_GROUP = "Screen"
    # Keys that still act while loading: quitting (a priority binding of the app anyway).
    KEYS_WHILE_LOADING = frozenset({"ctrl+q"})

    loading_what = ""  # what is loading ("" when ready): keys are dropped meanwhile
    keys_dropped = 0

    def begin_loading(self, what: str) -> None:
        """Take no keys until `end_loading`: each key typed meanwhile is dropped and
        counted, never passed on to this screen's bindings or another screen. Call it
        from `__init__` when the screen opens loading: keys can reach a screen before
        it is mounted."""
        self.loading_what = what
        self.keys_dropped = 0
        if self.is_mounted:
            self.refresh_bindings()

    def end_loading(self) -> None:
        """Ready: keys act again; say how many were dropped, if any."""
        what, dropped = self.loading_what, self.keys_dropped
        self.loading_what = ""
        self.keys_dropped = 0
        self.refresh_bindings()
        if dropped:
            self.notify(f"{dropped} key{'s' if dropped != 1 else ''} ignored while {what}.",
                        title="Keys ignored", severity="warning")

    @property
    def loading_keys(self) -> bool:
        return bool(self.loading_what)

    def on_key(self, event: events.Key) -> None:
        # The key reached the screen (nothing focused took it): while loading, it stops
        # here, so neither this screen's bindings nor the app's see it.
        if self.loading_what and event.key not in self.KEYS_WHILE_LOADING:
            event.stop()
            event.prevent_default()
            self.keys_dropped += 1
            if self.is_mounted:
                self.key_dropped()

    def switch_user(self) -> None:
        """Back to the start screen (who is rating, which inspection), in place of the
        home screen and whatever was opened over it."""
        from tui.screens.start import StartScreen

        app = self.app
        while len(app.screen_stack) > 2:  # the app's default screen, then the home screen
            app.pop_screen()
        app.switch_screen(StartScreen())

    def key_dropped(self) -> None:
        """Hook: show the count of dropped keys (the screen's loading line)."""

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
