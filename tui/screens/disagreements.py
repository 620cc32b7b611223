"""Reconciliation: the primary and blind QA ratings of a case side by side, only where they
disagree, and the moderator's decision on each.

On the highlighted question `p` accepts the primary answer and `q` the QA answer; `y` /
`n` / `a` (or `1`-`9` for a choice) give an answer, which is a third answer when it is
neither rating's and then needs a comment (`audit.qa_rules`, stored as the moderated
answer's note). The title counts the disagreements reconciled; once all are, a lead is
offered to mark the case moderated (`audit.cases.mark_moderated`). The use cases decide
who may moderate (never the case's primary rater): the screen only says so up front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from audit import cases
from audit.cases import ReasonRequired
from audit.errors import AuditError
from audit.lifecycle import label as status_label
from audit.text_rules import preview
from audit.views.qa import Comparison, SideBySide, side_by_side
from tui.screens.base import IomScreen
from tui.screens.modals import CommentModal, ConfirmModal, ReasonModal
from tui.workspace import Workspace

LETTERS = {"yes": "y", "no": "n", "na": "a"}
DECISIONS = {"primary": "took primary", "qa": "took QA", "both": "agreed",
             "third": "third answer"}
NOTE_SHOWN = 1_000  # characters of a note shown (the rest is summarised)


def _cell(value: str | None) -> str:
    return "·" if value is None else value


@dataclass
class SideBySideRead(Message):
    """The worker read the case's two ratings."""

    view: SideBySide


@dataclass
class SideBySideRefused(Message):
    """The use case refused to show them (words for the reader)."""

    text: str


class DisagreementsScreen(IomScreen):
    """Where the primary and QA ratings differ; the moderator reconciles each."""

    PALETTE_GROUP = "Reconcile"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "take('primary')", "Accept primary", id="qa.primary"),
        Binding("q", "take('qa')", "Accept QA", id="qa.qa"),
        Binding("y", "moderate('yes')", "Yes", id="qa.yes"),
        Binding("n", "moderate('no')", "No", id="qa.no"),
        Binding("a", "moderate('na')", "N/A", id="qa.na"),
        Binding("1", "choose(1)", "Choice", key_display="1-9", id="qa.choice", show=False),
        *[Binding(str(d), f"choose({d})", f"Choice {d}", show=False, id=f"qa.choice{d}")
          for d in range(2, 10)],
        Binding("x", "clear", "Clear", id="qa.clear"),
        Binding("t", "toggle_all", "All/disagreements", id="qa.toggle"),
        Binding("M", "mark_moderated", "Mark moderated", id="qa.moderated"),
        Binding("escape", "back", "Back", id="qa.back"),
    ]

    def __init__(self, case_id: int, *, first: SideBySide | None = None) -> None:
        super().__init__()
        self.case_id = case_id
        self.first = first  # read before the screen opened (see `read`)
        self.view: SideBySide | None = None
        self.only_disagreements = True
        self.rows: list[Comparison] = []
        self.version = 0
        self.offered = False  # marking moderated offered once the last one is reconciled
        if first is None:
            self.begin_loading("the ratings were opening")

    @staticmethod
    def read(ws: Workspace, case_id: int) -> SideBySide:
        """The case's ratings side by side; the use case refuses them until its blind QA
        rating is complete (AuditError)."""
        return side_by_side(ws.db, case_id, actor=ws.actor)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="qa-title")
        yield DataTable(id="qa-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="qa-detail"):
            yield Static("", id="qa-question")
            with Horizontal(id="qa-sides"):
                with Vertical(classes="qa-side"):
                    yield Static("", id="qa-primary")
                with Vertical(classes="qa-side"):
                    yield Static("", id="qa-qa")
            yield Static("", id="qa-moderated")
        yield Static("", id="qa-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Question", width=12, key="id")
        table.add_column("Primary", width=9, key="primary")
        table.add_column("QA", width=9, key="qa")
        table.add_column("Moderated", width=10, key="moderated")
        table.add_column("Decision", width=14, key="decision")
        table.focus()
        if self.first is not None:
            self.reload()
            return
        self.query_one("#qa-status", Static).update("Opening the ratings… keys typed now "
                                                    "are ignored")
        self.load_view()

    @work(thread=True, exclusive=True, exit_on_error=False, group="qa-open",
          description="Opening the ratings")
    def load_view(self) -> None:
        try:
            view = self.read(self.ws, self.case_id)
        except AuditError as exc:
            self.post_message(SideBySideRefused(str(exc)))
            return
        self.post_message(SideBySideRead(view))

    @on(SideBySideRead)
    def view_read(self, message: SideBySideRead) -> None:
        self.first = message.view
        self.reload()
        self.end_loading()

    @on(SideBySideRefused)
    def view_refused(self, message: SideBySideRefused) -> None:
        self.loading_what = ""
        self.notify(message.text, title="Not opened", severity="error")
        self.app.pop_screen()

    def worker_error(self, worker: object, error: BaseException) -> None:
        if self.view is None and self.is_current:
            self.loading_what = ""
            self.app.pop_screen()

    def key_dropped(self) -> None:
        self.query_one("#qa-status", Static).update(
            f"Opening the ratings… keys typed now are ignored · {self.keys_dropped} "
            "key(s) ignored")

    # -- state -----------------------------------------------------------------------------

    def reload(self, keep: str | None = None) -> None:
        """Read the ratings again and show them, the cursor on `keep` (a question id)."""
        if self.first is not None:
            view, self.first = self.first, None
        else:
            try:
                view = self.read(self.ws, self.case_id)
            except AuditError as exc:
                self.notify(str(exc), title="Closed", severity="error")
                self.app.pop_screen()
                return
        self.view = view
        self.version = view.version
        self.sub_title = f"{view.case_ref} · Reconciliation"
        self.rows = list(view.disagreements() if self.only_disagreements else view.rows)
        self.query_one("#qa-title", Static).update(self._title(view))
        table = self.query_one(DataTable)
        table.clear()
        for r in self.rows:
            style = "bold red" if r.disagrees and not r.resolved else ""
            table.add_row(Text(r.question_id, style=style), _cell(r.primary), _cell(r.qa),
                          _cell(r.moderated), DECISIONS.get(r.decision or "", ""),
                          key=r.question_id)
        if self.rows:
            ids = [r.question_id for r in self.rows]
            table.move_cursor(row=ids.index(keep) if keep in ids else 0)
        self.show_detail()
        self.update_status()

    def _title(self, view: SideBySide) -> Text:
        total = len(view.disagreements())
        both = sum(r.primary is not None and r.qa is not None for r in view.rows)
        shown = "disagreements only" if self.only_disagreements else "every answered question"
        # Refs are data: a Text, never markup.
        title = Text()
        title.append(view.case_ref, style="bold")
        title.append(f" · {status_label(view.status)} · {both} question(s) rated by both · "
                     f"{total} disagreement(s) · {view.reconciled} of {total} reconciled · "
                     f"showing {shown}")
        return title

    def _current(self) -> Comparison | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    @on(DataTable.RowHighlighted)
    def highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted question in full: its label wrapped, both answers and notes."""
        row = self._current()
        question, primary, qa, moderated = (self.query_one(f"#qa-{w}", Static) for w in
                                            ("question", "primary", "qa", "moderated"))
        if row is None:
            question.update("No disagreements: the two ratings agree on every question both "
                            "answered." if self.only_disagreements else "Nothing answered.")
            for w in (primary, qa, moderated):
                w.update("")
            return
        # Rich applies a Text's own style to all of it: each part carries its style.
        heading = Text()
        heading.append(f"{row.question_id} · {row.section}\n{row.label}", style="bold")
        if row.text and row.text != row.label:
            heading.append(f"\n{row.text}", style="")
        question.update(heading)
        primary.update(self._side("Primary", row.primary_by, row, row.primary,
                                  row.primary_note))
        qa.update(self._side("Blind QA", row.qa_by, row, row.qa, row.qa_note))
        if row.moderated is None:
            moderated.update(Text("Moderated: not yet reconciled", style="bold red")
                             if row.disagrees else Text("Moderated: none"))
            return
        text = Text()
        text.append(f"Moderated: {row.code_label(row.moderated)} ({row.moderated}) · "
                    f"{DECISIONS.get(row.decision or '', '')}", style="bold")
        if row.moderated_by:
            text.append(f" · {row.moderated_by}")
        if row.moderated_note:
            text.append("\nComment: ", style="bold")
            text.append(preview(row.moderated_note, NOTE_SHOWN))
        moderated.update(text)

    @staticmethod
    def _side(title: str, who: str | None, row: Comparison, value: str | None,
              note: str | None) -> Text:
        text = Text()
        text.append(title, style="bold underline")
        if who:
            text.append(f" · {who}")
        text.append("\nAnswer: ")
        text.append(f"{row.code_label(value)}" + (f" ({value})" if value else ""),
                    style="bold")
        text.append("\nNote: ")
        text.append(preview(note, NOTE_SHOWN) if note else "none",
                    style="" if note else "italic")
        return text

    def update_status(self, hint: str = "") -> None:
        view = self.view
        if view is None:
            return
        if view.refusal:
            line = view.refusal
        elif not view.disagreements():
            line = "No disagreements to reconcile."
        elif not view.all_reconciled:
            line = ("p accepts the primary answer · q the QA answer · y/n/a (1-9) give a "
                    "third answer, with a comment · x clears")
        elif view.may_mark_moderated and self.ws.may("moderate_case"):
            line = "Every disagreement is reconciled: M marks the case moderated."
        elif view.status in ("moderated", "locked"):
            line = f"Every disagreement is reconciled; the case is {status_label(view.status)}."
        else:
            line = ("Every disagreement is reconciled; a lead marks the case moderated once "
                    "it is QA-checked.")
        text = Text()
        text.append(f"{view.reconciled} of {len(view.disagreements())} reconciled · ",
                    style="bold")
        text.append(hint or line)
        self.query_one("#qa-status", Static).update(text)

    # -- decisions -------------------------------------------------------------------------

    def _refused(self) -> bool:
        """Say at once why the reader may not moderate (the use case would refuse)."""
        if self.view is not None and self.view.refusal:
            self.notify(self.view.refusal, title="Not saved", severity="error")
            self.update_status(self.view.refusal)
            return True
        return False

    def action_take(self, which: str) -> None:
        row = self._current()
        if row is None or self._refused():
            return
        value = row.primary if which == "primary" else row.qa
        if value is None:
            self.update_status(f"{row.question_id} has no {which} answer to accept.")
            return
        self.record(row, value, None)

    def action_moderate(self, value: str) -> None:
        row = self._current()
        if row is None or self._refused():
            return
        if value not in dict(row.codes):
            self.update_status(f"{LETTERS.get(value, value)} is no answer to "
                               f"{row.question_id} (its answers: "
                               f"{', '.join(c for c, _ in row.codes)}).")
            return
        if value not in (row.primary, row.qa):
            self.ask_comment(row, value)
            return
        self.record(row, value, None)

    def action_choose(self, number: int) -> None:
        row = self._current()
        if row is None:
            return
        codes = [c for c, _ in row.codes]
        if not 1 <= number <= len(codes):
            self.update_status(f"{row.question_id} has {len(codes)} answer(s).")
            return
        self.action_moderate(codes[number - 1])

    def action_clear(self) -> None:
        row = self._current()
        if row is None or self._refused() or row.moderated is None:
            return
        self.record(row, None, None)

    def ask_comment(self, row: Comparison, value: str) -> None:
        """A third answer: recorded only with a comment saying why."""
        why = (f"{row.question_id}: primary {row.code_label(row.primary)}, QA "
               f"{row.code_label(row.qa)}. The moderated answer "
               f"{row.code_label(value)} is neither: say why.")

        def given(comment: str | None) -> None:
            if comment:
                self.record(row, value, comment)

        self.app.push_screen(CommentModal(f"Third answer for {row.question_id}", why), given)

    def record(self, row: Comparison, value: str | None, comment: str | None,
               reason: str | None = None) -> None:
        """Store one decision (`audit.cases.moderate`), then show where things stand."""
        try:
            change = cases.moderate(self.ws.db, self.case_id, row.question_id, value,
                                    comment=comment, actor=self.ws.actor,
                                    expected_version=self.version, seen=row.moderated,
                                    seen_comment=row.moderated_note, reason=reason)
        except ReasonRequired as exc:
            # A moderated case goes back to QA-checked first: the lifecycle asks why.
            def decided(why: str | None) -> None:
                if why:
                    self.record(row, value, comment, why)

            self.app.push_screen(ReasonModal(f"Reopen case {exc.case_ref}?", str(exc),
                                             "Reopen"), decided)
            return
        except AuditError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            self.reload(row.question_id)
            self.update_status(str(exc))
            return
        if change.cleared:
            self.notify(f"Hidden by rule (kept): {', '.join(change.cleared)}",
                        severity="warning")
        self.reload(self._next_after(row.question_id))
        self.offer_mark_moderated()

    def _next_after(self, question_id: str) -> str:
        """The next disagreement still to reconcile (else the question itself)."""
        assert self.view is not None
        ids = [r.question_id for r in self.view.rows]
        start = ids.index(question_id) if question_id in ids else 0
        waiting = [r.question_id for r in self.view.disagreements() if not r.resolved]
        later = [q for q in waiting if ids.index(q) > start]
        return (later or waiting or [question_id])[0]

    def offer_mark_moderated(self) -> None:
        """Once everything is reconciled, ask a lead whether to mark the case moderated."""
        view = self.view
        if view is None or self.offered or not view.disagreements() \
                or not view.may_mark_moderated or not self.ws.may("moderate_case"):
            return
        self.offered = True

        def decided(yes: bool | None) -> None:
            if yes:
                self.action_mark_moderated()

        self.app.push_screen(ConfirmModal(
            f"All {len(view.disagreements())} disagreement(s) of case {view.case_ref} are "
            "reconciled. Mark the case moderated?"), decided)

    def action_mark_moderated(self) -> None:
        if self.view is None or self._refused():
            return
        try:
            cases.mark_moderated(self.ws.db, self.case_id, actor=self.ws.actor,
                                 expected_version=self.version)
        except AuditError as exc:
            self.notify(str(exc), title="Not moderated", severity="error")
            self.reload(getattr(self._current(), "question_id", None))
            self.update_status(str(exc))
            return
        self.notify(f"Case {self.view.case_ref} is moderated.", title="Moderated")
        self.reload(getattr(self._current(), "question_id", None))

    def action_toggle_all(self) -> None:
        self.only_disagreements = not self.only_disagreements
        self.reload(getattr(self._current(), "question_id", None))

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Marking moderated is a lead's move: not offered to others (the use case refuses).
        return action != "mark_moderated" or self.ws.may("moderate_case")
