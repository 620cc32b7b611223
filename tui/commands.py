"""The command palette: every main screen, and every action of the screen it opens over."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.shell import Shell

SCREENS = {
    "dashboard": "Go to the dashboard (progress per site and inspector)",
    "case_list": "Go to the case list (filter, search, open a case)",
    "comparison": "Go to the IOM vs non-IOM comparison",
    "report": "Go to the report (PDF and spreadsheet)",
}


class NavigationCommands(Provider):
    """Screens to go to, plus the key actions of the current screen by name."""

    def _commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        app = cast(Shell, self.app)
        if app.workspace is not None:
            for name, help_text in SCREENS.items():
                title = name.replace("_", " ").capitalize()
                yield f"Go to: {title}", help_text, partial(app.goto, name)
        yield "Help: keys of this screen", "List every key", app.action_help
        yield "Theme: toggle light / dark", "Switch between the light and dark themes", \
            app.action_toggle_theme
        seen: set[str] = set()
        screen = self.screen
        title = getattr(screen, "PALETTE_GROUP", type(screen).__name__)
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            if active.node is self.app:
                continue  # app-wide actions are listed above
            seen.add(binding.action)
            run = partial(self.app.run_action, binding.action, active.node)
            yield (f"{title}: {binding.description}",
                   f"Key: {binding.key_display or key}", run)

    async def discover(self) -> Hits:
        for name, help_text, command in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, command in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)
