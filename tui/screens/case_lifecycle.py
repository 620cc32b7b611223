"""The case screen's lifecycle: status keys, the reason dialog, undo, what an edit did.

`CaseScreen` (`tui/screens/case.py`) is built on this: the use cases decide
(`audit.cases`, `audit.lifecycle`); this part asks for a reason when a use case needs
one, retries with it, and says what changed (status, answers hidden or back by rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from audit import cases, lifecycle
from audit.cases import CaseView, Change, IncompleteError, ReasonRequired
from audit.errors import AuditError
from question_sets import Question
from question_sets.profile import CASE_STATUS
from tui.screens.base import IomScreen
from tui.screens.modals import MissingModal, ReasonModal


class CaseLifecycle(IomScreen):
    """Status keys, reasons and undo of one case (the rest is CaseScreen's)."""

    case_id: int
    rater: str
    view: CaseView | None
    version: int
    last_saved: str
    current: str  # the question shown

    # -- what CaseScreen provides ----------------------------------------------------------

    def reload(self) -> None:
        """Read the case again and show it."""
        raise NotImplementedError

    def commit_note(self) -> None:
        """Save the note being typed."""
        raise NotImplementedError

    def goto(self, qid: str) -> None:
        """Make a question current."""
        raise NotImplementedError

    @property
    def locked(self) -> bool:
        """A locked case is read-only until a lead unlocks it."""
        return self.view is not None and self.view.status == lifecycle.LOCKED

    @property
    def read_only_reason(self) -> str | None:
        """Why this rating cannot be changed here (None: it can): the case is locked, or
        it is allocated to someone else, whose primary rating it is (`audit.allocation`)."""
        if self.view is None:
            return None
        if self.locked:
            return "The case is locked: it is read-only until a lead unlocks it (L)."
        refusal = self.view.primary_refusal if self.rater == "primary" else None
        return refusal[:1].upper() + refusal[1:] + "." if refusal else None

    @property
    def read_only(self) -> bool:
        """Whether the rating shown cannot be changed (see `read_only_reason`)."""
        return self.read_only_reason is not None

    def question(self, qid: str | None = None) -> Question:
        """A question of the set (the current one by default)."""
        return self.ws.qs.question(qid or self.current)

    # -- what an edit did ------------------------------------------------------------------

    def announce(self, change: Change, was: str | None) -> None:
        """Say what the edit did beyond itself: a status change, answers hidden or back."""
        now = change.status
        if was not in (None, lifecycle.NOT_STARTED) and now is not None and now != was:
            why = " (a required answer is missing)" if change.withdrawn else ""
            self.notify(f"Case {self.view.case_ref if self.view else ''} is now "
                        f"{lifecycle.label(now)}{why}.", title="Status changed",
                        severity="warning")
        if change.cleared:
            labels = ", ".join(self.question(q).label for q in change.cleared)
            self.notify(f"Hidden by rule (no longer applies; kept, and back if it applies "
                        f"again): {labels}", title="Answers hidden", severity="warning",
                        timeout=8)
        if change.restored:
            labels = ", ".join(self.question(q).label for q in change.restored)
            self.notify(f"Back by rule (applies again): {labels}", title="Answers restored",
                        timeout=8)

    def ask_reason(self, refused: ReasonRequired, retry: Callable[[str], object],
                   cancelled: Callable[[], None] | None = None) -> None:
        """Ask why a signed-off case is reopened (or a locked one unlocked), then retry."""
        unlocking = refused.current == lifecycle.LOCKED
        title = (f"Unlock case {refused.case_ref}?" if unlocking
                 else f"Reopen case {refused.case_ref}?")

        def decided(reason: str | None) -> None:
            if reason:
                retry(reason)
                return
            if cancelled is not None:
                cancelled()
            self.notify("Nothing was changed: the case stays "
                        f"{lifecycle.label(refused.current)}.", title="Not changed")

        self.app.push_screen(ReasonModal(title, str(refused),
                                         "Unlock" if unlocking else "Reopen"), decided)

    # -- status ----------------------------------------------------------------------------

    def set_status(self, status: str, reason: str | None = None) -> None:
        self.commit_note()
        was = self.view.status if self.view is not None else None
        try:
            change = cases.set_status(self.ws.db, self.case_id, status, actor=self.ws.actor,
                                      expected_version=self.version, reason=reason)
        except IncompleteError as exc:
            self.show_missing(exc.missing)
            return
        except ReasonRequired as exc:
            self.ask_reason(exc, lambda why: self.set_status(status, why))
            return
        except AuditError as exc:
            self.notify(str(exc), title="Not changed", severity="error")
            return
        self.version = change.version
        self.reload()
        if was != status:
            self.notify(f"Case {self.view.case_ref if self.view else ''} is now "
                        f"{CASE_STATUS[status]}.", title="Status")
        if change.cleared or change.restored:
            self.announce(replace(change, status=status), status)

    def show_missing(self, missing: list[str]) -> None:
        rows = [(qid, self.question(qid).label) for qid in missing]

        def jump(qid: str | None) -> None:
            if qid:
                self.goto(qid)

        self.app.push_screen(MissingModal(rows), jump)

    def action_complete(self) -> None:
        self.set_status("complete")

    def action_qa_checked(self) -> None:
        self.set_status("qa_checked")

    def action_moderated(self) -> None:
        self.set_status(lifecycle.MODERATED)

    def action_toggle_lock(self) -> None:
        # Unlocking reopens the case for changes (and asks why); locking signs it off.
        self.set_status(lifecycle.IN_PROGRESS if self.locked else lifecycle.LOCKED)

    # -- undo ------------------------------------------------------------------------------

    def action_undo(self) -> None:
        """Put back what my last answer or note change of this case replaced."""
        self.commit_note()
        try:
            change = cases.undo_last_change(self.ws.db, self.case_id, actor=self.ws.actor,
                                            expected_version=self.version, rater=self.rater)
        except AuditError as exc:
            self.notify(str(exc), title="Nothing undone", severity="warning")
            return
        was = self.view.status if self.view is not None else None
        self.version = change.version
        self.last_saved = "undone"
        self.reload()
        self.notify("Your last change of this case was undone.", title="Undone")
        self.announce(change, was)
