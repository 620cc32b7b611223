"""What the root command passes to every subcommand, and what each command may do to a
database when it opens one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit.permissions import Actor
    from audit.store.engine import Database
    from audit.store.migrate import Purpose

CREATING = frozenset({"init", "demo"})
"""Commands that create a database that does not exist yet."""

READING = frozenset({"info", "history", "compare", "tables", "report", "export", "verify",
                     "backup"})
"""Commands that read: they never create, migrate or otherwise change a database's
schema (what they record, such as an export's disclosure, goes into the trail). Every
other command writes: it migrates an older database (after a copy) but creates none.
(`inspectors list` reads too: it asks for "read" itself, the group being shared.)"""


def purpose_of(command: str) -> Purpose:
    """What opening the database may do for a command ("init", "info", ...)."""
    if command in CREATING:
        return "create"
    return "read" if command in READING else "write"


@dataclass
class CliState:
    """Global options, and the database once a command has opened it."""

    db: str | None = None
    debug: bool = False
    command: str = ""  # the subcommand being run, as typed after `iom-audit`
    _database: Database | None = field(default=None, repr=False)
    _actor: Actor | None = field(default=None, repr=False)

    def database(self, purpose: Purpose | None = None) -> Database:
        """Open the database on first use, as the running command may (`purpose_of`)."""
        if self._database is None:
            from audit.store.engine import open_database  # SQLAlchemy: only when a command needs it

            self._database = open_database(self.db,
                                           purpose=purpose or purpose_of(self.command))
        return self._database

    def close(self) -> None:
        """Close the database if the command opened it: its connections at once, not
        whenever the process's objects are collected (see `cli.main.main`)."""
        if self._database is not None:
            self._database.dispose()
            self._database = None

    def actor(self) -> Actor:
        """The person running the command (the login on PostgreSQL), with their role."""
        if self._actor is None:
            from audit.people import acting

            self._actor = acting(self.database())
        return self._actor
