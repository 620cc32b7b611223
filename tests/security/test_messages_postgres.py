"""Red team, messages on the real PostgreSQL server: a unique race, a login without the
privilege it needs, a server that does not answer, another application's database and
a newer iom-audit's - each one line of words, with no SQL, parameters, class names or
password, and nothing created or changed."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.inspections import create_inspection, find_inspection, get_or_create_site
from audit.store.engine import open_database
from audit.store.errors import message
from cli.app import run
from tests.security.messages import assert_plain

pytestmark = pytest.mark.postgres


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_a_unique_race_between_two_sessions(postgres_url: str) -> None:
    db = open_database(postgres_url)
    with db.write_session() as session:
        create_inspection(session, "t")
    first_flushed, failure = threading.Event(), []

    def first() -> None:
        with db.write_session() as session:
            get_or_create_site(session, find_inspection(session, "t"), "Leeds")
            first_flushed.set()
            time.sleep(0.5)  # the second session is now waiting on the same key

    def second() -> None:
        first_flushed.wait()
        try:
            with db.write_session() as session:
                # Both looked before either committed: the second insert loses the race.
                get_or_create_site(session, find_inspection(session, "t"), "Leeds")
        except Exception as exc:  # noqa: BLE001 - the failure under test
            failure.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.dispose()
    assert failure, "the second session did not collide"
    line = assert_plain(message(failure[0]), secret="Leeds")
    assert line.startswith("someone else saved the same site at the same moment")


@pytest.fixture
def read_only_login(postgres_url: str) -> Iterator[str]:
    """A real non-owner login that may read every table but change none."""
    role = f"iom_ro_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    database = sa.engine.make_url(postgres_url).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        yield sa.engine.make_url(postgres_url).set(username=role).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE usename = %s", (role,))
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_a_missing_privilege_names_what_to_ask_for(postgres_url: str, read_only_login: str,
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", postgres_url, "init", "--inspection", "t"]) == 0
    cases = tmp_path / "cases.csv"
    cases.write_text("case_ref,iom,site\nC1,yes,Leeds\n", encoding="utf-8")
    capsys.readouterr()
    assert run(["--db", read_only_login, "import", "cases", str(cases)]) == 1
    line = assert_plain(capsys.readouterr().err)
    assert "your database login may not" in line and "ask the database owner to grant" in line
    assert "permission denied" in line
    assert run(["--db", read_only_login, "info"]) == 0  # reading is what it may do


def test_a_server_that_does_not_answer(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://ann:pw-S3CRET@127.0.0.1:1/iom"
    assert run(["--db", url, "info"]) == 1
    line = assert_plain(capsys.readouterr().err, secret="pw-S3CRET")
    assert "the database server does not answer" in line
    assert "postgresql+psycopg://ann:***@127.0.0.1:1/iom" in line  # where, without password


def test_an_empty_or_foreign_database_is_left_alone(postgres_empty_url: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["info"], ["history", "C1"], ["compare"], ["import", "cases", "x.csv"]):
        assert run(["--db", postgres_empty_url, *args]) == 1
        assert "run `iom-audit init` first" in assert_plain(capsys.readouterr().err)
    assert _tables(postgres_empty_url) == []
    engine = sa.create_engine(postgres_empty_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE contact (id serial PRIMARY KEY, name text)")
    engine.dispose()
    for args in (["info"], ["init"], ["demo", "--cases", "5"]):
        assert run(["--db", postgres_empty_url, *args]) == 1
        assert "is not an iom-audit database" in assert_plain(capsys.readouterr().err)
    assert _tables(postgres_empty_url) == ["contact"]


def test_a_newer_schema_on_the_server_is_refused(postgres_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    engine.dispose()
    for args in (["info"], ["init"], ["inspectors", "add", "A B", "--role", "lead"]):
        assert run(["--db", postgres_url, *args]) == 1
        line = assert_plain(capsys.readouterr().err)
        assert "newer version of iom-audit (revision f00dfeed9999)" in line
