"""People and their roles: who is acting, the first lead, adding people, changing roles.

Identity comes from `audit.identity` (the PostgreSQL login, else the name given); the
rules of who may do what are `audit.permissions`'. Every role a person is given - by a
lead, by running `init` on a new database, or by choosing it on the app's first start -
is written to the audit trail with the change.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from audit import trail
from audit.errors import NotFoundError, UsageError
from audit.identity import acting_user, database_login, login_of
from audit.identity import initials as initials_of
from audit.permissions import DEFAULT_ROLE, Actor, has_lead, require, role_of
from audit.store.engine import Database
from audit.store.models import ROLES, Inspector
from audit.text_rules import clean_name


def acting(db: Database, explicit: str | None = None) -> Actor:
    """The person running a command: the login on PostgreSQL, else the name given
    (`explicit`, IOM_AUDIT_INSPECTOR or the OS login), with their role here."""
    name = acting_user(db, explicit)
    with db.engine.connect() as conn:
        role = role_of(conn, name)
    return Actor(name, role, database_login(db))


@dataclass(frozen=True)
class Identified:
    """Who starts rating in the app, and what they should be told about it."""

    actor: Actor
    notice: str | None = None


def identify(db: Database, name: str, wanted_role: str) -> Identified:
    """Decide who a person starting the app is, registering a new name.

    The database's record of a person wins over the role they pick; once the database
    has a lead, a new name is an inspector whatever they pick (leads give the other
    roles, as `iom-audit inspectors` does). On PostgreSQL the login is the person,
    whatever name was typed.
    """
    name = clean_name(name)
    if wanted_role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}, not {wanted_role!r}")
    notices: list[str] = []
    with db.write_session() as session:
        conn = session.connection()
        login = login_of(conn)
        if login is not None and login != name:
            notices.append(f"You are logged in to the database as {login}: your ratings are "
                           "recorded under that name.")
            name = login
        if not name:
            raise UsageError("a name is needed")
        known = session.exec(select(Inspector.role).where(Inspector.name == name)).first()
        role = known or wanted_role
        if known is None:
            # Once a database has a lead, roles are theirs to give: a newcomer rates. (On a
            # database without one, roles are not configured and the first may lead.)
            if role != DEFAULT_ROLE and has_lead(session):
                notices.append(f"Only a lead can make someone a {role} (iom-audit inspectors "
                               "set-role): you are rating as an inspector.")
                role = DEFAULT_ROLE
            grant_role(session, name, role, by=name, initials=None)
    return Identified(Actor(name, role, login), " ".join(notices) or None)


def person_id(session: Session, name: str) -> int:
    """The id of the person with this name, registered as an inspector on first use."""
    found = session.exec(select(Inspector.id).where(Inspector.name == name)).first()
    if found is not None:
        return found
    person = Inspector(name=name, initials=initials_of(name), role=DEFAULT_ROLE)
    session.add(person)
    session.flush()
    assert person.id is not None
    return person.id


def ensure_first_lead(session: Session, name: str) -> bool:
    """Make `name` the lead of a database that has none yet (the person who runs init).

    Returns True when they were made lead. Once a lead exists, nobody becomes one except
    through `set_role` by a lead.
    """
    if has_lead(session):
        return False
    grant_role(session, name, "lead", by=name, initials=None)
    return True


def grant_role(session: Session, name: str, role: str, *, by: str,
               initials: str | None = None) -> str | None:
    """Give `name` a role (registering them if new), recorded in the trail; the old role.

    Callers decide whether `by` may do it; this only writes the change and its event.
    """
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


def add_inspector(db: Database, name: str, role: str, *, actor: Actor,
                  initials: str | None = None) -> None:
    """Register a person with a role (lead only, except to appoint a database's first lead)."""
    name = clean_name(name)
    if not name:
        raise UsageError("a name is needed")
    with db.write_session() as session:
        if has_lead(session):
            require(session, actor, "manage_people")
        elif role != "lead":
            raise UsageError("this database has no lead yet: add a lead first")
        if session.exec(select(Inspector.id).where(Inspector.name == name)).first():
            raise UsageError(f"{name!r} is already registered: use `inspectors set-role`")
        grant_role(session, name, role, by=actor.name, initials=initials)


def set_role(db: Database, name: str, role: str, *, actor: Actor) -> str:
    """Change a person's role (lead only); the last lead cannot be demoted. Returns the old."""
    with db.write_session() as session:
        require(session, actor, "manage_people")
        person = session.exec(select(Inspector).where(Inspector.name == name)).first()
        if person is None:
            raise NotFoundError(f"no inspector named {name!r}")
        if person.role == "lead" and role != "lead":
            leads = session.exec(select(sa.func.count()).select_from(Inspector)
                                 .where(Inspector.role == "lead")).one()
            if leads <= 1:
                raise UsageError(f"{name} is the only lead: appoint another lead first")
        old = grant_role(session, name, role, by=actor.name, initials=None)
    return old or DEFAULT_ROLE


def known_role(db: Database, name: str) -> str | None:
    """The role recorded for a person, or None when the name is new here."""
    with db.engine.connect() as conn:
        return conn.execute(sa.select(col(Inspector.role))
                            .where(col(Inspector.name) == name)).scalar()


def list_inspectors(db: Database) -> list[tuple[str, str | None, str]]:
    """(name, initials, role) of every registered person, by name."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(col(Inspector.name), col(Inspector.initials),
                                      col(Inspector.role))
                            .order_by(col(Inspector.name))).all()
    return [(n, i, r) for n, i, r in rows]
