"""Small dialogs that return typed values: conflicts, missing answers, drafts, reasons."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from audit.text_rules import preview

Resolution = Literal["mine", "theirs"]


def _shown(value: str | None) -> str:
    # A note can be long: the dialog shows its start (audit.text_rules.preview).
    return preview(value, 500) if value is not None else "(empty)"


class ConflictModal(ModalScreen[Resolution]):
    """Someone else changed what I edited: keep mine or take theirs (never silent)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "choose('mine')", "Keep mine", id="conflict.mine"),
        Binding("t,escape", "choose('theirs')", "Take theirs", id="conflict.theirs"),
    ]

    def __init__(self, what: str, mine: str | None, theirs: str | None) -> None:
        super().__init__()
        self.what, self.mine, self.theirs = what, mine, theirs

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Someone else changed this case[/b]", classes="heading")
            yield Static(f"{escape(self.what)} was changed by another inspector since you "
                         "opened the case. Nothing was overwritten.")
            # Answers and notes are free text: shown as typed, never read as markup.
            yield Static(f"Mine:   [b]{escape(_shown(self.mine))}[/b]")
            yield Static(f"Theirs: [b]{escape(_shown(self.theirs))}[/b]")
            with Horizontal(classes="buttons"):
                yield Button("Keep mine (m)", id="mine", variant="warning")
                yield Button("Take theirs (t)", id="theirs", variant="primary")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.action_choose("mine" if event.button.id == "mine" else "theirs")

    def action_choose(self, choice: Resolution) -> None:
        self.dismiss(choice)


class MissingModal(ModalScreen[str | None]):
    """Why a case cannot be completed: the required questions still unanswered.

    Returns the question id to jump to (the highlighted one; the first by default).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Go to first", id="missing.close"),
    ]

    def __init__(self, missing: list[tuple[str, str]]) -> None:
        super().__init__()
        self.missing = missing

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"[b]Not complete: {len(self.missing)} required question(s) "
                         "unanswered[/b]", classes="heading")
            yield OptionList(*[Option(Text(f"{qid}  {label}"), id=qid)
                               for qid, label in self.missing],
                             id="missing")
            yield Static("enter: go to the question · escape: go to the first", classes="muted")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(self.missing[0][0] if self.missing else None)


class DraftsModal(ModalScreen[bool]):
    """Notes typed earlier but never saved (a crash, a killed terminal): restore them?"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r,enter", "choose(True)", "Restore", id="drafts.restore"),
        Binding("d,escape", "choose(False)", "Discard", id="drafts.discard"),
    ]

    def __init__(self, drafts: dict[str, str]) -> None:
        super().__init__()
        self.drafts = drafts

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Unsaved notes found[/b]", classes="heading")
            yield Static("These notes were being typed when the app last closed:")
            for qid, text in self.drafts.items():
                short = text if len(text) <= 60 else text[:59] + "…"
                yield Static(Text(f"  {qid}: {short}"))  # a note, as typed
            with Horizontal(classes="buttons"):
                yield Button("Restore (r)", id="restore", variant="primary")
                yield Button("Discard (d)", id="discard")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "restore")

    def action_choose(self, restore: bool) -> None:
        self.dismiss(restore)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "choose(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "choose(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", id="yes", variant="primary")
                yield Button("No (n)", id="no")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_choose(self, answer: bool) -> None:
        self.dismiss(answer)


class TextEntryModal(ModalScreen[str | None]):
    """A dialog that asks for one line of text the change is recorded with (a reason, a
    comment): its heading and sentences, the field, and a button that records it. Returns
    the text, or None to cancel; empty text is refused with `missing`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="text_entry.cancel"),
    ]

    def __init__(self, title: str, lines: list[str], *, prompt: str, placeholder: str,
                 field_id: str, max_length: int, ok: str, missing: str,
                 dialog_id: str | None = None) -> None:
        super().__init__()
        self.title_text, self.lines = title, lines
        self.prompt, self.placeholder, self.field_id = prompt, placeholder, field_id
        self.max_length, self.ok, self.missing, self.dialog_id = (max_length, ok, missing,
                                                                  dialog_id)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id=self.dialog_id):
            yield Static(Text(self.title_text, style="bold"), classes="heading")
            for line in self.lines:  # case refs, answers and labels are data, never markup
                yield Static(Text(line))
            yield Static(self.prompt)
            yield Input(placeholder=self.placeholder, id=self.field_id,
                        max_length=self.max_length)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.ok} (enter)", id="ok", variant="warning")
                yield Button("Cancel (escape)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.confirm()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.confirm()
        else:
            self.action_cancel()

    def confirm(self) -> None:
        text = self.query_one(Input).value.strip()
        if not text:
            self.notify(self.missing, severity="warning")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReasonModal(TextEntryModal):
    """Why a signed-off case is reopened (or a locked one unlocked): the reason goes into
    the audit trail beside the status change. Returns the reason, or None to cancel."""

    def __init__(self, title: str, why: str, action: str) -> None:
        super().__init__(title, [why[:1].upper() + why[1:]],
                         prompt="Reason (kept in the audit trail):",
                         placeholder="e.g. 2.1.1 was answered for the wrong case",
                         field_id="reason", max_length=500, ok=action,
                         missing="Give a reason: it is recorded with the change.")


class CommentModal(TextEntryModal):
    """Why a moderated answer departs from both ratings: the comment is stored as the
    moderated answer's note. Returns the comment, or None to cancel (a third answer is
    never recorded without one)."""

    def __init__(self, title: str, why: str) -> None:
        super().__init__(title, [why], prompt="Comment (kept with the moderated answer):",
                         placeholder="e.g. no risk assessment on file: not applicable",
                         field_id="comment", max_length=2_000, ok="Record",
                         missing="Give a comment: a third answer says why it departs from "
                                 "both ratings.")
