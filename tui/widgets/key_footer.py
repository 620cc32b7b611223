"""Textual's Footer, rebuilt only when the keys it shows change.

Textual's Footer rebuilds itself (a widget per key, each styled on its own) every time a
screen says its bindings may have changed, once per call. Opening a case said so four
times in a row (shown, focus settled, loading over, keys synced), and the case screen's
keys are many: the rebuilds were a tenth of the time a case took to open. Each key was
also styled again as it mounted (its `compact` starts True and is bound to the
footer's False): the keys here start as the footer is, and are styled once. The case
list and My cases use it too: their Footer rebuilt itself after the key that opened a
case, inside the case's opening time.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A Footer that rebuilds at most once per refresh, and only when its keys changed."""

    _rebuild_due = False
    _shown: tuple[Any, ...] | None = None  # what the last rebuild showed

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            # The palette's key is not bound (it stays compact, as in Footer).
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[Any]) -> None:
        # Footer's, with the rebuilds asked for before the next refresh made one.
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._rebuild_due:
            self._rebuild_due = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_due = False
        if not self.is_attached or self._pruning:
            return  # the screen closed meanwhile (as Widget.recompose)
        shown = self._keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys(self) -> tuple[Any, ...]:
        """Everything Footer.compose reads to build its keys."""
        active = self.screen.active_bindings
        keys = tuple((binding, enabled, tooltip, self.app.get_key_display(binding))
                     for _, binding, enabled, tooltip in active.values() if binding.show)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        return (keys, palette[1:] if palette else None, self.compact,
                self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)
