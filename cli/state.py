"""What the root command passes to every subcommand."""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.store.engine import Database, open_database


@dataclass
class CliState:
    """Global options, and the database once a command has opened it."""

    db: str | None = None
    debug: bool = False
    _database: Database | None = field(default=None, repr=False)

    def database(self) -> Database:
        """Open (and migrate) the database on first use."""
        if self._database is None:
            self._database = open_database(self.db)
        return self._database
