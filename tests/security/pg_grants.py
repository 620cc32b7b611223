"""The documented PostgreSQL grants (docs/security.md), applied as written, for tests that
act through a real non-owner login: doc and tests cannot drift apart."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
HEADING = "### PostgreSQL: an application role"


def documented_sql() -> str:
    """The SQL block of docs/security.md that sets up the application's roles."""
    section = DOC.read_text(encoding="utf-8").split(HEADING, 1)[1]
    found = re.search(r"```sql\n(.*?)```", section, re.S)
    assert found, f"no ```sql block under {HEADING!r} in {DOC}"
    return found.group(1)


def grant_statements(group: str, login: str, database: str) -> list[str]:
    """The documented statements for this group role, login and database, one by one."""
    sql = re.sub(r"--[^\n]*", "", documented_sql())
    # The document's names: the group `iom_app`, the login `rita`, the database `iom`.
    for name in ("iom_app", "rita", "DATABASE iom"):
        assert re.search(rf"\b{name}\b", sql), f"the documented grants no longer use {name}"
    sql = re.sub(r"\bDATABASE iom\b", f'DATABASE "{database}"', sql)
    sql = re.sub(r"\biom_app\b", group, sql)
    sql = re.sub(r"\brita\b", login, sql)
    return [s.strip() for s in sql.split(";") if s.strip()]


@contextmanager
def documented_login(postgres_url: str, prefix: str) -> Iterator[tuple[str, str]]:
    """A real non-owner login in a new group role holding exactly the documented grants:
    (login, its URL). Roles are cluster-wide: unique names, dropped afterwards."""
    tag = uuid.uuid4().hex[:10]
    login, group = f"{prefix}_{tag}", f"{prefix}_app_{tag}"
    database = sa.engine.make_url(postgres_url).database
    assert database
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in grant_statements(group, login, database):
            conn.exec_driver_sql(statement)
    url = sa.engine.make_url(postgres_url).set(username=login).render_as_string(
        hide_password=False)
    try:
        yield login, url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE usename = %s", (login,))
            for name in (login, group):
                conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
                conn.exec_driver_sql(f'DROP ROLE "{name}"')
        admin.dispose()
