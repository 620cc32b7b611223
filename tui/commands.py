"""The command palette: every main screen, every action of the screen it opens over,
the app's settings, and any case by its ref (opened to rate, to QA blind, or side by
side)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from functools import partial
from typing import cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from audit.views.caselist import CaseRow, find_by_ref
from question_sets.profile import CASE_STATUS
from tui.shell import Shell

CASE_HITS = 8  # cases offered for one query

SCREENS = {
    "dashboard": "Go to the dashboard (progress per site and inspector)",
    "my_cases": "Go to my cases (allocated to me, by due date; n opens the next)",
    "case_list": "Go to the case list (filter, search, open a case)",
    "comparison": "Go to the IOM vs non-IOM comparison",
    "report": "Go to the report (PDF and spreadsheet)",
    "queries": "Go to the data queries (what waits for you, and the queries of each site)",
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
        state = "on" if app.settings.auto_advance else "off"
        yield (f"Settings: move on after each answer (now {state})",
               "After y/n/a, go to the next unanswered question; off: stay",
               app.action_toggle_advance)
        if app.workspace is not None:
            yield ("Open a case by its ref", "Type the ref (or part of it) here: "
                   "'DEMO-T-0033', 'qa DEMO-T-0033' for blind QA",
                   partial(app.goto, "case_list"))
            yield ("QA rating of a case, blind: type qa and its ref here",
                   "Rates it without seeing the primary answers (Q on a case in the list)",
                   partial(app.goto, "case_list"))
            yield ("Reconcile a double rating: type reconcile and the case ref here",
                   "Primary and blind QA side by side, only where they differ (D on a case "
                   "in the list)", partial(app.goto, "case_list"))
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


# Words before a ref that choose how the case opens.
HOW = {"qa": ("qa", "Blind QA rating of"), "blind": ("qa", "Blind QA rating of"),
       "compare": ("compare", "QA side by side of"), "side": ("compare", "QA side by side of"),
       "reconcile": ("compare", "Reconcile the QA disagreements of"),
       "moderate": ("compare", "Reconcile the QA disagreements of")}


class CaseCommands(Provider):
    """Cases by ref: "DEMO-T-0033" opens it to rate, "qa DEMO-T-0033" to QA blind,
    "compare" or "reconcile DEMO-T-0033" side by side to reconcile (the use cases refuse
    what is not allowed)."""

    async def search(self, query: str) -> Hits:
        app = cast(Shell, self.app)
        ws = app.workspace
        words = query.split()
        if ws is None or not words:
            return
        how = HOW.get(words[0].lower())
        text = " ".join(words[1:] if how and len(words) > 1 else words)
        if how and len(words) == 1:
            return  # only the word so far: the ref is still to come
        rows: list[CaseRow] = await asyncio.to_thread(
            find_by_ref, ws.db, ws.inspection_id, text, actor=ws.actor, limit=CASE_HITS)
        matcher = self.matcher(text)
        for row in rows:
            rater, verb = how or ("primary", "Open case")
            title = f"{verb} {row.case_ref}"
            if rater == "compare":
                run: Callable[[], object] = partial(app.open_disagreements, row.id)
            else:
                run = partial(app.open_case, row.id, rater=rater)
            yield Hit(max(matcher.match(row.case_ref), 0.5), title, run,
                      help=f"{row.site or 'no site'} · {CASE_STATUS.get(row.status, row.status)}")
