"""Shared fixtures: a fresh SQLite database per test, and the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.store.engine import Database, open_database

PG_ADMIN_URL = os.environ.get("IOM_AUDIT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_answers() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no server"
        return False


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty SQLite database in a temporary file."""
    database = open_database(str(tmp_path / "test.db"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the PostgreSQL server; skipped locally when none answers, never in CI."""
    if not _postgres_answers():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_URL} and CI=true")
        pytest.skip("no PostgreSQL server answers on 127.0.0.1:5432")
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"iom_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(postgres_server).set(database=name).render_as_string(
        hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """A migrated, empty PostgreSQL database."""
    database = open_database(postgres_url)
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same test on SQLite and on the real PostgreSQL server."""
    fixture = "sqlite_db" if request.param == "sqlite" else "postgres_db"
    return request.getfixturevalue(fixture)
