"""The case lifecycle: which permission a status change needs, and that locked is read-only.

The app (`audit.cases`) and case and ratings files (`audit.imports`) both ask here, so a
status or an edit refused in one is refused in the other, in the same words.
"""

from __future__ import annotations

LOCKED = "locked"


def status_action(current: str, target: str) -> str:
    """The permission (`audit.permissions`) moving a case from `current` to `target` needs:
    locking and unlocking need "lock", QA-checking "qa_check", the rest "complete"."""
    if LOCKED in (current, target):
        return "lock"
    if target == "qa_checked":
        return "qa_check"
    return "complete"


def locked_refusal(case_ref: str) -> str:
    """Why an edit of a locked case is refused: a lead unlocks it before it changes again."""
    return f"case {case_ref} is locked: it can no longer be changed"
