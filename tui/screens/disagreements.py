"""QA disagreements: primary and blind QA answers side by side, and the moderated answer."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from audit import cases
from audit.cases import ReasonRequired
from audit.errors import AuditError
from audit.views.qa import Comparison, SideBySide, side_by_side
from tui.screens.base import IomScreen
from tui.screens.modals import ReasonModal
from tui.workspace import Workspace


def _cell(value: str | None) -> str:
    return "·" if value is None else value


class DisagreementsScreen(IomScreen):
    """Where primary and QA ratings differ; record the agreed (moderated) answer."""

    PALETTE_GROUP = "Disagreements"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "moderate('yes')", "Yes", id="qa.yes"),
        Binding("n", "moderate('no')", "No", id="qa.no"),
        Binding("a", "moderate('na')", "N/A", id="qa.na"),
        Binding("p", "take('primary')", "Take primary", id="qa.primary"),
        Binding("q", "take('qa')", "Take QA", id="qa.qa"),
        Binding("x", "moderate(None)", "Clear", id="qa.clear"),
        Binding("t", "toggle_all", "All/disagreements", id="qa.toggle"),
        Binding("escape", "back", "Back", id="qa.back"),
    ]

    def __init__(self, case_id: int, *, first: SideBySide | None = None) -> None:
        super().__init__()
        self.case_id = case_id
        self.first = first  # read before the screen opened (see `read`)
        self.only_disagreements = True
        self.rows: list[Comparison] = []
        self.version = 0

    @staticmethod
    def read(ws: Workspace, case_id: int) -> SideBySide:
        """The case's ratings side by side; the use case refuses them until its blind QA
        rating is complete (AuditError)."""
        return side_by_side(ws.db, case_id, actor=ws.actor)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="qa-title")
        yield DataTable(id="qa-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="qa-status", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Question", width=16, key="id")
        table.add_column("Label", width=48, key="label")
        table.add_column("Primary", width=10, key="primary")
        table.add_column("QA", width=10, key="qa")
        table.add_column("Moderated", width=10, key="moderated")
        self.reload()
        table.focus()

    def reload(self, keep: int = 0) -> None:
        if self.first is not None:
            view, self.first = self.first, None
        else:
            try:
                view = self.read(self.ws, self.case_id)
            except AuditError as exc:
                self.notify(str(exc), title="Closed", severity="error")
                self.app.pop_screen()
                return
        self.version = view.version
        self.sub_title = f"{view.case_ref} · QA disagreements"
        everything = view.rows
        self.rows = list(view.disagreements() if self.only_disagreements else everything)
        differ = sum(r.disagrees for r in everything)
        resolved = sum(r.disagrees and r.resolved for r in everything)
        both = sum(r.primary is not None and r.qa is not None for r in everything)
        self.query_one("#qa-title", Static).update(
            f"[b]{escape(view.case_ref)}[/b] · {both} question(s) rated by both · {differ} "
            f"disagreement(s) · {resolved} moderated · showing "
            f"{'disagreements only' if self.only_disagreements else 'every answered question'}")
        table = self.query_one(DataTable)
        table.clear()
        for r in self.rows:
            style = "bold red" if r.disagrees and not r.resolved else ""
            table.add_row(Text(r.question_id, style=style), Text(r.label), _cell(r.primary),
                          _cell(r.qa), _cell(r.moderated), key=r.question_id)
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        self.query_one("#qa-status", Static).update(
            "No disagreements." if not self.rows else
            "y/n/a record the moderated answer · p takes the primary · q takes the QA answer")

    def _current(self) -> Comparison | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def action_moderate(self, value: str | None, reason: str | None = None) -> None:
        row = self._current()
        if row is None:
            return
        try:
            change = cases.record_answer(self.ws.db, self.case_id, row.question_id, value,
                                         actor=self.ws.actor, expected_version=self.version,
                                         rater="moderated", seen=row.moderated, reason=reason)
        except ReasonRequired as exc:
            # A moderated case goes back to QA-checked first: the lifecycle asks why.
            def decided(why: str | None) -> None:
                if why:
                    self.action_moderate(value, why)

            self.app.push_screen(ReasonModal(f"Reopen case {exc.case_ref}?", str(exc),
                                             "Reopen"), decided)
            return
        except AuditError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            self.reload(self.query_one(DataTable).cursor_row)
            return
        if change.cleared:
            self.notify(f"Hidden by rule (kept): {', '.join(change.cleared)}",
                        severity="warning")
        self.reload(self.query_one(DataTable).cursor_row + 1)

    def action_take(self, which: str) -> None:
        row = self._current()
        if row is not None:
            self.action_moderate(row.primary if which == "primary" else row.qa)

    def action_toggle_all(self) -> None:
        self.only_disagreements = not self.only_disagreements
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    @on(DataTable.RowSelected)
    def selected(self) -> None:
        pass  # enter does nothing special here; the keys act on the highlighted row
