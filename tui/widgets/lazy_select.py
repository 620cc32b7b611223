"""A Select whose drop-down list is built the first time it opens.

Textual's Select mounts its drop-down (an OptionList with every choice) with the control,
hidden until opened. The case screen's profile has fourteen of them, and building those
hidden lists was a third of the time a case took to open; most cases are rated without
the profile's lists ever being opened. The closed control (the current choice and its
arrow) is Textual's own, so it looks and takes keys and clicks as before.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.widgets import Select
from textual.widgets._select import NoSelection, SelectCurrent, SelectOverlay, SelectType


class LazySelect(Select[SelectType]):
    """A Select that builds its list of choices when it first opens."""

    def compose(self) -> ComposeResult:
        yield SelectCurrent(self.prompt)

    def _overlay(self) -> SelectOverlay | None:
        try:
            return self.query_one(SelectOverlay)
        except NoMatches:
            return None

    def _ensure_overlay(self) -> None:
        """Mount the list of choices (once), as Select's own compose would have."""
        if self._overlay() is not None:
            return
        overlay = SelectOverlay(type_to_search=self._type_to_search)
        overlay.compact = self.compact
        self.mount(overlay)
        super()._setup_options_renderables()

    def _setup_options_renderables(self) -> None:
        # Before the list exists there is nothing to fill; it is filled when mounted.
        if self._overlay() is not None:
            super()._setup_options_renderables()

    def _watch_value(self, value: SelectType | NoSelection) -> None:
        """Select's, with the list's highlight only once the list exists (it highlights
        the current value when it opens)."""
        self._value = value
        try:
            select_current = self.query_one(SelectCurrent)
        except NoMatches:
            return
        if value == self.NULL:
            select_current.update(self.NULL)
        else:
            for index, (prompt, option_value) in enumerate(self._options):
                if option_value == value:
                    overlay = self._overlay()
                    if overlay is not None:
                        overlay.highlighted = index
                    select_current.update(prompt)
                    break
        self.post_message(self.Changed(self, value))

    def _watch_expanded(self, expanded: bool) -> None:
        if expanded:
            self._ensure_overlay()
        super()._watch_expanded(expanded)

    def action_show_overlay(self) -> None:
        self._ensure_overlay()
        super().action_show_overlay()

    def _watch_prompt(self, prompt: str) -> None:
        if self.is_mounted and self._overlay() is None:
            select_current = self.query_one(SelectCurrent)
            select_current.placeholder = prompt
            if self._allow_blank and self.value == self.NULL:
                select_current.update(self.NULL)
            return
        super()._watch_prompt(prompt)
