"""Backups and restores of a SQLite database, consistent while others have it open.

`backup` uses SQLite's online backup API: the copy is one snapshot even while the app
or an import is writing, is written in a locked staging folder next to the target
(`.iom-audit-tmp-*`, `audit.store.staging`) and renamed into place, so a crash never
leaves a half backup under the final name, and the next backup into that folder removes
what a killed one left. It is integrity-checked before it is reported. `restore` checks
the file first (integrity, an iom-audit schema at a revision this version knows, the audit
trail's triggers and hash chain), keeps
a copy of the database it replaces under a name that cannot collide, and copies the
backup in with the same API, so open connections see the restored data rather than a
file swapped under them. One restore runs at a time (`restore_lock`). PostgreSQL has
pg_dump and pg_restore.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.errors import UsageError
from audit.store import chain_check, encryption
from audit.store.copies import copy_database, holds_data, integrity
from audit.store.engine import Database, DatabaseLocation
from audit.store.migrate import alembic_config
from audit.store.staging import clean_abandoned, create_staging, exclusive, open_folder

PG_BACKUP_HINT = ("a PostgreSQL database is backed up with pg_dump, e.g. "
                  "`pg_dump -Fc -f iom-audit.dump DBNAME`, and restored with pg_restore")
REQUIRED_TABLES = {"alembic_version", "inspection", "case", "answer", "audit_event"}
RESTORE_WAIT_S = 10.0  # a second restore waits this long for the first, then is refused


@dataclass(frozen=True)
class FileCheck:
    """What a database file holds, once it passed its integrity check."""

    path: Path
    revision: str
    inspections: int
    cases: int
    events: int


def _stamp() -> str:
    """The time to the microsecond (names sort in the order they were made)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def keep_name(target: Path) -> Path:
    """Reserve `<file>.replaced-<time>-<random>.bak` for the copy a restore keeps.

    Created empty with O_EXCL (and not through a link), so two restores, in the same
    microsecond or not, never write the same copy.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(10):
        kept = target.with_name(f"{target.name}.replaced-{_stamp()}-"
                                f"{secrets.token_hex(4)}.bak")
        try:
            os.close(os.open(kept, flags, 0o600))
        except FileExistsError:
            continue
        return kept
    raise UsageError(f"cannot find a free name to keep a copy of {target}")


@contextmanager
def restore_lock(target: Path) -> Iterator[None]:
    """One restore of a database file at a time (`<file>.restore.lock`, flock)."""
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} does not exist: create the folder first")
    with exclusive(target.with_name(f"{target.name}.restore.lock"), wait_s=RESTORE_WAIT_S,
                   busy=f"another restore of {target} is running: try again when it has "
                        "finished"):
        yield


def _sqlite_path(location: DatabaseLocation, verb: str) -> Path:
    if not location.is_sqlite or location.path is None:
        raise UsageError(f"cannot {verb} here: {PG_BACKUP_HINT}")
    return location.path


def check_file(path: Path, *, key: str | None = None, trail: bool = False) -> FileCheck:
    """Check a file is an intact iom-audit database at a known revision; UsageError if not.

    With `trail`, also that its audit trail is guarded by its triggers and that its hash
    chain verifies (what a restore needs; a backup copies whatever is there).
    """
    from alembic.script import ScriptDirectory

    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    try:
        conn = encryption.connect(path, key=key, readonly=True)
    except Exception as exc:  # noqa: BLE001 - any DB-API error means "not usable"
        raise UsageError(f"{path} cannot be opened: {exc}") from exc
    try:
        try:
            result = integrity(conn)
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        except Exception as exc:  # noqa: BLE001 - sqlite3 and sqlcipher3 errors alike
            raise UsageError(f"{path} is not a readable SQLite database: {exc}") from exc
        if result != "ok":
            raise UsageError(f"{path} fails its integrity check: {result}")
        missing = REQUIRED_TABLES - tables
        if missing:
            raise UsageError(f"{path} is not an iom-audit database (no table "
                             f"{', '.join(sorted(missing))})")
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        counts = [conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                  for t in ("inspection", "case", "audit_event")]
        if trail:
            _check_trail(conn, path)
    finally:
        conn.close()
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision is None or revision[0] not in known:
        found = revision[0] if revision else "none"
        raise UsageError(f"{path} is at schema revision {found}, which this version of "
                         "iom-audit does not know (restore it with a newer version)")
    return FileCheck(path, revision[0], *counts)


# The triggers of a file from before the trail was chained (revision 0001 or 0002).
_UNCHAINED_TRIGGERS = ("audit_event_no_update", "audit_event_no_delete")


def _check_trail(conn: Any, path: Path) -> None:
    """Refuse a file whose trail lost a trigger or whose hash chain does not verify."""
    query = chain_check.dbapi_query(conn)
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(audit_event)")}
    if "seq" not in columns:
        # Not chained yet (the migration after the restore seals it): triggers only.
        names = {str(r[0]) for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'audit_event'")}
        missing = tuple(f"trigger {t}" for t in _UNCHAINED_TRIGGERS if t not in names)
        broken = None
    else:
        report = chain_check.verify(query, "sqlite")
        missing = report.missing_guards
        broken = report.broken[0] if report.broken else None
    if missing:
        raise UsageError(f"{path}: its audit trail has lost its {missing[0]}, so it may "
                         "have been rewritten: restore refused")
    if broken is not None:
        raise UsageError(f"{path}: its audit trail is broken at {broken.describe()}: "
                         "restore refused")


def backup(db: Database, target: Path, *, force: bool = False) -> FileCheck:
    """Write a consistent copy of the open database to `target` and check it."""
    source = _sqlite_path(db.location, "back up")
    target = Path(os.path.abspath(target.expanduser()))  # the name itself: links refused
    if target == source or target.resolve() == source:
        raise UsageError("the backup must not be the database file itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    # The folder is followed as typed; the file's own name is never followed (checked).
    folder = open_folder(target.parent.resolve(), create=False)
    target = folder.path / target.name
    try:
        folder.refuse_unsafe(target.name, force=force)
        clean_abandoned(folder)  # what a killed backup (or export) left here
        staging = create_staging(folder)
        try:
            partial = staging.path(target.name)
            key = encryption.db_key()
            copy_database(source, partial, key=key)
            conn = encryption.connect(partial, key=key)
            try:
                # One self-contained file: no -wal beside it to forget when copying it away.
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()
            checked = check_file(partial, key=key)
            staging.sync(target.name)
            staging.place(target.name, force=force)
            folder.fsync()
        finally:
            staging.discard()
    finally:
        folder.close()
    return FileCheck(target, checked.revision, checked.inspections, checked.cases,
                     checked.events)


@dataclass(frozen=True)
class Restored:
    """A finished restore: what came in and where the replaced database was kept."""

    check: FileCheck
    replaced_copy: Path | None


def restore(location: DatabaseLocation, source: Path, *, force: bool = False) -> Restored:
    """Replace the database at `location` with a checked backup (keeping the old one).

    Call it under `restore_lock` (the use case `audit.backups.restore` does).
    """
    target = _sqlite_path(location, "restore")
    source = source.expanduser().resolve()
    if source == target:
        raise UsageError("the backup to restore is the database file itself")
    key = encryption.db_key()
    checked = check_file(source, key=key, trail=True)
    if holds_data(target, key=key) and not force:
        raise UsageError(f"{target} holds data: add --force to replace it (a copy of it is "
                         "kept next to it)")
    kept: Path | None = None
    if target.exists() and target.stat().st_size > 0:
        kept = keep_name(target)
        copy_database(target, kept, key=key)
    copy_database(source, target, key=key)
    conn = encryption.connect(target, key=key)
    try:
        result = integrity(conn)
    finally:
        conn.close()
    if result != "ok":
        raise UsageError(f"the restored database fails its integrity check ({result}); "
                         f"the previous one is kept at {kept}")
    return Restored(checked, kept)
