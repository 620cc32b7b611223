"""Schema migrations with Alembic, applied when a database is opened.

A SQLite file that already holds data is copied (with SQLite's online backup API)
before it is migrated, so a failed or regretted migration never costs a rating.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from audit.store.copies import copy_database
from audit.store.encryption import db_key

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision a database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def backup_sqlite(source: Path, target: Path) -> Path:
    """Copy a SQLite database consistently (online backup API; encrypted files too)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_database(source, target, key=db_key())
    return target


def upgrade_to_head(engine: sa.Engine, path: Path | None,
                    revision: str = "head") -> str | None:
    """Migrate to `revision`; returns the path of the pre-migration copy, if one was made.

    `path` is the SQLite file (None on PostgreSQL): one that holds data is copied first.
    """
    current = current_revision(engine)
    target = head_revision() if revision == "head" else revision
    if current == target:
        return None
    copy: str | None = None
    if current is not None and path is not None and path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        copy = str(backup_sqlite(path, path.with_name(f"{path.name}.pre-{target}-{stamp}.bak")))
    config = alembic_config()
    with engine.connect() as conn:
        conn.info["write"] = True
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            conn.commit()
        finally:
            conn.info.pop("write", None)
    return copy
