"""Who may do what: one table of permissions, checked inside each use case's transaction.

`inspector` rates cases and imports them; `lead` also QA-checks, marks moderated and
locks cases (which moves exist: `audit.lifecycle`), allocates cases to inspectors (who
may then change a case's primary rating: `audit.allocation`), manages people, restores and
purges, and exports identifiable data; `researcher` exports
pseudonymised data and compiles the aggregate report. Every use case that changes or
discloses data takes the acting person (`Actor`) and calls `require` on the connection
of its own transaction, so the app and the command line refuse exactly the same things
and a role changed meanwhile is the role that counts.

A person not yet registered is an inspector once the database has a lead (`init` and
`demo` always make one). A database built through the library with nobody registered
has no roles configured: its single user acts as its lead.

On PostgreSQL a person's database login is their identity: an actor whose name is not
the login of the connection is refused (an administrator's login - a superuser or the
database's owner - may act under any name, as set-up scripts and tests do).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from audit.errors import PermissionDenied, UsageError
from audit.identity import login_of
from audit.store.models import RATERS, ROLES, Inspector

DEFAULT_ROLE = "inspector"
RATING_ROLES = ("inspector", "lead")

# action -> (roles allowed, what the refusal says they tried to do)
PERMISSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "rate": (RATING_ROLES, "rate cases"),
    "moderate": (RATING_ROLES, "record moderated answers"),
    "complete": (RATING_ROLES, "complete cases"),
    "qa_check": (("lead",), "QA-check cases"),
    "moderate_case": (("lead",), "mark cases moderated"),
    "lock": (("lead",), "lock or unlock cases"),
    "read_cases": (RATING_ROLES, "read case records"),
    # Which queries a person may open, answer or close is decided per case, in
    # audit/queries.py (a lead, the case's QA rater, the answer's author).
    "query": (RATING_ROLES, "open, answer or close data queries"),
    # The check names a broken event by its case reference: those who read case records.
    "verify_trail": (RATING_ROLES, "verify the audit trail"),
    "import": (RATING_ROLES, "import cases or ratings"),
    "import_others": (("lead",), "import ratings given by others"),
    "export": (("inspector", "lead", "researcher"), "export data"),
    "export_identifiable": (("lead",), "export case references and notes"),
    "report": (("lead", "researcher"), "compile reports"),
    "create_inspection": (("inspector", "lead", "researcher"), "create inspections"),
    "backup": (RATING_ROLES, "back up the database"),
    "restore": (("lead",), "restore over a database"),
    "purge": (("lead",), "purge an inspection"),
    "manage_people": (("lead",), "add people or change roles"),
    "allocate": (("lead",), "allocate cases to inspectors"),
}


@dataclass(frozen=True)
class Actor:
    """The person acting: the name the trail records, the role they were identified with
    (for display: every check reads the role again) and, on PostgreSQL, their login."""

    name: str
    role: str = DEFAULT_ROLE
    login: str | None = None


def may_do(role: str) -> list[str]:
    """What a role may do, in the words refusals use (for listing, e.g. `inspectors list`)."""
    return [what for roles, what in PERMISSIONS.values() if role in roles]


def allows(role: str, action: str) -> bool:
    """Whether `role` may do `action` (for a face to show or dim a key; never a check)."""
    return role in _entry(action)[0]


def _entry(action: str) -> tuple[tuple[str, ...], str]:
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}") from None


def _connection(where: sa.Connection | Session) -> sa.Connection:
    return where.connection() if isinstance(where, Session) else where


def has_lead(where: sa.Connection | Session) -> bool:
    """Whether anyone holds the lead role yet."""
    conn = _connection(where)
    found = conn.execute(sa.select(col(Inspector.id)).where(col(Inspector.role) == "lead")
                         .limit(1)).scalar()
    return found is not None


def role_of(where: sa.Connection | Session, name: str) -> str:
    """The role of `name` here: an unknown person is an inspector (lead while none exists)."""
    conn = _connection(where)
    role = conn.execute(sa.select(col(Inspector.role))
                        .where(col(Inspector.name) == name)).scalar()
    if role is not None:
        return str(role)
    return DEFAULT_ROLE if has_lead(conn) else "lead"


def refusal(name: str, role: str, action: str) -> str | None:
    """Why someone with `role` may not do `action` (the words every refusal uses), or None.

    For checks of many rows at once (a file's status column), where the role has been
    read in the transaction already."""
    roles, what = _entry(action)
    if role in roles:
        return None
    needed = " or ".join(r for r in ROLES if r in roles)
    return f"only the {needed} role may {what} ({name} has the {role} role)"


def require(where: sa.Connection | Session, actor: Actor, action: str) -> str:
    """Raise PermissionDenied unless the actor may do `action`; returns their role.

    Call it on the connection (or session) of the use case's own transaction.
    """
    conn = _connection(where)
    login = login_of(conn)
    if login is not None and login != actor.name:
        raise PermissionDenied(f"you are logged in to the database as {login}: you cannot act "
                               f"as {actor.name}")
    role = role_of(conn, actor.name)
    refused = refusal(actor.name, role, action)
    if refused:
        raise PermissionDenied(refused)
    return role


def rating_action(rater: str) -> str:
    """The permission giving an answer as `rater` needs: moderated answers "moderate",
    primary and QA answers "rate"."""
    if rater not in RATERS:
        raise UsageError(f"rater must be one of {', '.join(RATERS)}, not {rater!r}")
    return "moderate" if rater == "moderated" else "rate"
