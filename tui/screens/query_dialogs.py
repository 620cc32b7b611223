"""Dialogs of a data query on the case screen: opening one with a comment, and a query's
thread with the steps the person may take (respond, change the answer, close, re-open).

They only collect what the person types and return it (`QueryRequest`); the case screen
calls the use cases (`audit.queries`), which decide and may still refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Select, Static

from audit.lifecycle import REASON_MAX
from audit.text_rules import COMMENT_MAX, preview
from audit.views.queries import Thread
from question_sets import Question
from tui.screens.modals import TextEntryModal

# What each step asks for, and the words of its box.
PROMPTS = {
    "respond": ("Your response (the answer stays as it is):", "Respond"),
    "change": ("Why the answer changes (kept in the thread and the audit trail):",
               "Change the answer"),
    "close": ("A comment (needed when nobody has responded):", "Close"),
    "reopen": ("What is still wrong:", "Re-open"),
}
CLEAR = "__clear__"


@dataclass(frozen=True)
class QueryRequest:
    """A step the person asked for: its action, the text typed and (a change) the value."""

    action: str
    text: str
    value: str | None = None


def _answer_line(question: Question, value: str | None) -> str:
    if value is None:
        return "no answer"
    return f"{value} ({question.codes[value]})" if value in question.codes else value


class OpenQueryModal(TextEntryModal):
    """Open a query on the current question's answer: returns the comment, or None."""

    PALETTE_GROUP = "Open a query"

    def __init__(self, case_ref: str, question: Question, rater: str,
                 value: str | None) -> None:
        super().__init__(
            f"Open a query on {question.id} of case {case_ref}",
            [question.label, f"The {rater} answer: {_answer_line(question, value)}"],
            prompt="Comment: what is wrong or unclear (kept in the thread and the audit "
                   "trail):",
            placeholder="e.g. no RoSH assessment on file before release",
            field_id="query-comment", max_length=COMMENT_MAX, ok="Open the query",
            missing="Give a comment: it says what the query is about.",
            dialog_id="open-query")
        self.case_ref, self.question, self.rater, self.value = case_ref, question, rater, value


class ThreadModal(ModalScreen[QueryRequest | None]):
    """A query's thread, and the steps this person may take on it (`allowed`)."""

    PALETTE_GROUP = "Query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "step('respond')", "Respond", id="thread.respond"),
        Binding("a", "step('change')", "Change the answer", id="thread.change"),
        Binding("c", "step('close')", "Close the query", id="thread.close"),
        Binding("o", "step('reopen')", "Re-open the query", id="thread.reopen"),
        Binding("escape", "back", "Back", id="thread.back"),
    ]

    def __init__(self, thread: Thread, question: Question, value: str | None,
                 allowed: frozenset[str]) -> None:
        super().__init__()
        self.thread, self.question, self.value, self.allowed = thread, question, value, allowed
        self.mode: str | None = None

    def compose(self) -> ComposeResult:
        q = self.thread.query
        with Vertical(classes="dialog", id="thread"):
            yield Static(Text(f"Query #{q.id} on {q.question_id} ({q.rater}) of case "
                              f"{q.case_ref}: {q.status_label}", style="bold"),
                         classes="heading")
            yield Static(Text(f"Assigned to {q.assignee or 'nobody (a lead answers it)'}; "
                              f"opened by {q.opened_by}. The answer now: "
                              f"{_answer_line(self.question, self.value)}"))
            with VerticalScroll(id="thread-messages"):
                for m in self.thread.messages:
                    change = (f" [{m.old_value or '∅'} → {m.new_value or '∅'}]"
                              if m.action == "change" else "")
                    # Comments are what people typed: text, never markup.
                    yield Static(Text.assemble(
                        (f"{m.at:%Y-%m-%d %H:%M} {m.author} · {m.action_label}{change}",
                         "bold"), "\n", preview(m.text or "(no comment)", 1_000)),
                        classes="thread-message")
            yield Static(self.keys_line(), id="thread-keys", classes="muted")
            yield Static("", id="thread-prompt")
            yield Select(self.choices(), id="thread-value", prompt="New answer",
                         allow_blank=True)
            yield Input(id="thread-value-typed", placeholder="New answer (typed; '' clears)")
            yield Input(id="thread-text", max_length=COMMENT_MAX)
        yield Footer()

    def keys_line(self) -> str:
        offered = [f"{key} {PROMPTS[a][1].lower()}" for key, a in
                   (("r", "respond"), ("a", "change"), ("c", "close"), ("o", "reopen"))
                   if a in self.allowed]
        return " · ".join([*offered, "escape back"]) if offered else \
            "Nothing for you to do on this query now · escape back"

    def choices(self) -> list[tuple[str, str]]:
        options = [(f"{code}: {label}", code) for code, label in self.question.codes.items()]
        return [*options, ("(clear the answer)", CLEAR)]

    def on_mount(self) -> None:
        self.show_mode(None)

    def typed_value(self) -> bool:
        return not self.question.codes or self.question.type in ("text", "integer",
                                                                 "multi_choice")

    def show_mode(self, mode: str | None) -> None:
        self.mode = mode
        prompt = self.query_one("#thread-prompt", Static)
        text = self.query_one("#thread-text", Input)
        select = self.query_one("#thread-value", Select)
        typed = self.query_one("#thread-value-typed", Input)
        prompt.update(Text(PROMPTS[mode][0]) if mode else "")
        text.display = mode is not None
        changing = mode == "change"
        select.display = changing and not self.typed_value()
        typed.display = changing and self.typed_value()
        text.max_length = REASON_MAX if changing else COMMENT_MAX
        text.value = ""
        if mode is None:
            self.set_focus(None)
        elif changing:
            (typed if self.typed_value() else select).focus()
        else:
            text.focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step":
            return None if self.mode else (parameters[0] in self.allowed) or False
        return True

    def action_step(self, action: str) -> None:
        if action in self.allowed and self.mode is None:
            self.show_mode(action)

    def action_back(self) -> None:
        if self.mode is not None:
            self.show_mode(None)
            return
        self.dismiss(None)

    @on(Select.Changed, "#thread-value")
    def value_chosen(self) -> None:
        if self.mode == "change":
            self.query_one("#thread-text", Input).focus()

    @on(Input.Submitted, "#thread-value-typed")
    def value_typed(self) -> None:
        self.query_one("#thread-text", Input).focus()

    @on(Input.Submitted, "#thread-text")
    def submitted(self) -> None:
        mode = self.mode
        if mode is None:
            return
        text = self.query_one("#thread-text", Input).value.strip()
        if not text and mode != "close":
            self.notify("Write something first: it goes into the thread.", severity="warning")
            return
        value: str | None = None
        if mode == "change":
            if self.typed_value():
                value = self.query_one("#thread-value-typed", Input).value.strip() or None
            else:
                chosen = self.query_one("#thread-value", Select).value
                if chosen is Select.BLANK:
                    self.notify("Choose the new answer first.", severity="warning")
                    return
                value = None if chosen == CLEAR else str(chosen)
        self.dismiss(QueryRequest(mode, text, value))
