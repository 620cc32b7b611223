"""Optional encryption at rest: a SQLCipher-encrypted SQLite file when a key is given.

Set `IOM_AUDIT_DB_KEY` (never a command-line option: arguments are visible to every
user in `ps`) and install the `encryption` extra (`sqlcipher3-binary`). Without the key
the file is indistinguishable from random bytes. An encrypted disk (LUKS, BitLocker,
FileVault) is still the first line of defence; see docs/security.md.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

ENV_KEY = "IOM_AUDIT_DB_KEY"
INSTALL_HINT = "pip install 'iom-audit[encryption]' (sqlcipher3-binary)"


class EncryptionUnavailable(RuntimeError):
    """A key was given but SQLCipher is not installed."""


def db_key() -> str | None:
    """The database key from the environment, or None for a plain SQLite file."""
    return os.environ.get(ENV_KEY) or None


def available() -> bool:
    """Whether SQLCipher (the sqlcipher3 package) can be imported."""
    try:
        _module()
    except EncryptionUnavailable:
        return False
    return True


def _module() -> ModuleType:
    try:
        from sqlcipher3 import dbapi2
    except ImportError as exc:
        raise EncryptionUnavailable(
            f"{ENV_KEY} is set but SQLCipher is not installed: {INSTALL_HINT}") from exc
    return dbapi2


def dbapi(key: str | None) -> ModuleType:
    """The DB-API module for a SQLite file: sqlcipher3 when keyed, else sqlite3."""
    return _module() if key else sqlite3


def key_pragma(key: str) -> str:
    """The `PRAGMA key` statement for a passphrase (quoted, so any text is a valid key)."""
    return "PRAGMA key = '" + key.replace("'", "''") + "'"


def apply_key(dbapi_connection: Any, key: str) -> None:
    """Unlock a fresh SQLCipher connection; this must be its very first statement."""
    cursor = dbapi_connection.cursor()
    # SQLCipher writes its own lines to stderr on a wrong key ("hmac check failed"): the
    # person is told once, in words (audit/store/errors.py). This reads no page.
    cursor.execute("PRAGMA cipher_log_level = NONE")
    cursor.execute(key_pragma(key))
    cursor.close()


def connect(path: Path | str, *, key: str | None = None, readonly: bool = False) -> Any:
    """A raw DB-API connection to a SQLite file, unlocked with `key` (default: from env)."""
    key = key if key is not None else db_key()
    module = dbapi(key)
    target = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = module.connect(target, uri=True)
    if key:
        apply_key(conn, key)
    return conn
