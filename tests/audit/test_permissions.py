"""Roles: inspector rates, lead manages and purges, researcher only exports.

Each test exercises one check through the code path people use (mostly the CLI).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.cases import record_answer, set_status
from audit.errors import PermissionDenied
from audit.identity import acting_user
from audit.people import list_inspectors
from audit.permissions import Actor, require, role_of
from audit.store.engine import Database, open_database
from audit.store.models import Inspector
from cli.app import run
from tests.helpers import make_inspection, set_role


@pytest.fixture
def lead_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database created with `init` by Lee Lead (who thereby leads it)."""
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    path = str(tmp_path / "roles.db")
    assert run(["--db", path, "init", "-i", "insp"]) == 0
    return path


def _as(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", name)


def _roles(path: str) -> dict[str, str]:
    db = open_database(path)
    try:
        return {n: r for n, _, r in list_inspectors(db)}
    finally:
        db.dispose()


def _with_a_lead(db: Database) -> None:
    with db.write_session() as session:
        session.add(Inspector(name="Lena Lead", role="lead"))


def test_an_unknown_person_is_an_inspector_once_there_is_a_lead(sqlite_db: Database) -> None:
    # A database built through the library, with nobody registered, has no roles yet.
    with sqlite_db.engine.connect() as conn:
        assert role_of(conn, "Nobody Yet") == "lead"
    _with_a_lead(sqlite_db)
    with sqlite_db.engine.connect() as conn:
        assert role_of(conn, "Nobody Yet") == "inspector"


def test_whoever_runs_init_on_a_new_database_is_its_lead(lead_db: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "Second Person")
    assert run(["--db", lead_db, "init", "-i", "another"]) == 0
    assert _roles(lead_db) == {"Lee Lead": "lead"}


def test_require_names_the_role_needed(sqlite_db: Database) -> None:
    set_role(sqlite_db, "Rita Research", "researcher")
    rita = Actor("Rita Research")
    with sqlite_db.engine.connect() as conn:
        with pytest.raises(PermissionDenied, match=r"only the lead role may purge .*Rita "
                                                   r"Research has the researcher role"):
            require(conn, rita, "purge")
        assert require(conn, rita, "report") == "researcher"


@pytest.mark.parametrize("role", ["inspector", "researcher"])
def test_only_a_lead_may_purge(lead_db: str, role: str, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    _as(monkeypatch, "Lee Lead")
    assert run(["--db", lead_db, "inspectors", "add", "Pat Person", "--role", role]) == 0
    _as(monkeypatch, "Pat Person")
    assert run(["--db", lead_db, "purge", "-i", "insp", "--yes"]) == 1
    assert "only the lead role may purge" in capsys.readouterr().err


def test_only_a_lead_may_add_people_or_change_roles(lead_db: str,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _as(monkeypatch, "Ivy Inspector")
    assert run(["--db", lead_db, "inspectors", "add", "Mal Icious", "--role", "lead"]) == 1
    assert run(["--db", lead_db, "inspectors", "set-role", "Ivy Inspector", "lead"]) == 1
    err = capsys.readouterr().err
    assert err.count("only the lead role may") == 2
    assert _roles(lead_db) == {"Lee Lead": "lead"}
    _as(monkeypatch, "Lee Lead")
    assert run(["--db", lead_db, "inspectors", "add", "Ivy Inspector", "--role", "inspector",
                "--initials", "II"]) == 0
    assert run(["--db", lead_db, "inspectors", "set-role", "Ivy Inspector", "lead"]) == 0
    assert _roles(lead_db) == {"Lee Lead": "lead", "Ivy Inspector": "lead"}


def test_the_last_lead_cannot_be_demoted(lead_db: str, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _as(monkeypatch, "Lee Lead")
    assert run(["--db", lead_db, "inspectors", "set-role", "Lee Lead", "inspector"]) == 1
    assert "only lead" in capsys.readouterr().err


def test_role_changes_are_in_the_audit_trail(lead_db: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _as(monkeypatch, "Lee Lead")
    assert run(["--db", lead_db, "inspectors", "add", "Rob", "--role", "researcher"]) == 0
    assert run(["--db", lead_db, "inspectors", "set-role", "Rob", "inspector"]) == 0
    db = open_database(lead_db)
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT who, key, old_value, new_value FROM audit_event WHERE entity = 'inspector' "
            "ORDER BY id").all()
    db.dispose()
    assert [tuple(r) for r in rows] == [("Lee Lead", "Lee Lead", None, "lead"),
                                        ("Lee Lead", "Rob", None, "researcher"),
                                        ("Lee Lead", "Rob", "researcher", "inspector")]


def test_only_a_lead_may_restore_over_a_database(lead_db: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _as(monkeypatch, "Lee Lead")
    backup = str(tmp_path / "copy.db")
    assert run(["--db", lead_db, "backup", backup]) == 0
    _as(monkeypatch, "Ivy Inspector")
    assert run(["--db", lead_db, "restore", backup, "--force"]) == 1
    assert "only the lead role may restore" in capsys.readouterr().err


def test_a_researcher_cannot_read_case_history_or_take_a_backup(
        lead_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    _as(monkeypatch, "Lee Lead")
    assert run(["--db", lead_db, "inspectors", "add", "Rita", "--role", "researcher"]) == 0
    _as(monkeypatch, "Rita")
    assert run(["--db", lead_db, "history", "C-0001"]) == 1
    assert run(["--db", lead_db, "backup", str(tmp_path / "b.db")]) == 1
    err = capsys.readouterr().err
    assert "may read case records" in err and "may back up" in err
    assert not (tmp_path / "b.db").exists()


def test_qa_and_locking_are_for_leads(sqlite_db: Database) -> None:
    case_id = make_inspection(sqlite_db, cases=1)[0]
    _with_a_lead(sqlite_db)
    with pytest.raises(PermissionDenied, match="only the lead role may lock"):
        set_status(sqlite_db, case_id, "locked", actor=Actor("Ivy"), expected_version=1)


# ---------------------------------------------------------------------------- PostgreSQL

def _login(url: str, role: str) -> str:
    return sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def pg_person(postgres_url: str) -> str:
    """A migrated PostgreSQL database and an ordinary login `iom_alice` with table rights."""
    admin = open_database(postgres_url)
    with admin.engine.connect() as conn:
        conn.exec_driver_sql("DO $$ BEGIN CREATE ROLE iom_alice LOGIN; "
                             "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.exec_driver_sql("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
                             "public TO iom_alice")
        conn.exec_driver_sql("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO iom_alice")
        # Registering oneself (on a first answer) goes through the database's function.
        conn.exec_driver_sql("GRANT EXECUTE ON FUNCTION iom_register_self(text, text) TO "
                             "iom_alice")
        # Every write seals its events through the owner's function (the trail's chain).
        conn.exec_driver_sql("GRANT EXECUTE ON FUNCTION iom_audit_seal() TO iom_alice")
        conn.commit()
    admin.dispose()
    return _login(postgres_url, "iom_alice")


@pytest.mark.postgres
def test_postgres_identity_is_the_database_login(pg_person: str, postgres_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Someone Else")
    alice = open_database(pg_person, migrate=False)
    admin = open_database(postgres_url, migrate=False)
    try:
        assert acting_user(alice) == "iom_alice"  # the variable cannot impersonate
        assert acting_user(admin) == "Someone Else"  # a superuser is an administrator
    finally:
        alice.dispose()
        admin.dispose()


@pytest.mark.postgres
def test_postgres_login_without_lead_role_cannot_purge(pg_person: str, postgres_url: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "iom_alice_pretends")
    admin = open_database(postgres_url)
    make_inspection(admin, cases=1)
    set_role(admin, "iom_alice_pretends", "lead")  # a lead by name, but not by login
    admin.dispose()
    assert run(["--db", pg_person, "purge", "-i", "insp", "--yes"]) == 1
    assert "iom_alice has the inspector role" in capsys.readouterr().err


@pytest.mark.postgres
def test_postgres_login_cannot_act_under_another_name(pg_person: str, postgres_url: str) -> None:
    """A use case refuses an actor whose name is not the connection's login, whatever face
    built it: the trail can only ever name the person logged in."""
    admin = open_database(postgres_url)
    case_id = make_inspection(admin, cases=1)[0]
    admin.dispose()
    alice = open_database(pg_person, migrate=False)
    try:
        with pytest.raises(PermissionDenied, match="logged in to the database as iom_alice: "
                                                   "you cannot act as root"):
            record_answer(alice, case_id, "2.1.1", "yes", actor=Actor("root"),
                          expected_version=1)
        change = record_answer(alice, case_id, "2.1.1", "yes", actor=Actor("iom_alice"),
                               expected_version=1)
        assert change.version > 1
        with alice.engine.connect() as conn:
            who = conn.exec_driver_sql("SELECT DISTINCT who FROM audit_event WHERE entity = "
                                       "'answer'").scalars().all()
        assert who == ["iom_alice"]
    finally:
        alice.dispose()
