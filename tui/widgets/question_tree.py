"""The question set as a list by standard, each question marked with its state.

An option list rather than a tree: its lines wrap, so a long label is never cut at any
width, and the pane can take a share of the terminal instead of a fixed width.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from question_sets import Question, QuestionSet

NA = "na"
NOTE_MARK = "✎"
QUERY_MARK = "⚑"
QUERY_STYLES = {"open": "bold red", "answered": "bold magenta"}
"""A data query not yet closed on the answer: open (awaiting the assignee) or answered
(awaiting QA)."""


def answer_word(question: Question, value: str) -> str:
    """What an answer reads as in a mark: the code's label, lower case for yes/no/na
    ("yes", "no", "n/a"), the number chosen for several choices."""
    if question.type == "multi_choice":
        chosen = [c for c in value.split(";") if c]
        return f"{len(chosen)} chosen"
    if value == NA:
        return "n/a"
    if question.type in ("yes_no", "yes_no_na"):
        return value
    return question.codes.get(value, value)


def mark(question: Question, value: str | None, applies: bool, note: bool = False,
         query: str | None = None) -> Text:
    """A question's line: ● and the answer when answered, ○ when not, greyed when the
    question is not asked by rule; ✎ when it has a note; ⚑ and the query's status when a
    data query on it is not closed."""
    noted = (f" {NOTE_MARK}", "bold yellow") if note else ("", "")
    queried = (f" {QUERY_MARK} {query}", QUERY_STYLES.get(query, "bold")) if query else ("", "")
    if not applies:
        return Text.assemble(("–  ", "dim"), (question.label, "dim italic"),
                             (" (not asked)", "dim"), noted, queried)
    if value is None:
        return Text.assemble(("○  ", "bold"), question.label, noted, queried)
    return Text.assemble(("● ", "bold green"), (answer_word(question, value), "green"),
                         "  ", question.label, noted, queried)


class QuestionTree(OptionList):
    """Standards (sections) with their questions; option ids are the question ids.

    It takes no focus: the case screen owns the keys (j/k, ]/[), and the list follows.
    """

    can_focus = False

    def __init__(self, qs: QuestionSet, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, disabled: bool = False) -> None:
        options: list[Option] = []
        for section in qs.sections:
            options.append(Option(Text(f"{section.id} {section.title}", style="bold"),
                                  id=f"section:{section.id}", disabled=True))
            options += [Option(q.label, id=q.id) for q in section.questions]
        super().__init__(*options, name=name, id=id, classes=classes, disabled=disabled)
        self.qs = qs
        self._shown: dict[str, Text] = {}  # each line as last drawn

    def _set(self, option_id: str, prompt: Text) -> bool:
        """Give a line its new prompt without redrawing (False: it had it already)."""
        if self._shown.get(option_id) == prompt:
            return False
        self._shown[option_id] = prompt
        # OptionList.replace_option_prompt lays the whole list out again on each call;
        # an answer changes two or three lines, so they are set first and laid out once.
        self.get_option(option_id)._set_prompt(prompt)
        return True

    def refresh_marks(self, values: Mapping[str, str | None], applicable: Mapping[str, bool],
                      notes: Collection[str] = (),
                      queried: Mapping[str, str] | None = None) -> None:
        """Relabel every question (and each standard with its answered count); `queried`:
        question id -> the status of its data query not yet closed."""
        queried = queried or {}
        changed = False
        for section in self.qs.sections:
            done = total = 0
            for q in section.questions:
                applies = applicable.get(q.id, True)
                value = values.get(q.id)
                changed |= self._set(q.id, mark(q, value, applies, q.id in notes,
                                                queried.get(q.id)))
                if applies:
                    total += 1
                    done += value is not None
            changed |= self._set(f"section:{section.id}", Text.assemble(
                (f"{section.id} {section.title}", "bold"), (f"  {done}/{total}", "dim")))
        if changed:
            self._clear_caches()

    def prompt_of(self, qid: str) -> str:
        """A question's line as plain text (what the list shows)."""
        return str(self.get_option(qid).prompt)

    def show_question(self, qid: str) -> None:
        """Highlight a question and scroll it into view."""
        self.highlighted = self.get_option_index(qid)
        self.scroll_to_highlight()
