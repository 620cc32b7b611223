"""Identity on PostgreSQL, tried by a real non-owner login holding exactly the documented grants.

The grants are read from docs/security.md (the SQL block under "PostgreSQL: an
application role ..."), so the document and this test cannot drift apart. Each test makes
its own group role and login with unique names (roles are cluster-wide) and drops them
afterwards. The database is migrated by its owner, as the document says.

The attacks of issue 15 ("Identity on PostgreSQL") and what happens now:
- typing `root` on the app's start screen: the name box shows the login and is disabled,
  and a typed name changes nothing: the header and the trail name the login;
- `import ratings --inspector postgres`: refused for a non-lead; a lead may attribute
  answers only to a registered person, and the trail names both;
- inserting oneself into `inspector` as a lead: permission denied; roles change only
  through the guarded functions, which check for a lead and write the event.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from rich.text import Text

from audit.cases import record_answer
from audit.errors import AuditError, NotFoundError, PermissionDenied, UsageError
from audit.exports.exporters import export
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.people import add_inspector, identify, set_role
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from cli.app import run
from tests.helpers import make_inspection
from tests.security.pg_grants import grant_statements

pytestmark = pytest.mark.postgres

LEAD = "Lee Lead"  # registered by the owner: the database's first lead


@dataclass
class Server:
    """The test's database: the owner's connection, and a person's login in the app group."""

    owner: Database
    owner_url: str
    login: str
    group: str
    login_url: str
    opened: list[Database] = field(default_factory=list)

    def as_login(self) -> Database:
        db = open_database(self.login_url, migrate=False)
        self.opened.append(db)
        return db

    def sql_as_login(self, statement: str, **params: object) -> object:
        """Run one statement as the login in its own transaction; its first value."""
        db = self.as_login()
        with db.engine.begin() as conn:
            return conn.execute(sa.text(statement), params).scalar()

    def refused_as_login(self, statement: str, **params: object) -> str:
        """Run a statement as the login that must fail; the server's message."""
        db = self.as_login()
        with pytest.raises(sa.exc.DBAPIError) as caught, db.engine.begin() as conn:
            conn.execute(sa.text(statement), params)
        return str(caught.value.orig)

    def rows(self, sql: str, **params: object) -> list[tuple[object, ...]]:
        with self.owner.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    def role(self, name: str) -> str | None:
        found = self.rows("SELECT role FROM inspector WHERE name = :n", n=name)
        return str(found[0][0]) if found else None

    def role_events(self, key: str) -> list[tuple[object, ...]]:
        return self.rows("SELECT who, old_value, new_value FROM audit_event WHERE "
                         "entity = 'inspector' AND key = :k ORDER BY id", k=key)


@pytest.fixture
def server(postgres_url: str) -> Iterator[Server]:
    """Migrated by the owner, with the documented grants for a new group and login."""
    tag = uuid.uuid4().hex[:10]
    group, login = f"iom_app_{tag}", f"iom_person_{tag}"
    database = sa.engine.make_url(postgres_url).database
    assert database
    owner = open_database(postgres_url)  # the owner runs the migrations
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    login_url = sa.engine.make_url(postgres_url).set(username=login).render_as_string(
        hide_password=False)
    made = Server(owner, postgres_url, login, group, login_url)
    try:
        make_inspection(owner, cases=3)
        add_inspector(owner, LEAD, "lead", actor=Actor(LEAD))
        with admin.connect() as conn:
            for statement in grant_statements(group, login, database):
                conn.exec_driver_sql(statement)
        yield made
    finally:
        for db in made.opened:
            db.dispose()
        owner.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE usename IN (%s, %s)", (login, group))
            for role in (login, group):
                if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                        (role,)).first():
                    conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                    conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


def _make_lead(server: Server) -> None:
    """The first lead makes the login a lead (as `iom-audit inspectors` does)."""
    if server.role(server.login) is None:
        add_inspector(server.owner, server.login, "lead", actor=Actor(LEAD))
    else:
        set_role(server.owner, server.login, "lead", actor=Actor(LEAD))


# ----------------------------------------------------------- the roles table is read-only

@pytest.mark.parametrize("statement", [
    "INSERT INTO inspector (name, role) VALUES (session_user, 'lead')",
    "UPDATE inspector SET role = 'lead'",
    "DELETE FROM inspector",
    "TRUNCATE inspector CASCADE",
])
def test_the_login_cannot_write_the_roles_table(server: Server, statement: str) -> None:
    assert "permission denied" in server.refused_as_login(statement)
    assert server.role(server.login) is None
    assert server.role(LEAD) == "lead"


def test_the_login_cannot_forge_a_role_event(server: Server) -> None:
    """Writing the event alone does not make a lead: roles are read from the table."""
    db = server.as_login()
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_event (at, who, entity, key, field, "
                             "new_value) VALUES (now(), :me, 'inspector', :me, 'role', "
                             "'lead')"), {"me": server.login})
    with pytest.raises(PermissionDenied, match="only the lead role may add people"):
        set_role(db, LEAD, "inspector", actor=Actor(server.login))


# ------------------------------------------------------------------ registering oneself

def test_registering_oneself_works_and_is_in_the_trail(server: Server) -> None:
    db = server.as_login()
    who = identify(db, server.login, "lead")  # a newcomer asks to lead; there is one
    assert (who.actor.name, who.actor.role) == (server.login, "inspector")
    assert who.notice and "Only a lead can make someone a lead" in who.notice
    assert server.role(server.login) == "inspector"
    assert server.role_events(server.login) == [(server.login, None, "inspector")]
    # Asking again, by the function itself, changes nothing and writes nothing.
    assert server.sql_as_login("SELECT iom_register_self('lead', NULL)") == "inspector"
    assert server.role_events(server.login) == [(server.login, None, "inspector")]


def test_a_first_answer_registers_the_login_through_the_guarded_path(server: Server) -> None:
    db = server.as_login()
    case_id = server.rows("SELECT min(id) FROM \"case\"")[0][0]
    assert isinstance(case_id, int)
    record_answer(db, case_id, "2.1.1", "yes", actor=Actor(server.login), expected_version=1)
    assert server.role(server.login) == "inspector"
    assert server.role_events(server.login) == [(server.login, None, "inspector")]
    assert server.rows("SELECT DISTINCT p.name FROM answer a JOIN inspector p ON "
                       "p.id = a.inspector_id") == [(server.login,)]


def test_registration_takes_the_login_whatever_role_is_assumed(server: Server) -> None:
    """SET ROLE to the group changes current_user, not the login: the login is registered."""
    db = server.as_login()
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f'SET ROLE "{server.group}"')
        assert conn.exec_driver_sql("SELECT iom_register_self('inspector', NULL)").scalar() \
            == "inspector"
    assert server.role(server.login) == "inspector"
    assert server.role(server.group) is None


def test_a_temporary_table_cannot_stand_in_for_the_roles_table(server: Server) -> None:
    """The functions' search_path is pinned, with pg_temp last: a login's temporary
    `inspector` table naming it a lead is never read."""
    db = server.as_login()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE inspector (id int, name text, "
                             "initials text, role text)")
        conn.execute(sa.text("INSERT INTO inspector VALUES (1, :me, NULL, 'lead')"),
                     {"me": server.login})
        with pytest.raises(sa.exc.DBAPIError, match="only the lead role may add people"):
            conn.execute(sa.text("SELECT iom_set_role(:me, 'lead')"), {"me": server.login})
    assert server.role(server.login) is None


def test_a_login_outside_the_app_group_cannot_register(server: Server) -> None:
    """EXECUTE is taken from PUBLIC by the migration: only the documented group has it."""
    stranger = f"{server.login}_x"
    admin = sa.create_engine(server.owner_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE ROLE "{stranger}" LOGIN')
        url = sa.engine.make_url(server.login_url).set(username=stranger).render_as_string(
            hide_password=False)
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn, pytest.raises(sa.exc.DBAPIError,
                                                       match="permission denied"):
                conn.exec_driver_sql("SELECT iom_register_self('lead', NULL)")
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE usename = %s", (stranger,))
            conn.exec_driver_sql(f'DROP OWNED BY "{stranger}"')
            conn.exec_driver_sql(f'DROP ROLE "{stranger}"')
        admin.dispose()
    assert server.role(stranger) is None


def test_the_functions_are_owned_by_the_migration_owner_with_a_pinned_path(
        server: Server) -> None:
    found = server.rows("""
        SELECT p.proname, p.prosecdef, pg_get_userbyid(p.proowner), p.proconfig::text,
               has_function_privilege('public', p.oid, 'EXECUTE')
        FROM pg_proc p WHERE p.proname LIKE 'iom\\_%' ORDER BY p.proname""")
    owner = server.rows("SELECT current_user")[0][0]
    names = [r[0] for r in found]
    assert {"iom_add_person", "iom_register_self", "iom_set_role"} <= set(names)
    # Every SECURITY DEFINER function the migrations make (roles, pseudonyms, the trail's
    # guarded paths) must be the owner's, closed to PUBLIC and pinned to the schema.
    for _name, definer, proowner, config, public in found:
        if not definer:
            continue
        assert proowner == owner and not public, _name
        # pg_temp last: a login's temporary objects can never shadow the real ones.
        assert "search_path=" in str(config) and str(config).endswith('pg_temp"}'), _name


# ----------------------------------------------------------------------- changing roles

def test_a_non_lead_cannot_change_roles(server: Server,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    db = server.as_login()
    identify(db, server.login, "inspector")
    with pytest.raises(PermissionDenied, match="only the lead role may add people"):
        set_role(db, server.login, "lead", actor=Actor(server.login))
    with pytest.raises(PermissionDenied, match="only the lead role may add people"):
        add_inspector(db, "Mallory", "lead", actor=Actor(server.login))
    # Straight to the database's functions: they check for a lead themselves.
    assert "only the lead role may add people or change roles" in server.refused_as_login(
        "SELECT iom_set_role(:me, 'lead')", me=server.login)
    assert "only the lead role" in server.refused_as_login(
        "SELECT iom_add_person('Mallory', 'lead', NULL)")
    assert "only the lead role" in server.refused_as_login(
        "SELECT iom_set_role(:lead, 'inspector')", lead=LEAD)
    assert run(["--db", server.login_url, "inspectors", "set-role", server.login,
                "lead"]) == 1
    err = capsys.readouterr().err
    assert "only the lead role may add people or change roles" in err
    assert "SELECT" not in err and "iom_set_role" not in err
    assert (server.role(server.login), server.role("Mallory"), server.role(LEAD)) == (
        "inspector", None, "lead")
    assert server.role_events(server.login) == [(server.login, None, "inspector")]


def test_a_lead_login_changes_roles_with_events(server: Server) -> None:
    _make_lead(server)
    db = server.as_login()
    add_inspector(db, "Nia New", "inspector", actor=Actor(server.login), initials="NN")
    assert set_role(db, "Nia New", "researcher", actor=Actor(server.login)) == "inspector"
    assert server.role_events("Nia New") == [(server.login, None, "inspector"),
                                             (server.login, "inspector", "researcher")]
    assert server.rows("SELECT initials FROM inspector WHERE name = 'Nia New'") == [("NN",)]
    # Demoting the other lead works; the last lead (the login itself) stays a lead.
    set_role(db, LEAD, "inspector", actor=Actor(server.login))
    with pytest.raises(UsageError, match="is the only lead"):
        set_role(db, server.login, "inspector", actor=Actor(server.login))
    assert "is the only lead" in server.refused_as_login(
        "SELECT iom_set_role(:me, 'inspector')", me=server.login)
    with pytest.raises(NotFoundError, match="no inspector named 'Nobody'"):
        set_role(db, "Nobody", "lead", actor=Actor(server.login))
    assert server.role(server.login) == "lead"
    assert server.role_events(LEAD)[-1] == (server.login, "lead", "inspector")


def test_the_first_lead_of_a_database_may_be_a_login_registering_itself(
        postgres_url: str) -> None:
    """On a database with no lead, a login may claim lead for itself, never for others."""
    tag = uuid.uuid4().hex[:10]
    group, login = f"iom_app_{tag}", f"iom_person_{tag}"
    database = sa.engine.make_url(postgres_url).database
    assert database
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(postgres_url).set(username=login).render_as_string(
        hide_password=False)
    db: Database | None = None
    try:
        with admin.connect() as conn:
            for statement in grant_statements(group, login, database):
                conn.exec_driver_sql(statement)
        db = open_database(url, migrate=False)
        with pytest.raises(PermissionDenied, match="only the lead role may add people"):
            add_inspector(db, "Someone Else", "lead", actor=Actor(login))
        add_inspector(db, login, "lead", actor=Actor(login))
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT role FROM inspector")).scalars().all() == \
                ["lead"]
            assert conn.execute(sa.text("SELECT who, key, new_value FROM audit_event")).all() \
                == [(login, login, "lead")]
    finally:
        if db is not None:
            db.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE usename = %s", (login,))
            for role in (login, group):
                conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
                conn.exec_driver_sql(f'DROP ROLE "{role}"')
        admin.dispose()


# ------------------------------------------------------- the start screen's `root` trick

def test_a_typed_name_is_not_the_person(server: Server) -> None:
    add_inspector(server.owner, "root", "lead", actor=Actor(LEAD))
    db = server.as_login()
    who = identify(db, "root", "lead")
    assert (who.actor.name, who.actor.role) == (server.login, "inspector")
    assert who.notice and f"logged in to the database as {server.login}" in who.notice
    case_id = server.rows("SELECT min(id) FROM \"case\"")[0][0]
    assert isinstance(case_id, int)
    with pytest.raises(PermissionDenied, match="you cannot act as root"):
        record_answer(db, case_id, "2.1.1", "yes", actor=Actor("root", "lead"),
                      expected_version=1)
    assert server.rows("SELECT count(*) FROM audit_event WHERE who = 'root'") == [(0,)]


async def _started(app: object, pilot: object, ready: object) -> None:
    """Wait (up to 30 s: the machine may be busy) until `ready()` holds."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        if ready():  # type: ignore[operator]
            return


async def test_the_start_screen_shows_the_login_and_cannot_change_it(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app remembers `root` (a lead) as the last rater; the login starts the app."""
    from textual.widgets import Input, Static

    from tui.app import IomAuditApp

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"inspector": "root", "role": "lead"}), encoding="utf-8")
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(settings))
    monkeypatch.delenv("IOM_AUDIT_INSPECTOR", raising=False)
    add_inspector(server.owner, "root", "lead", actor=Actor(LEAD))
    app = IomAuditApp(server.as_login())
    async with app.run_test(size=(120, 40)) as pilot:
        def name_box() -> list[Input]:
            return list(app.screen.query("#name").results(Input))

        await _started(app, pilot, lambda: any(b.value == server.login for b in name_box()))
        name = app.screen.query_one("#name", Input)
        assert name.value == server.login and name.disabled
        assert server.login in str(app.screen.query_one("#who-heading", Static).content)
        name.value = "root"  # even if the box were changed behind its back
        await pilot.press("enter")
        await _started(app, pilot, lambda: app.workspace is not None)
        assert app.workspace is not None
        assert (app.workspace.who, app.workspace.role) == (server.login, "inspector")
        await _started(app, pilot, lambda: bool(app.screen.query("#dashboard-title")))
        header = Text.from_markup(str(app.screen.query_one("#dashboard-title",
                                                           Static).content)).plain
        await pilot.pause(0.2)
        assert f"rating as {server.login} (inspector)" in header and "root" not in header
    assert server.rows("SELECT count(*) FROM audit_event WHERE who = 'root'") == [(0,)]
    assert server.role_events(server.login) == [(server.login, None, "inspector")]


async def test_the_inspector_variable_cannot_choose_the_person_either(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IOM_AUDIT_INSPECTOR=root skips the start screen: the app still rates as the login."""
    from tui.app import IomAuditApp

    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "root")
    add_inspector(server.owner, "root", "lead", actor=Actor(LEAD))
    app = IomAuditApp(server.as_login())
    async with app.run_test(size=(120, 40)) as pilot:
        await _started(app, pilot, lambda: app.workspace is not None)
        assert app.workspace is not None
        assert (app.workspace.who, app.workspace.role) == (server.login, "inspector")
        # Let the dashboard finish mounting before the app closes.
        await _started(app, pilot, lambda: bool(app.screen.query("#dashboard-title")))
        await pilot.pause(0.2)
    assert server.rows("SELECT count(*) FROM audit_event WHERE who = 'root'") == [(0,)]


# -------------------------------------------------------------- import --inspector NAME

def _ratings(path: Path, inspector: str | None = None) -> Path:
    rows = [{"case_ref": "C-0001", "question_id": "2.1.1", "answer": "yes"},
            {"case_ref": "C-0002", "question_id": "2.1.1", "answer": "no"}]
    frame = pd.DataFrame(rows)
    if inspector is not None:
        frame["inspector"] = inspector
    frame.to_csv(path, index=False)
    return path


def test_a_non_lead_cannot_attribute_answers_to_another_name(
        server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = _ratings(tmp_path / "r.csv")
    assert run(["--db", server.login_url, "import", "ratings", str(file),
                "--inspector", "postgres"]) == 1
    err = capsys.readouterr().err
    assert "only the lead role may import ratings given by others" in err
    assert "SELECT" not in err
    column = _ratings(tmp_path / "col.csv", inspector="root")
    assert run(["--db", server.login_url, "import", "ratings", str(column)]) == 1
    err = capsys.readouterr().err
    assert "col.csv:2: column inspector: value 'root': only the lead role may import " \
           "ratings given by others" in err
    assert server.rows("SELECT count(*) FROM answer") == [(0,)]
    assert server.role("postgres") is None and server.role("root") is None


def test_a_non_lead_imports_their_own_ratings_under_their_login(
        server: Server, tmp_path: Path) -> None:
    db = server.as_login()
    summary = import_ratings(db, _ratings(tmp_path / "r.csv"), actor=Actor(server.login))
    assert summary.result.created == 2
    assert server.rows("SELECT DISTINCT p.name FROM answer a JOIN inspector p ON "
                       "p.id = a.inspector_id") == [(server.login,)]
    assert server.rows("SELECT DISTINCT who FROM audit_event WHERE entity = 'answer'") == [
        (server.login,)]
    assert server.rows("SELECT count(*) FROM audit_event WHERE entity = 'rating'") == [(0,)]


def test_a_lead_attributes_only_to_registered_people_and_the_trail_names_both(
        server: Server, tmp_path: Path) -> None:
    _make_lead(server)
    db = server.as_login()
    file = _ratings(tmp_path / "r.csv")
    with pytest.raises(NotFoundError, match="'postgres' is not registered"):
        import_ratings(db, file, actor=Actor(server.login), inspector="postgres")
    with pytest.raises(ImportRejected) as rejected:
        import_ratings(db, _ratings(tmp_path / "c.csv", inspector="Ghost Rater"),
                       actor=Actor(server.login))
    assert rejected.value.lines[0].endswith(
        "c.csv:2: column inspector: value 'Ghost Rater': 'Ghost Rater' is not registered in "
        "this database (a lead registers people with `iom-audit inspectors add`)")
    assert server.role("postgres") is None and server.role("Ghost Rater") is None
    import_ratings(db, file, actor=Actor(server.login), inspector=LEAD)
    assert server.rows("SELECT DISTINCT p.name FROM answer a JOIN inspector p ON "
                       "p.id = a.inspector_id") == [(LEAD,)]
    assert server.rows("SELECT DISTINCT who FROM audit_event WHERE entity = 'answer'") == [
        (server.login,)]
    assert server.rows("SELECT who, key, field, new_value FROM audit_event WHERE "
                       "entity = 'rating' ORDER BY key") == [
        (server.login, "C-0001/primary", "rated_by", LEAD),
        (server.login, "C-0002/primary", "rated_by", LEAD)]


# ------------------------------------------------------------------ identifiable export

def test_identifiable_export_is_refused_to_the_login_unless_a_lead(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = server.as_login()
    # The attack: make oneself a lead, by the table or by the functions. All refused.
    assert "permission denied" in server.refused_as_login(
        "INSERT INTO inspector (name, role) VALUES (session_user, 'lead')")
    assert server.sql_as_login("SELECT iom_register_self('lead', NULL)") == "inspector"
    assert "only the lead role" in server.refused_as_login(
        "SELECT iom_set_role(session_user::text, 'lead')")
    refs = {"C-0001", "C-0002", "C-0003"}
    try:
        result = export(db, tmp_path / "out", actor=Actor(server.login))
    except AuditError:
        pass  # refused outright: nothing identifiable either
    else:
        assert result.pseudonymised
        text = "".join(p.read_text(encoding="utf-8") for p in result.files)
        assert not any(ref in text for ref in refs)
    # Made a lead by a lead (in the trail), the same login may export case references.
    _make_lead(server)
    result = export(db, tmp_path / "lead", actor=Actor(server.login))
    assert not result.pseudonymised
    assert refs <= set(pd.read_csv(result.files[0], dtype=str)["case_ref"])
    assert server.role_events(server.login) == [(server.login, None, "inspector"),
                                                (LEAD, "inspector", "lead")]
