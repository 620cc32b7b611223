"""Errors the CLI and the app turn into one clear line (no traceback)."""

from __future__ import annotations

from dataclasses import dataclass, field


class AuditError(Exception):
    """Base of every expected error: bad usage, bad data, a refused action."""


class UsageError(AuditError):
    """The command cannot run as asked (e.g. several inspections and none named)."""


class NotFoundError(AuditError):
    """A named inspection, case or question does not exist."""


class PermissionDenied(AuditError):
    """The current user's role does not allow the action."""


@dataclass
class ConflictError(AuditError):
    """Someone else changed the case since it was read: nothing was overwritten.

    `theirs` maps each field or question id they changed to its current stored value,
    so the caller can show mine-versus-theirs and let the person decide.
    """

    case_ref: str
    expected_version: int
    current_version: int
    theirs: dict[str, str | None] = field(default_factory=dict)

    def __str__(self) -> str:
        what = ", ".join(sorted(self.theirs)) or "the case"
        return (f"case {self.case_ref} was changed by someone else (version "
                f"{self.expected_version} -> {self.current_version}: {what}); nothing was "
                "overwritten")
