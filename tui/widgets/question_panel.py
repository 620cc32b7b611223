"""The current question: its text, guidance, answer choices with keys, and the note box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static, TextArea

from audit.cases import AnswerView
from question_sets import Question

LETTER_KEYS = {"yes": "y", "no": "n", "na": "a"}


def choice_keys(question: Question) -> list[tuple[str, str, str]]:
    """(keys, code, label) for each answer choice: letters for yes/no/na, digits for all."""
    out = []
    for n, (code, label) in enumerate(question.codes.items(), start=1):
        digit = str(n) if n <= 9 else ""
        letter = LETTER_KEYS.get(code, "") if question.type in ("yes_no", "yes_no_na") else ""
        keys = "/".join(k for k in (letter, digit) if k)
        out.append((keys, code, label))
    return out


class NoteArea(TextArea):
    """The note box: escape leaves it (the case screen saves the note on leaving)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave note", id="note.leave"),
    ]

    class Left(Message):
        """Focus left the note box (escape, tab elsewhere, a click)."""

    def action_leave(self) -> None:
        self.screen.set_focus(None)

    def on_blur(self, event: events.Blur) -> None:
        self.post_message(self.Left())


@dataclass(frozen=True)
class PanelState:
    """Everything the panel shows about one question."""

    question: Question
    position: int
    count: int
    value: str | None
    applies: bool
    answer: AnswerView | None
    read_only: bool = False
    blind: bool = False


class QuestionPanel(VerticalScroll):
    """Shows one question; the case screen owns the keys and the saving."""

    can_focus = False

    def compose(self) -> ComposeResult:
        yield Static("", id="q-where", classes="muted")
        yield Static("", id="q-text")
        yield Static("", id="q-rule", classes="muted")
        yield Static("", id="q-choices")
        yield Input(placeholder="Type the answer, then enter", id="q-input", compact=True)
        yield Static("", id="q-guidance")
        yield Label("Note  (e or tab to type · escape to leave · saved as you go)",
                    id="q-note-label", classes="muted")
        yield NoteArea(id="note", soft_wrap=True, tab_behavior="focus")

    def show(self, state: PanelState) -> None:
        """Render a question (the note box is filled by the screen, which owns it)."""
        q = state.question
        flags = [q.section_title, f"question {state.position} of {state.count}", q.id]
        if q.key:
            flags.append("key question")
        if not q.required:
            flags.append("optional")
        self.query_one("#q-where", Static).update(escape(" · ".join(flags)))
        self.query_one("#q-text", Static).update(f"[b]{escape(q.text)}[/b]")
        rule = self.query_one("#q-rule", Static)
        if not state.applies:
            rule.update(f"Not applicable by rule (applies when {escape(q.applies_when or '')}) "
                        "— skipped by j/k.")
        elif q.applies_when:
            rule.update(f"Asked because {escape(q.applies_when)}")
        else:
            rule.update("")
        self.query_one("#q-choices", Static).update(self._choices(state))
        typed = q.type in ("text", "integer")
        answer_input = self.query_one("#q-input", Input)
        answer_input.display = typed and state.applies
        if typed:
            answer_input.value = state.value or ""
        guidance = "\n".join(f" • {escape(g)}" for g in q.guidance)
        self.query_one("#q-guidance", Static).update(
            f"[b]Guidance[/b]\n{guidance}" if guidance else "")
        note = self.query_one(NoteArea)
        note.disabled = not state.applies or state.read_only
        self.scroll_home(animate=False)

    def _choices(self, state: PanelState) -> str:
        q = state.question
        if q.type in ("text", "integer"):
            return "Answer: press enter to type it." + self._current(state)
        chosen = set((state.value or "").split(";")) if q.type == "multi_choice" else {state.value}
        parts = []
        for keys, code, label in choice_keys(q):
            text = f"[b]{keys}[/b] {escape(label)}"
            parts.append(f"[reverse]{text}[/reverse]" if code in chosen else text)
        hint = "   (digits toggle; several allowed)" if q.type == "multi_choice" else ""
        return "   ".join(parts) + hint + "   [dim]x clears[/dim]" + self._current(state)

    @staticmethod
    def _current(state: PanelState) -> str:
        if state.value is None:
            return "\nAnswer: [b]·[/b] not answered"
        by = ""
        if state.answer is not None and state.answer.inspector:
            by = f"  [dim](by {escape(state.answer.inspector)})[/dim]"
        return f"\nAnswer: [b green]✓ {escape(state.value)}[/b green]{by}"
