"""Shared fixtures: a fresh SQLite database per test, and the real PostgreSQL server.

Fresh databases are copies of one migrated template per test process (see
tests/databases.py): a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from audit.store.engine import Database, open_database
from audit.views.background import COLLECT_AFTER
from tests import databases
from tests.databases import Build, Prepare

PG_ADMIN_URL = os.environ.get("IOM_AUDIT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything imported so far out of the garbage collector's sight.

    Every test module is imported by now (pandas, scipy, statsmodels, textual, ...): some
    200,000 long-lived objects that a full collection would walk again each time, at
    about 0.5 s a walk here. Full collections are frequent in tests that allocate a lot,
    and statsmodels' Holm correction calls gc.collect() itself on every call (both the
    statistics under test and the reference do). Frozen objects are still freed by
    reference counting; only cycles among them are never collected.
    """
    gc.collect()
    gc.freeze()
    _frozen_at[0] = len(sys.modules)
    # Young objects collected as the app collects them (`settle_heap`): the app sessions
    # the tests drive run under the collector settings of the real app (and 8% less CPU).
    gc.set_threshold(*COLLECT_AFTER)


_frozen_at = [0]  # how many modules were imported when the heap was last frozen


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a test that imported more modules (the exporters, the report builder and
    their libraries are imported on first use), freeze those too."""
    yield
    if len(sys.modules) != _frozen_at[0]:
        gc.collect()
        gc.freeze()
        _frozen_at[0] = len(sys.modules)


# Scheduling over the xdist workers (`make test`: -n 3 --dist loadgroup). A work unit is a
# whole file, so module- and session-scoped fixtures are built once; tests/audit/demo is one
# unit (its session fixture builds the demo database); the files in SPLIT hold only
# function-scoped set-up and are sent test by test, to even out the end of the run.
# Units start longest first (seconds measured on the 2-core machine; unlisted files are
# short and follow in collection order), so no long test is left to start last.
SPLIT = ("tests/tui/test_two_sessions.py", "tests/tui/test_rating_flow.py",
         "tests/tui/test_snapshots.py", "tests/tui/test_workflows.py",
         "tests/tui/test_process.py", "tests/benchmarks/test_harness.py")
GROUPS = {"tests/audit/demo/": "tests/audit/demo"}
LONGEST = {
    "tests/tui/test_app_kills.py": 72,
    "tests/benchmarks/test_harness.py": 30,
    "tests/benchmarks/test_harness_postgresql.py": 20,
    "tests/security/test_disclosure_kills.py": 18,
    "tests/audit/test_crash.py": 18,
    "tests/tui/test_two_sessions.py": 16,
    "tests/tui/test_rating_flow.py::test_rate_a_case_end_to_end": 16,
    "tests/audit/demo": 13,
    "tests/audit/views/test_tally.py": 8,
    "tests/audit/test_fuzz.py": 7,
    "tests/tui/test_process.py": 5,
    "tests/audit/test_cases_concurrency.py": 6,
    "tests/audit/test_cell_safety.py": 5,
    "tests/audit/imports/test_staging.py": 4,
    "tests/audit/imports/test_cases.py": 4,
    "tests/audit/exports/test_exporters.py": 4,
    "tests/audit/store/test_backup.py": 4,
}


def _unit(item: pytest.Item) -> str:
    """The xdist_group of a test: its file, its folder's group, or itself (split files)."""
    path = item.nodeid.split("::")[0]
    if path in SPLIT:
        return item.nodeid
    return next((g for prefix, g in GROUPS.items() if path.startswith(prefix)), path)


def _seconds(unit: str) -> float:
    return max((s for key, s in LONGEST.items() if unit.startswith(key)), default=0.0)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the tests into work units and put the longest units first (stable)."""
    units = {id(item): _unit(item) for item in items}
    if config.pluginmanager.hasplugin("xdist"):  # which registers the xdist_group mark
        for item in items:
            if units[id(item)] != item.nodeid:
                item.add_marker(pytest.mark.xdist_group(units[id(item)]))
    items.sort(key=lambda item: -_seconds(units[id(item)]))


def _postgres_answers() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no server"
        return False


@pytest.fixture(scope="session", autouse=True)
def _database_templates(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Where this process keeps its migrated SQLite template (built on first use), and
    where the files built once for the session are shared by every worker: beside the
    workers' own temporary folders under xdist (one folder per session), else in this
    session's own."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "built-once"
    shared.mkdir(exist_ok=True)
    databases.configure(tmp_path_factory.mktemp("db-template"), shared)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty SQLite database in a temporary file (a copy of the template)."""
    database = databases.fresh_sqlite(tmp_path / "test.db")
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


def _url(server: str, name: str) -> str:
    return sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _database(server: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A new database (a copy of `template`, else empty) with a unique name; dropped after.

    Unique names keep parallel workers, and other checkouts using the same server, apart.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"'
                                 + (f' TEMPLATE "{template}"' if template else ""))
        yield name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,))
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """The name of a database migrated to head once per test process, to copy from.

    Nothing stays connected to it (PostgreSQL copies only a database nobody is connected
    to), and connections to it are refused from then on.
    """
    with _database(postgres_server, "iom_tmpl") as name:
        open_database(_url(postgres_server, name)).dispose()
        admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.dispose()
        yield name


@pytest.fixture
def postgres_empty_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (no schema), dropped afterwards."""
    with _database(postgres_server, "iom_test") as name:
        yield _url(postgres_server, name)


@pytest.fixture
def postgres_url(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database at the newest schema, no data, dropped afterwards
    (a copy of the migrated template: opening it migrates nothing)."""
    with _database(postgres_server, "iom_test", template=postgres_template) as name:
        yield _url(postgres_server, name)


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




@pytest.fixture(scope="session")
def _prepared_templates(postgres_server: str) -> Iterator[dict[str, tuple[str, Any]]]:
    """name -> (database, value) of what `prepare` built on PostgreSQL in this process;
    every database it made is dropped at the end."""
    known: dict[str, tuple[str, Any]] = {}
    yield known
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for database, _ in known.values():
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}"')
    admin.dispose()


@pytest.fixture
def prepare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Prepare]:
    """`prepare(backend, name, build)`: a private copy of the database that `build` fills
    through the use cases, built once per name (and backend), and `build`'s value (JSON).

    For set-ups that rate cases answer by answer, as the app would (seconds each), which
    many tests of a file then read or change: they change their own copy. SQLite: built
    once per session (`databases.built_once`), copied per test. PostgreSQL: built once per
    test process into a database nobody connects to afterwards, copied per test with
    `CREATE DATABASE ... TEMPLATE`.
    """
    with ExitStack() as stack:
        def make(backend: str, name: str, build: Build) -> tuple[Database, Any]:
            if backend == "sqlite":
                built = databases.built_once(f"prepared-{name}", partial(_fill, build))
                value = json.loads(built.with_suffix(".json").read_text(encoding="utf-8"))
                target = tmp_path / f"{name}-{uuid.uuid4().hex[:8]}.db"
                shutil.copyfile(built, target)
                url = str(target)
            elif backend == "postgres":
                server = request.getfixturevalue("postgres_server")
                known = request.getfixturevalue("_prepared_templates")
                if name not in known:
                    known[name] = _prepared_template(
                        server, request.getfixturevalue("postgres_template"), build)
                template, value = known[name]
                url = _url(server, stack.enter_context(
                    _database(server, "iom_test", template=template)))
            else:
                raise ValueError(f"no backend {backend!r}")
            db = open_database(url)
            stack.callback(db.dispose)
            return db, value

        yield make


def _fill(build: Build, path: Path) -> None:
    """`build` on a fresh SQLite file at `path`; its value beside it (`.json`)."""
    db = databases.fresh_sqlite(path)
    try:
        value = build(db)
    finally:
        db.dispose()
    path.with_suffix(".json").write_text(json.dumps(value), encoding="utf-8")


def _prepared_template(server: str, migrated: str, build: Build) -> tuple[str, Any]:
    """A new database (a copy of the migrated template) filled by `build`, closed to
    connections so that it can be copied; its name and `build`'s value (as JSON reads it)."""
    name = f"iom_prep_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{migrated}"')
        try:
            db = open_database(_url(server, name))
            try:
                value = build(db)
            finally:
                db.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        except BaseException:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            raise
    finally:
        admin.dispose()
    return name, json.loads(json.dumps(value))
