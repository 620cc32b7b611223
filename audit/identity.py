"""Who is acting: the name recorded in the audit trail and on answers."""

from __future__ import annotations

import getpass
import os

ENV_INSPECTOR = "IOM_AUDIT_INSPECTOR"


def current_user(explicit: str | None = None) -> str:
    """The acting person: explicit name, else IOM_AUDIT_INSPECTOR, else the OS login."""
    if explicit:
        return explicit
    env = os.environ.get(ENV_INSPECTOR)
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
