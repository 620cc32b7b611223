"""Copies of SQLite files that hold while others write: the online backup API, checked.

The lowest rung of the store: migrations copy a database before changing it, backups and
restores copy it whole. Encrypted (SQLCipher) files are copied with their key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from audit.store import encryption


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (the directory entry reaches the disk too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: Path, target: Path, *, key: str | None = None) -> None:
    """Copy one SQLite file into another with the online backup API (one snapshot)."""
    src = encryption.connect(source, key=key)
    dst = encryption.connect(target, key=key)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, so one read snapshot
        dst.commit()
    finally:
        dst.close()
        src.close()


def integrity(conn: Any) -> str:
    """The first lines of SQLite's integrity check ("ok" for an intact file)."""
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(r[0]) for r in rows[:3])


def holds_data(path: Path, *, key: str | None = None) -> bool:
    """Whether a database file holds anything worth keeping (unreadable counts as yes)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        conn = encryption.connect(path, key=key, readonly=True)
        try:
            rows = conn.execute("SELECT (SELECT COUNT(*) FROM inspection) + "
                                "(SELECT COUNT(*) FROM audit_event)").fetchone()
        finally:
            conn.close()
    except Exception:  # noqa: BLE001 - a file we cannot read may still be precious
        return True
    return bool(rows[0])
