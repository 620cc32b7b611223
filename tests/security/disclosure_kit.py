"""Set-up shared by the disclosure, pseudonym and restore attacks (tests/security)."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from audit.store.engine import Database
from audit.store.staging import TEMP_PREFIX
from tests.audit.imports.helpers import populated

# `prepare`'s name of `sample_inspection`: built once per session, copied per test.
SAMPLE = "disclosure-populated"


def events(db_path: Path | str, entity: str) -> list[tuple[str, str, str | None, str]]:
    """(who, key, field, new_value) of every event of one kind, oldest first."""
    conn = sqlite3.connect(db_path)
    try:
        return [tuple(r) for r in conn.execute(
            "SELECT who, key, field, new_value FROM audit_event WHERE entity = ? ORDER BY id",
            (entity,))]
    finally:
        conn.close()


def leftovers(folder: Path) -> list[str]:
    """Temporary names a disclosure or backup left in `folder`."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX)
                  or ".partial" in p.name)


def outside_file(tmp_path: Path, text: str = "precious: not yours to overwrite\n") -> Path:
    """A file outside the output folder that a planted link points at."""
    target = tmp_path / "outside" / "victim.txt"
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    return target


def sample_inspection(database: Database) -> None:
    """Three cases and their ratings, imported by the CLI (`populated`): a small database
    to disclose from, for tests whose attack does not depend on the amount of data."""
    with tempfile.TemporaryDirectory() as folder:
        populated(database, Path(folder))
