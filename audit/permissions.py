"""Roles: who may rate, lead, export or manage a database.

`inspector` rates cases; `lead` also QA-checks, locks, compiles reports, purges and
manages inspectors; `researcher` only exports (pseudonymised unless a lead says
otherwise). A person not yet in the `inspector` table is an inspector: they are
registered as one the first time they rate.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit import trail
from audit.errors import NotFoundError, PermissionDenied, UsageError
from audit.identity import initials as initials_of
from audit.store.engine import Database
from audit.store.models import ROLES, Inspector

DEFAULT_ROLE = "inspector"


def _unregistered_role(has_a_lead: bool) -> str:
    # Roles apply once a database has a lead (`init` and `demo` always make one). A
    # database built without one, through the library, has no roles configured: its
    # single user acts as its lead.
    return DEFAULT_ROLE if has_a_lead else "lead"


def current_role(db: Database, who: str) -> str:
    """The role of `who` here: an unknown person is an inspector (lead while none exists)."""
    with db.engine.connect() as conn:
        role = conn.execute(sa.select(col(Inspector.role))
                            .where(col(Inspector.name) == who)).scalar()
        if role is None:
            lead = conn.execute(sa.select(col(Inspector.id)).where(col(Inspector.role) == "lead")
                                .limit(1)).scalar()
            role = _unregistered_role(lead is not None)
    return role


def require(db: Database, who: str, *roles: str, action: str = "do this") -> str:
    """Raise PermissionDenied unless `who` has one of `roles`; returns their role."""
    return check(current_role(db, who), who, roles, action)


def require_in(session: Session, who: str, *roles: str, action: str = "do this") -> str:
    """`require` inside an open transaction (the role read where the change is made)."""
    role = session.exec(select(Inspector.role).where(Inspector.name == who)).first()
    return check(role or _unregistered_role(has_lead(session)), who, roles, action)


def check(role: str, who: str, roles: tuple[str, ...], action: str) -> str:
    """Raise PermissionDenied unless `role` is one of `roles`."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown role(s) {unknown or roles}")
    if role not in roles:
        needed = " or ".join(roles)
        raise PermissionDenied(f"only the {needed} role may {action} ({who} has the {role} "
                               "role)")
    return role


def has_lead(session: Session) -> bool:
    """Whether anyone holds the lead role yet."""
    return session.exec(select(Inspector.id).where(Inspector.role == "lead")).first() is not None


def ensure_first_lead(session: Session, who: str) -> bool:
    """Make `who` the lead of a database that has none yet (the person who runs init).

    Returns True when `who` was made lead. Once a lead exists, nobody becomes one
    except through `set_role` by a lead.
    """
    if has_lead(session):
        return False
    _set(session, who, "lead", by=who, initials=None)
    return True



def _set(session: Session, name: str, role: str, *, by: str, initials: str | None) -> str | None:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    person = session.exec(select(Inspector).where(Inspector.name == name)).first()
    old = person.role if person else None
    if person is None:
        person = Inspector(name=name, initials=initials or initials_of(name), role=role)
    else:
        person.role = role
        if initials:
            person.initials = initials
    session.add(person)
    if old != role:
        trail.record(session, who=by, entity="inspector", key=name, field="role",
                     old=old, new=role)
    session.flush()
    return old


def add_inspector(db: Database, name: str, role: str, *, by: str,
                  initials: str | None = None) -> None:
    """Register a person with a role (lead only, except to appoint a database's first lead)."""
    name = name.strip()
    if not name:
        raise UsageError("a name is needed")
    with db.write_session() as session:
        if has_lead(session):
            require_in(session, by, "lead", action="add inspectors")
        elif role != "lead":
            raise UsageError("this database has no lead yet: add a lead first")
        if session.exec(select(Inspector.id).where(Inspector.name == name)).first():
            raise UsageError(f"{name!r} is already registered: use `inspectors set-role`")
        _set(session, name, role, by=by, initials=initials)


def set_role(db: Database, name: str, role: str, *, by: str) -> str:
    """Change a person's role (lead only); the last lead cannot be demoted. Returns the old."""
    with db.write_session() as session:
        require_in(session, by, "lead", action="change roles")
        person = session.exec(select(Inspector).where(Inspector.name == name)).first()
        if person is None:
            raise NotFoundError(f"no inspector named {name!r}")
        if person.role == "lead" and role != "lead":
            leads = session.exec(select(sa.func.count()).select_from(Inspector)
                                 .where(Inspector.role == "lead")).one()
            if leads <= 1:
                raise UsageError(f"{name} is the only lead: appoint another lead first")
        old = _set(session, name, role, by=by, initials=None)
    return old or DEFAULT_ROLE


def list_inspectors(db: Database) -> list[tuple[str, str | None, str]]:
    """(name, initials, role) of every registered person, by name."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(col(Inspector.name), col(Inspector.initials),
                                      col(Inspector.role))
                            .order_by(col(Inspector.name))).all()
    return [(n, i, r) for n, i, r in rows]
