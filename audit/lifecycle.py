"""The case lifecycle: one state machine for the app, the command line and every import.

    not started -> in progress -> complete -> QA-checked -> moderated -> locked

`TRANSITIONS` is the whole machine: each allowed move, the permission it needs
(`audit.permissions`), whether the person must give a reason (recorded in the trail
beside the move), and whether the case must have every required answer first. A move
that is not in the table is refused, whoever asks.

Around the table, four rules:

* **Reopening.** A complete (or QA-checked, or moderated) case is signed off: changing
  its primary answers, notes or profile first moves it back to in progress, and that
  needs a reason. QA and moderated answers are the QA process itself and change freely
  on a complete or QA-checked case; once the case is moderated, changing them moves it
  back to QA-checked, with a reason (`reopen_target`).
* **Locked is read-only.** Nothing changes a locked case until a lead unlocks it, with a
  reason (`locked_refusal`).
* **Withdrawal.** A signed-off case that loses a required answer (a rule makes a new
  required question apply, an answer is cleared) goes back to in progress at once, in the
  same transaction and with its own trail event (`WITHDRAWN_REASON`).
* **Queries block locking.** A case with a data query that is not closed (open, or
  answered and awaiting QA) cannot be locked, in the app, on the command line or by a
  case file (`queries_refusal`); and no query is opened or re-opened on a locked case
  (`audit.queries`). So a locked case never has a query still to settle.

`audit.workflow` carries the moves out on stored cases; `audit.cases` and the importers
ask here what is allowed, so a move refused in one is refused in the others, in the same
words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from audit.errors import UsageError
from audit.text_rules import clean_name
from question_sets.profile import CASE_STATUS

NOT_STARTED, IN_PROGRESS, COMPLETE = "not_started", "in_progress", "complete"
QA_CHECKED, MODERATED, LOCKED = "qa_checked", "moderated", "locked"

SIGNED_OFF = (COMPLETE, QA_CHECKED, MODERATED, LOCKED)
"""Statuses that certify the primary rating (progress counts them as done)."""

JUDGED_AS = COMPLETE
"""Completeness is judged as if the case were complete, at every step: a question a
rule asks only of QA-checked cases belongs to the QA stage, not to the primary rating,
so it neither blocks a sign-off nor withdraws one."""

REASON_MAX = 500
"""Longest reason kept in the trail (characters)."""

WITHDRAWN_REASON = "withdrawn automatically: required answer(s) missing ({missing})"


@dataclass(frozen=True)
class Move:
    """What one status move needs: a permission, perhaps a reason, perhaps completeness."""

    action: str
    reason: bool = False
    complete: bool = False


TRANSITIONS: dict[tuple[str, str], Move] = {
    # Forward. Completing (or signing off in one step) needs every required answer.
    (NOT_STARTED, IN_PROGRESS): Move("complete"),
    (NOT_STARTED, COMPLETE): Move("complete", complete=True),
    (IN_PROGRESS, COMPLETE): Move("complete", complete=True),
    (IN_PROGRESS, QA_CHECKED): Move("qa_check", complete=True),
    (COMPLETE, QA_CHECKED): Move("qa_check", complete=True),
    (QA_CHECKED, MODERATED): Move("moderate_case", complete=True),
    (IN_PROGRESS, LOCKED): Move("lock", complete=True),
    (COMPLETE, LOCKED): Move("lock", complete=True),
    (QA_CHECKED, LOCKED): Move("lock", complete=True),
    (MODERATED, LOCKED): Move("lock", complete=True),
    # Back: reopening a signed-off case, or withdrawing a sign-off, needs a reason.
    (COMPLETE, IN_PROGRESS): Move("complete", reason=True),
    (QA_CHECKED, IN_PROGRESS): Move("complete", reason=True),
    (MODERATED, IN_PROGRESS): Move("complete", reason=True),
    (QA_CHECKED, COMPLETE): Move("qa_check", reason=True, complete=True),
    (MODERATED, QA_CHECKED): Move("moderate_case", reason=True, complete=True),
    # Unlocking: a lead, with a reason.
    (LOCKED, IN_PROGRESS): Move("lock", reason=True),
    (LOCKED, COMPLETE): Move("lock", reason=True, complete=True),
    (LOCKED, QA_CHECKED): Move("lock", reason=True, complete=True),
    (LOCKED, MODERATED): Move("lock", reason=True, complete=True),
}


class ReasonRequired(UsageError):
    """The change reopens (or unlocks) a case, and no reason was given."""

    def __init__(self, case_ref: str, current: str, target: str) -> None:
        self.case_ref, self.current, self.target = case_ref, current, target
        super().__init__(reason_refusal(case_ref, current, target))


def label(status: str) -> str:
    """A status as people read it ('QA-checked')."""
    return CASE_STATUS.get(status, status)


def check_status(status: str) -> None:
    """UsageError unless `status` is one of the statuses."""
    if status not in CASE_STATUS:
        raise UsageError(f"status must be one of {', '.join(CASE_STATUS)}, not {status!r}")


def move(current: str, target: str) -> Move:
    """The move from `current` to `target`, or UsageError naming the allowed ones."""
    check_status(target)
    found = TRANSITIONS.get((current, target))
    if found is None:
        raise UsageError(move_refusal(current, target))
    return found


def move_refusal(current: str, target: str) -> str:
    """Why a move that is not in the table is refused, with the moves that are."""
    allowed = [label(t) for (c, t) in TRANSITIONS if c == current]
    return (f"a case cannot go from {label(current)} to {label(target)} (from "
            f"{label(current)} it can go to {', '.join(allowed) or 'nothing'})")


def status_action(current: str, target: str) -> str:
    """The permission moving a case from `current` to `target` needs. For a move the table
    does not have, the permission moves into `target` need: someone who may not lock is
    told so before being told that a case cannot be locked from where it is."""
    found = TRANSITIONS.get((current, target))
    if found is not None:
        return found.action
    into = [m.action for (_, t), m in TRANSITIONS.items() if t == target]
    return into[0] if into else "complete"


def clean_reason(reason: str | None) -> str | None:
    """The reason as recorded: trimmed, one line, at most REASON_MAX characters (None if
    nothing is left)."""
    if reason is None:
        return None
    # Control, escape and invisible characters are refused as in names: a reason is
    # printed by `history`, where an escape sequence could rewrite the lines above it.
    text = clean_name(" ".join(reason.split()), "the reason")
    if len(text) > REASON_MAX:
        raise UsageError(f"a reason is at most {REASON_MAX} characters ({len(text)} given)")
    return text or None


def reopen_target(status: str, rater: str | None) -> str | None:
    """The status an edit moves a case back to first (None: the edit changes no status).

    `rater` is whose answers or notes change (None: the profile). LOCKED is never
    reopened by an edit: see `locked_refusal`.
    """
    if status == LOCKED:
        return None
    if rater in (None, "primary"):
        return IN_PROGRESS if status in (COMPLETE, QA_CHECKED, MODERATED) else None
    return QA_CHECKED if status == MODERATED else None


def earliest(statuses: Iterable[str]) -> str:
    """The earliest of some statuses in the work-flow's order."""
    order = list(CASE_STATUS)
    return min(statuses, key=order.index)


def incomplete_refusal(case_ref: str, missing: list[str]) -> str:
    """Why a case cannot be signed off: the required questions still unanswered."""
    shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                       if len(missing) > 10 else "")
    return (f"case {case_ref} cannot be completed: {len(missing)} required question(s) "
            f"unanswered ({shown})")


def locked_refusal(case_ref: str) -> str:
    """Why an edit of a locked case is refused: a lead unlocks it first, with a reason."""
    return (f"case {case_ref} is locked: it can no longer be changed until a lead unlocks it "
            "(with a reason)")


UNCLOSED_QUERIES = ("open", "answered")
"""Statuses of a data query that block locking its case (`audit.queries`)."""


def queries_refusal(case_ref: str, unclosed: int) -> str:
    """Why a case with data queries not yet closed cannot be locked."""
    what = "1 data query on it is" if unclosed == 1 else f"{unclosed} data queries on it are"
    return (f"case {case_ref} cannot be locked while {what} not closed (iom-audit query list, "
            "or the Queries screen)")


def reason_refusal(case_ref: str, current: str, target: str) -> str:
    """Why a change that reopens or unlocks a case without a reason is refused."""
    if current == LOCKED:
        return f"case {case_ref} is locked: unlocking it needs a reason"
    return (f"case {case_ref} is {label(current)}: changing it moves it back to "
            f"{label(target)}, which needs a reason")
