"""Backups and restores as a person asks for them: permission first, the trail after.

The copying itself is `audit.store.backup`'s (SQLite's online backup API, checked).
PostgreSQL has pg_dump and pg_restore.
"""

from __future__ import annotations

from pathlib import Path

from audit import trail
from audit.errors import UsageError
from audit.permissions import Actor, require
from audit.store import backup as store_backup
from audit.store.backup import PG_BACKUP_HINT, FileCheck, Restored
from audit.store.copies import holds_data
from audit.store.engine import Database, DatabaseLocation, open_database, resolve_location
from audit.store.models import utcnow


def backup(db: Database, target: Path, *, actor: Actor, force: bool = False) -> FileCheck:
    """Write a consistent, checked copy of the open SQLite database to `target`."""
    if not db.location.is_sqlite:
        raise UsageError(f"`iom-audit backup` copies SQLite files; {PG_BACKUP_HINT}")
    with db.engine.connect() as conn:
        require(conn, actor, "backup")
    return store_backup.backup(db, target, force=force)


def restore(db: str | None, source: Path, *, actor: Actor,
            force: bool = False) -> Restored:
    """Replace the SQLite database named by `db` with a checked backup, and record it.

    Only a lead of the database being replaced may replace one that holds data; the
    restored database records who restored it, from which file. Restores of one file
    run one at a time: a second waits briefly for the first, then is refused.
    """
    location = resolve_location(db)
    if not location.is_sqlite or location.path is None:
        raise UsageError(f"`iom-audit restore` restores SQLite files; {PG_BACKUP_HINT}")
    with store_backup.restore_lock(location.path):
        return _restore(db, location, location.path, source, actor=actor, force=force)


def _restore(db: str | None, location: DatabaseLocation, target: Path, source: Path, *,
             actor: Actor, force: bool) -> Restored:
    if holds_data(target):
        current = open_database(db, migrate=False)
        try:
            with current.engine.connect() as conn:
                require(conn, actor, "restore")
        finally:
            current.dispose()
    done = store_backup.restore(location, source, force=force)
    restored = open_database(db)
    try:
        with restored.write() as conn:
            trail.record_many(conn, [{"at": utcnow(), "who": actor.name, "entity": "restore",
                                      "key": str(done.check.path)[:200], "field": "revision",
                                      "old_value": None, "new_value": done.check.revision}])
    finally:
        restored.dispose()
    return done
