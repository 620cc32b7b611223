"""The iom-audit terminal app: the App, its navigation, and `run_app` for the CLI."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from audit.errors import AuditError
from audit.store.engine import Database, open_database
from audit.store.errors import speak_plainly
from audit.views.background import settle_heap
from audit.views.comparison_cache import ComparisonCache, preload_in_background
from tui.commands import CaseCommands, NavigationCommands
from tui.settings import Settings, load_settings, save_settings
from tui.workspace import Workspace

DARK, LIGHT = "textual-dark", "textual-light"
PRELOAD_IDLE_S = 1.0  # no key for this long: load the comparison's libraries


class IomAuditApp(App[None]):
    """Rate cases, follow progress, compare IOM with non-IOM cases, compile the report."""

    CSS_PATH = ["styles/app.tcss", "styles/allocation.tcss"]
    TITLE = "iom-audit"
    COMMANDS = App.COMMANDS | {NavigationCommands, CaseCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: ctrl+q must quit from anywhere, even from a text box.
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1,question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+t", "toggle_theme", "Light/dark", id="app.theme", show=False),
    ]

    def __init__(self, database: Database, *, settings_file: Path | None = None,
                 theme: str | None = None, preload: bool = True) -> None:
        super().__init__()
        self.database = database
        # Every database failure reaches the screens as an AuditError in words (a busy
        # database, a full disk, a refused privilege), which they show and survive.
        speak_plainly(database.engine)
        self.settings_file = settings_file
        self.settings: Settings = load_settings(settings_file)
        self.workspace: Workspace | None = None
        self.report_dir = Path.cwd()  # where the report screen proposes to write
        self.comparisons = ComparisonCache()  # the comparison view's, while data is unchanged
        self.preload = preload
        self._last_input = time.monotonic()
        self.theme = theme or self.settings.theme or DARK
        self._signals: list[int] = []

    # -- start-up and shutdown -------------------------------------------------------

    def on_mount(self) -> None:
        from tui.screens.start import StartScreen

        self._install_signal_handlers()
        self.push_screen(StartScreen())
        if self.preload:
            self._preload_timer = self.set_interval(0.25, self._preload_when_idle)

    def start(self, workspace: Workspace) -> None:
        """Identity and inspection confirmed: remember them and open the home screen, an
        inspector's My cases when cases are allocated to them, else the dashboard."""
        from audit.views.my_cases import has_allocated

        self.workspace = workspace
        self.remember(inspector=workspace.actor.name, role=workspace.actor.role,
                      inspection=workspace.inspection)
        home = "dashboard"
        if workspace.role == "inspector" and has_allocated(
                workspace.db, workspace.inspection_id, workspace.who):
            home = "my_cases"
        self.switch_screen(_main_screen(home))

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every notification is plain text: messages carry names, refs and notes, and a
        bracket in them is what someone typed, never markup (a stray `[/b]` used to stop
        the app)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def remember(self, **changes: str | bool | None) -> None:
        """Update the remembered settings (a read-only config dir is not an error)."""
        self.settings = self.settings.with_(**changes)
        try:
            save_settings(self.settings, self.settings_file)
        except OSError as exc:
            self.notify(f"Settings not saved: {exc}", severity="warning")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
        await super().on_event(event)

    def _preload_when_idle(self) -> None:
        """Import the comparison's libraries (pandas, numpy, scipy.special: ~0.6 s) in the
        background once no key has come for PRELOAD_IDLE_S, so that the first comparison
        counts at once instead of importing. Not at the first frame: a thread importing
        shares Python's lock with the screen, and a dashboard opened meanwhile showed
        0.2-0.5 s later; a pause is when the inspector reads the screen."""
        if time.monotonic() - self._last_input >= PRELOAD_IDLE_S:
            self._preload_timer.stop()
            preload_in_background()

    def _install_signal_handlers(self) -> None:
        # asyncio's handlers run on the event loop, so flushing widgets from them is safe.
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, self.shutdown)
                self._signals.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not on this platform / loop: the default handler stays

    def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)

    def flush(self) -> None:
        """Save whatever is being typed on every open screen."""
        for screen in self.screen_stack:
            flush = getattr(screen, "flush", None)
            if callable(flush):
                flush()

    def shutdown(self) -> None:
        """SIGTERM/SIGHUP: keep what is typed, restore the terminal, exit 0."""
        self.flush()
        self.exit(return_code=0)

    async def action_quit(self) -> None:
        self.flush()
        self.exit()

    # -- navigation ------------------------------------------------------------------

    def goto(self, name: str) -> None:
        """Open a main screen from anywhere (palette, dashboard keys): back to the home
        screen (the dashboard, or an inspector's My cases), then on to `name`."""
        if self.workspace is None:
            self.notify("Confirm who is rating first.", severity="warning")
            return
        self.flush()
        while len(self.screen_stack) > 1 and not _is_home(self.screen):
            self.pop_screen()
        if name != getattr(self.screen, "SCREEN_NAME", None):
            self.push_screen(_main_screen(name))

    def open_case(self, case_id: int, *, rater: str = "primary",
                  question: str | None = None) -> None:
        """Open the rating screen of one case (rater 'qa' rates blind), at `question` if
        given; a refusal (e.g. the primary rater opening its blind QA) is shown and the
        screen closes."""
        from tui.screens.case import CaseScreen

        if self.workspace is None:
            return
        # The screen opens at once and reads the case in a worker, taking no keys until
        # it is ready: keys typed meanwhile are dropped there (and counted), never
        # delivered to the screen underneath. A refusal closes it again, in words.
        self.push_screen(CaseScreen(case_id, rater=rater, question=question))

    def open_disagreements(self, case_id: int) -> None:
        """Open the side-by-side QA view of one case (refused, and shown so, until its
        blind QA rating is complete)."""
        from tui.screens.disagreements import DisagreementsScreen

        if self.workspace is None:
            return
        try:
            first = DisagreementsScreen.read(self.workspace, case_id)
        except AuditError as exc:
            self.notify(str(exc), title="Not opened", severity="error")
            return
        self.push_screen(DisagreementsScreen(case_id, first=first))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_advance(self) -> None:
        self.remember(auto_advance=not self.settings.auto_advance)
        state = "moves on to the next unanswered question" if self.settings.auto_advance \
            else "stays on the question answered"
        self.notify(f"After an answer the case screen now {state}.", title="Settings")

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT if self.theme == DARK else DARK
        self.remember(theme=self.theme)


def _is_home(screen: Screen[object]) -> bool:
    """The screen `goto` goes back to: the lowest home screen of the stack (the dashboard
    or My cases opened on top of it is not home)."""
    homes = [s for s in screen.app.screen_stack if hasattr(s, "SCREEN_NAME")]
    return bool(homes) and screen is homes[0]


def _main_screen(name: str) -> Screen[None]:
    """A new main screen by name; each is imported when first shown, so the start screen
    appears before pandas and statsmodels load."""
    match name:
        case "dashboard":
            from tui.screens.dashboard import DashboardScreen

            return DashboardScreen()
        case "my_cases":
            from tui.screens.my_cases import MyCasesScreen

            return MyCasesScreen()
        case "case_list":
            from tui.screens.case_list import CaseListScreen

            return CaseListScreen()
        case "comparison":
            from tui.screens.comparison import ComparisonScreen

            return ComparisonScreen()
        case "report":
            from tui.screens.report import ReportScreen

            return ReportScreen()
        case "queries":
            from tui.screens.queries import QueriesScreen

            return QueriesScreen()
        case _:
            raise ValueError(f"no screen called {name!r}")


def run_app(db: str | None) -> None:
    """Open the app on a database (the CLI's bare `iom-audit` and `iom-audit tui`).

    The app creates no database: a missing one is refused, with `iom-audit init` (or
    `make run`, which builds the demo) to create it; an older one is migrated after a
    copy is kept."""
    database = open_database(db, purpose="write")
    settle_heap()  # the imports are done: see audit.views.background
    try:
        IomAuditApp(database).run()
    finally:
        database.dispose()
