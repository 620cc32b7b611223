"""The pseudonym key: 32 random bytes held by the database, never short, never readable by
the application's role on PostgreSQL, and no pseudonym of a chosen string.

Why (issue 15): "an empty key file is accepted"; the key must be "held by the lead ...
never created or chosen by the person receiving the export".
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from audit.errors import UsageError
from audit.exports.exporters import export
from audit.permissions import Actor
from audit.pseudonyms import check_key
from audit.store.engine import Database, open_database
from tests.audit.imports.helpers import cli
from tests.helpers import make_inspection, set_role
from tests.security.pg_grants import documented_login


def _key(db: Database) -> bytes:
    with db.engine.connect() as conn:
        return bytes(conn.execute(sa.text("SELECT key FROM pseudonym_key")).scalar_one())


def test_every_database_gets_its_own_random_key(tmp_path: Path) -> None:
    keys = []
    for name in ("a.db", "b.db"):
        assert cli_init(tmp_path / name) == 0
        conn = sqlite3.connect(tmp_path / name)
        keys.append(conn.execute("SELECT key FROM pseudonym_key").fetchall())
        conn.close()
    (a,), (b,) = keys
    assert len(a[0]) == 32 and len(b[0]) == 32 and a != b


def cli_init(path: Path) -> int:
    from cli.app import run

    return run(["--db", str(path), "init"])


@pytest.mark.parametrize("short", [b"", b"x", b"k" * 31])
def test_a_short_or_empty_key_is_refused_by_the_database(any_db: Database,
                                                          short: bytes) -> None:
    with pytest.raises(sa.exc.IntegrityError), any_db.write() as conn:
        conn.execute(sa.text("UPDATE pseudonym_key SET key = :k"), {"k": short})
    assert len(_key(any_db)) == 32


@pytest.mark.parametrize("short", [b"", b"k" * 31, None])
def test_a_short_or_missing_key_is_refused_by_the_export(sqlite_db: Database, tmp_path: Path,
                                                         short: bytes | None,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """Even a key planted past the CHECK (another program, SQLite's switch) is refused."""
    make_inspection(sqlite_db, cases=3)
    assert sqlite_db.location.path is not None
    conn = sqlite3.connect(sqlite_db.location.path)
    conn.execute("PRAGMA ignore_check_constraints = ON")
    if short is None:
        conn.execute("DELETE FROM pseudonym_key")
    else:
        conn.execute("UPDATE pseudonym_key SET key = ?", (short,))
    conn.commit()
    conn.close()
    assert cli(sqlite_db, "export", "--pseudonymise", "--out", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err
    assert ("at least 32 are needed" in err) if short is not None else ("no pseudonym key"
                                                                         in err)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("key", [b"", b"short", None])
def test_check_key_refuses_short_keys(key: bytes | None) -> None:
    with pytest.raises(UsageError):
        check_key(key)
    assert check_key(b"k" * 32) == b"k" * 32


@pytest.fixture
def researcher_login(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A real non-owner login in a group role with the documented grants: (url, login)."""
    with documented_login(postgres_url, "rita") as (login, url):
        yield url, login


@pytest.mark.postgres
def test_postgres_app_role_cannot_read_the_key_or_ask_for_a_chosen_pseudonym(
        postgres_db: Database, researcher_login: tuple[str, str], tmp_path: Path) -> None:
    url, login = researcher_login
    make_inspection(postgres_db, "thematic", cases=60, prefix="DEMO-T")
    set_role(postgres_db, "Lee Lead", "lead")
    set_role(postgres_db, login, "researcher")
    held = _key(postgres_db)
    rita = open_database(url, migrate=False)
    try:
        for attempt in ("SELECT key FROM pseudonym_key",
                        "COPY pseudonym_key TO STDOUT",
                        "SELECT * FROM pseudonym_key WHERE length(key) > 0"):
            with rita.engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                              match="permission denied"):
                conn.exec_driver_sql(attempt)
        # The function gives pseudonyms of stored cases only: no string goes in.
        for attempt in ("SELECT iom_audit_pseudonyms('DEMO-T-0001')",
                        "SELECT iom_audit_pseudonyms(ARRAY['DEMO-T-0001'])"):
            with rita.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError):
                conn.exec_driver_sql(attempt)
        # Her export (pseudonymised by her role) is computed by the function, in the
        # database, and equals HMAC-SHA256 under the key she cannot read.
        done = export(rita, tmp_path / "out", actor=Actor(login))
        assert done.pseudonymised_by_role
        exported = set(pd.read_csv(tmp_path / "out" / "cases.csv")["case_ref"])
        expected = {hmac.new(held, f"DEMO-T-{i:04d}".encode(), hashlib.sha256).hexdigest()[:16]
                    for i in range(1, 61)}
        assert exported == expected
    finally:
        rita.dispose()


@pytest.mark.postgres
def test_postgres_the_key_table_is_refused_to_public_and_the_function_too(
        postgres_db: Database) -> None:
    """Without the grant, even calling the function is refused (EXECUTE revoked from PUBLIC)."""
    login = f"stranger_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_db.engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {login} LOGIN")
    url = postgres_db.engine.url.set(username=login)
    stranger = sa.create_engine(url)
    try:
        with stranger.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                       match="permission denied"):
            conn.exec_driver_sql("SELECT * FROM iom_audit_pseudonyms(ARRAY[1])")
    finally:
        stranger.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (login,))
            conn.exec_driver_sql(f"DROP ROLE {login}")
        admin.dispose()
