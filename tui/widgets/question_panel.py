"""The current question: its text, guidance, answer choices with keys, and the note box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static, TextArea

from audit.cases import AnswerView
from audit.formatting import format_count
from audit.text_rules import NOTE_MAX, preview
from question_sets import Question

LETTER_KEYS = {"yes": "y", "no": "n", "na": "a"}
LONG_NOTE_SHOWN = 600  # characters of a note too long to edit shown in its place
NOTE_LABEL = "Note  (e to type · escape to leave · saved as you go)"


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
    why: str = ""  # why it is asked, or not, in words (audit.rule_words)


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
        yield Label(NOTE_LABEL, id="q-note-label", classes="muted")
        yield Static("", id="q-note-long")
        yield NoteArea(id="note", soft_wrap=True, tab_behavior="focus")

    def show_long_note(self, text: str | None) -> None:
        """Show a note too long to edit (stored before notes were capped) shortened and
        read-only in place of the note box; None shows the box again."""
        long_note = self.query_one("#q-note-long", Static)
        long_note.display = text is not None
        self.query_one(NoteArea).display = text is None
        if text is not None:
            # Only the first characters are laid out: a 5 MB note never reaches a widget.
            long_note.update(Text(preview(text, LONG_NOTE_SHOWN)))
            self.query_one("#q-note-label", Label).update(
                f"Note (read-only: longer than {format_count(NOTE_MAX)} characters, stored by "
                "an older "
                "version; shown shortened)")
        else:
            self.note_length(0)

    def note_length(self, length: int) -> None:
        """Warn in the label when the note being typed is longer than a note may be."""
        label = self.query_one("#q-note-label", Label)
        if length > NOTE_MAX:
            label.update(Text(f"Note too long: {format_count(length)} characters, at most "
                              f"{format_count(NOTE_MAX)} "
                              "are kept; shorten it or it is not saved", style="bold red"))
        else:
            label.update(NOTE_LABEL)

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
        rule.update(Text(state.why + (" Skipped by j/k." if not state.applies else "")
                         if state.why else ""))
        rule.display = bool(state.why)
        self.query_one("#q-choices", Static).update(self._choices(state))
        typed = q.type in ("text", "integer")
        answer_input = self.query_one("#q-input", Input)
        answer_input.display = typed and state.applies
        if typed:
            answer_input.value = state.value or ""
        guidance = "\n".join(f" • {escape(g)}" for g in q.guidance)
        self.query_one("#q-guidance", Static).update(
            f"[b]Guidance[/b] [dim](g hides or shows)[/dim]\n{guidance}" if guidance else "")
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
        shown = escape(answer_label(state.question, state.value))
        return f"\nAnswer: [b green]● {shown}[/b green]{by}"


def answer_label(question: Question, value: str) -> str:
    """An answer as the question set words it: its codes' labels ("Yes", "Not
    applicable"; several choices joined by commas), typed answers as typed."""
    if question.type in ("text", "integer"):
        return value
    return ", ".join(question.codes.get(c, c) for c in value.split(";") if c)
