"""People and their roles: who is acting, registering, adding people, changing roles.

Identity comes from `audit.identity` (the PostgreSQL login, else the name given); the
rules of who may do what are `audit.permissions`'. Every write to the `inspector` table
goes through this module, and every role a person is given - by a lead, by running
`init` on a new database, by choosing it on the app's first start, or as a rater named in
a file - is written to the audit trail with the change.

On PostgreSQL a person's login may not write `inspector` at all (docs/security.md): their
registration and a lead's role changes are made by the database's SECURITY DEFINER
functions (migration 0005), which check the login, keep the last lead and write the
event themselves. On SQLite (one machine, one user), and for an administrator's login,
this module writes the table directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from audit import trail
from audit.errors import AuditError, NotFoundError, PermissionDenied, UsageError
from audit.identity import acting_user, database_login, login_of
from audit.identity import initials as initials_of
from audit.permissions import DEFAULT_ROLE, Actor, has_lead, require, role_of
from audit.store.engine import Database
from audit.store.models import ROLES, Inspector, table_of, utcnow
from audit.text_rules import clean_name

# The SQLSTATEs the guarded functions refuse with (migration 0005), as our errors.
_REFUSALS: dict[str, type[AuditError]] = {
    "IOMPD": PermissionDenied, "IOMUS": UsageError, "IOMNF": NotFoundError}
_NO_GRANT = ("your database login may not register people or change roles: ask the "
             "administrator to apply the grants in docs/security.md")


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
    _check_role(wanted_role)
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
        known = _registered_role(conn, name)
        role = register_self(conn, name, wanted_role)
        if known is None and role != wanted_role:
            notices.append(f"Only a lead can make someone a {wanted_role} (iom-audit "
                           "inspectors set-role): you are rating as an inspector.")
    return Identified(Actor(name, role, login), " ".join(notices) or None)


def person_id(session: Session, name: str) -> int:
    """The id of the acting person, who is registered (as themselves) on first use."""
    conn = session.connection()
    found = _person_id(conn, name)
    if found is None:
        register_self(conn, name, DEFAULT_ROLE)
        found = _person_id(conn, name)
    assert found is not None
    return found


def ensure_first_lead(session: Session, name: str) -> bool:
    """Make `name` (the person acting) the lead of a database that has none yet (whoever
    runs init). Returns True when they were made lead. Once a lead exists, nobody becomes
    one except through `set_role` by a lead."""
    if has_lead(session):
        return False
    return register_self(session.connection(), name, "lead") == "lead"


def register_self(where: sa.Connection | Session, name: str, wanted_role: str = DEFAULT_ROLE,
                  *, initials: str | None = None) -> str:
    """Register the person acting (`name`) or keep their role; the role they have after.

    The one way anyone registers themselves. While the database has no lead, roles are
    not configured: a newcomer gets the role they ask for, and whoever asks to lead
    becomes its lead. Once it has a lead, a newcomer is an inspector and a known person
    keeps their role. A change is in the trail under the person's own name. On
    PostgreSQL the database does it for the login (`iom_register_self`).
    """
    _check_role(wanted_role)
    conn = _connection(where)
    login = login_of(conn)
    if login is not None:
        if login != name:
            raise PermissionDenied(f"you are logged in to the database as {login}: you "
                                   f"cannot register {name}")
        return str(_guarded(conn, "SELECT iom_register_self(:role, :initials)",
                            role=wanted_role, initials=initials or initials_of(name)))
    was = _registered_role(conn, name)
    if has_lead(conn):
        given = was or DEFAULT_ROLE
    else:
        given = wanted_role if was is None or wanted_role == "lead" else was
    _write_role(conn, name, given, was, by=name, initials=initials)
    return given


def grant_role(where: sa.Connection | Session, name: str, role: str, *, by: str,
               initials: str | None = None) -> str | None:
    """Give `name` a role (registering them if new), recorded in the trail; the old role.

    On SQLite, and for an administrator's login, callers decide whether `by` may do it
    (`add_inspector`, `set_role`). On PostgreSQL `by` is the login, and the database's
    functions check that it is a registered lead and keep the last lead.
    """
    _check_role(role)
    conn = _connection(where)
    was = _registered_role(conn, name)
    if login_of(conn) is not None:
        if was is None:
            _guarded(conn, "SELECT iom_add_person(:name, :role, :initials)", name=name,
                     role=role, initials=initials or initials_of(name))
        else:
            _guarded(conn, "SELECT iom_set_role(:name, :role)", name=name, role=role)
        return was
    _write_role(conn, name, role, was, by=by, initials=initials)
    return was


def rater_ids(conn: sa.Connection, names: Iterable[str], *, by: str) -> dict[str, int]:
    """The ids of the people named as raters in a file (`by` imports it).

    On SQLite, and for an administrator's login, a new name is registered as an inspector
    (the trail says `by` registered them). On PostgreSQL nobody is created from a file:
    only the login itself may be registered on the way; any other unknown name is refused.
    """
    wanted = sorted(set(names))
    found = _ids(conn, wanted)
    missing = [n for n in wanted if n not in found]
    if not missing:
        return found
    login = login_of(conn)
    if login is not None:
        if login in missing:
            register_self(conn, login)
            missing.remove(login)
        if missing:
            shown = ", ".join(repr(n) for n in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise NotFoundError(f"not registered in this database: {shown}{more} (a lead "
                                "registers people with `iom-audit inspectors add`)")
    else:
        table = table_of(Inspector)
        conn.execute(sa.insert(table), [{"name": n, "initials": initials_of(n),
                                         "role": DEFAULT_ROLE} for n in missing])
        at = utcnow()
        trail.record_many(conn, ({"at": at, "who": by, "entity": "inspector", "key": n,
                                  "field": "role", "old_value": None,
                                  "new_value": DEFAULT_ROLE, "case_id": None}
                                 for n in missing))
    return _ids(conn, wanted)


def registered(conn: sa.Connection, names: Iterable[str]) -> set[str]:
    """Which of these names are registered people here."""
    return set(_ids(conn, sorted(set(names))))


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
        conn = session.connection()
        if _registered_role(conn, name) is not None:
            raise UsageError(f"{name!r} is already registered: use `inspectors set-role`")
        grant_role(conn, name, role, by=actor.name, initials=initials)


def set_role(db: Database, name: str, role: str, *, actor: Actor) -> str:
    """Change a person's role (lead only); the last lead cannot be demoted. Returns the old."""
    with db.write_session() as session:
        require(session, actor, "manage_people")
        conn = session.connection()
        was = _registered_role(conn, name)
        if was is None:
            raise NotFoundError(f"no inspector named {name!r}")
        if was == "lead" and role != "lead":
            table = table_of(Inspector)
            leads = conn.execute(sa.select(sa.func.count()).select_from(table)
                                 .where(table.c.role == "lead")).scalar_one()
            if leads <= 1:
                raise UsageError(f"{name} is the only lead: appoint another lead first")
        old = grant_role(conn, name, role, by=actor.name)
    return old or DEFAULT_ROLE


def known_role(db: Database, name: str) -> str | None:
    """The role recorded for a person, or None when the name is new here."""
    with db.engine.connect() as conn:
        return _registered_role(conn, name)


def list_inspectors(db: Database) -> list[tuple[str, str | None, str]]:
    """(name, initials, role) of every registered person, by name."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(col(Inspector.name), col(Inspector.initials),
                                      col(Inspector.role))
                            .order_by(col(Inspector.name))).all()
    return [(n, i, r) for n, i, r in rows]


# ------------------------------------------------------------------------------ helpers

def _connection(where: sa.Connection | Session) -> sa.Connection:
    return where.connection() if isinstance(where, Session) else where


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def _registered_role(conn: sa.Connection, name: str) -> str | None:
    role = conn.execute(sa.select(col(Inspector.role))
                        .where(col(Inspector.name) == name)).scalar()
    return None if role is None else str(role)


def _person_id(conn: sa.Connection, name: str) -> int | None:
    found = conn.execute(sa.select(col(Inspector.id))
                         .where(col(Inspector.name) == name)).scalar()
    return None if found is None else int(found)


def _ids(conn: sa.Connection, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = conn.execute(sa.select(col(Inspector.name), col(Inspector.id))
                        .where(col(Inspector.name).in_(names))).all()
    return {str(n): int(i) for n, i in rows if i is not None}


def _write_role(conn: sa.Connection, name: str, role: str, was: str | None, *, by: str,
                initials: str | None) -> None:
    """Store a role given directly (SQLite, an administrator) and its event."""
    table = table_of(Inspector)
    if was is None:
        conn.execute(sa.insert(table).values(name=name, initials=initials or initials_of(name),
                                             role=role))
    elif was != role or initials:
        changes: dict[str, Any] = {"role": role}
        if initials:
            changes["initials"] = initials
        conn.execute(sa.update(table).where(table.c.name == name).values(**changes))
    if was != role:
        trail.record_many(conn, [{"at": utcnow(), "who": by, "entity": "inspector",
                                  "key": name, "field": "role", "old_value": was,
                                  "new_value": role, "case_id": None}])


def _guarded(conn: sa.Connection, sql: str, **params: Any) -> Any:
    """Call one of the database's role functions; its refusal as our error, in its words."""
    try:
        return conn.execute(sa.text(sql), params).scalar()
    except sa.exc.DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None)
        diag = getattr(exc.orig, "diag", None)
        message = getattr(diag, "message_primary", None)
        if state in _REFUSALS and message:
            raise _REFUSALS[state](message) from None
        if state == "42501":  # no EXECUTE: the grants of docs/security.md are missing
            raise PermissionDenied(_NO_GRANT) from None
        raise
