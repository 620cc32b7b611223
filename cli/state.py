"""What the root command passes to every subcommand."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from audit.store.engine import Database, open_database

if TYPE_CHECKING:
    from audit.permissions import Actor


@dataclass
class CliState:
    """Global options, and the database once a command has opened it."""

    db: str | None = None
    debug: bool = False
    _database: Database | None = field(default=None, repr=False)
    _actor: Actor | None = field(default=None, repr=False)

    def database(self) -> Database:
        """Open (and migrate) the database on first use."""
        if self._database is None:
            self._database = open_database(self.db)
        return self._database

    def actor(self) -> Actor:
        """The person running the command (the login on PostgreSQL), with their role."""
        if self._actor is None:
            from audit.people import acting

            self._actor = acting(self.database())
        return self._actor
