"""What every failure message must be: one line, in words (shared by test_messages_*)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

FORBIDDEN = ("SELECT", "INSERT", "UPDATE ", "DELETE FROM", "[SQL:", "parameters",
             "sqlalchemy", "sqlalche.me", "postgresql://", "Traceback", "psycopg.",
             "sqlite3.", "alembic", "Can't locate revision")
CLASS_NAME = re.compile(r"\b\w+(Error|Exception|Failure)\b")


def assert_plain(text: str, *, secret: str | None = None) -> str:
    """`text` (a message, or a command's whole stderr) is one line of words; returns it."""
    line = text.strip()
    assert line, "no message at all"
    assert "\n" not in line, f"more than one line: {line!r}"
    for word in FORBIDDEN:
        assert word not in line, f"{word!r} in {line!r}"
    assert not CLASS_NAME.search(line), f"an exception class name in {line!r}"
    if secret:
        assert secret not in line
    return line


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    """Every file under `folder`, relative, sorted (to show that nothing was added)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
