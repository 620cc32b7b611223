"""Who is acting: the name recorded in the audit trail and on answers.

On a SQLite file the name is given (IOM_AUDIT_INSPECTOR) or the OS login: whoever can
open the file can claim any name, so roles there are a guard rail, not security. On a
shared PostgreSQL server each person logs in as their own database role, and that
login is the identity: it cannot be chosen by an environment variable.
"""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING

import sqlalchemy as sa

from audit.text_rules import clean_name

if TYPE_CHECKING:
    from audit.store.engine import Database

ENV_INSPECTOR = "IOM_AUDIT_INSPECTOR"


def current_user(explicit: str | None = None) -> str:
    """The acting person: explicit name, else IOM_AUDIT_INSPECTOR, else the OS login."""
    if explicit:
        return clean_name(explicit, "the name")
    env = os.environ.get(ENV_INSPECTOR)
    if env:
        # Held to the rules of every other name: no control or invisible characters,
        # trimmed and NFC, so "Ann\u200b" cannot pass for a second person.
        return clean_name(env, ENV_INSPECTOR)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def database_login(db: Database) -> str | None:
    """The PostgreSQL login when it names a person, else None (see `login_of`)."""
    if db.location.is_sqlite:
        return None
    with db.engine.connect() as conn:
        return login_of(conn)


def login_of(conn: sa.Connection) -> str | None:
    """The login of this connection when it names a person, else None.

    SQLite has no logins. On PostgreSQL it is `session_user`, the role that logged in:
    `SET ROLE` changes `current_user` but not that, and the database's role functions
    (migration 0005) read the same. A superuser or the database's owner is an
    administrator's account (and the one tests and set-up scripts use), not a person's:
    for them the given name still counts.
    """
    if conn.dialect.name == "sqlite":
        return None
    login, is_admin = conn.exec_driver_sql(
        "SELECT session_user, "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = session_user) OR "
        "pg_get_userbyid((SELECT datdba FROM pg_database "
        "WHERE datname = current_database())) = session_user").one()
    return None if is_admin else str(login)


def acting_user(db: Database, explicit: str | None = None) -> str:
    """The identity recorded for this database: its login on PostgreSQL, else current_user()."""
    return database_login(db) or current_user(explicit)


def initials(name: str) -> str | None:
    """Initials of a name as the inspector table keeps them ("Ann Inspector" -> "AI")."""
    return "".join(p[0] for p in name.split() if p)[:10].upper() or None
