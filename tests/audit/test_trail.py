"""The audit trail: `history` shows it, and the database refuses to rewrite it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.cases import load_case, record_answer, save_note, update_profile
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from cli.app import run
from tests.databases import fresh_sqlite
from tests.helpers import make_inspection


def _edit(db: Database, case_id: int) -> None:
    v = load_case(db, case_id, actor=Actor("Reader")).version
    v = record_answer(db, case_id, "2.1.1", "yes", actor=Actor("Ann"), expected_version=v).version
    v = record_answer(db, case_id, "2.1.1", "no", actor=Actor("Bob"), expected_version=v,
                      seen="yes").version
    v = save_note(db, case_id, "2.1.1", "engaged <b>well</b> [/bold]", actor=Actor("Bob"),
                  expected_version=v).version
    update_profile(db, case_id, {"rosh": "medium"}, actor=Actor("Ann"), expected_version=v)


def test_history_lists_every_change_as_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = str(tmp_path / "h.db")
    db = fresh_sqlite(path)
    case_id = make_inspection(db, cases=1)[0]
    _edit(db, case_id)
    db.dispose()
    assert run(["--db", path, "history", "C-0001"]) == 0
    out = capsys.readouterr().out
    for text in ("When (UTC)", "Ann", "Bob", "yes → no", "∅ → yes", "high → medium",
                 "not_started → in_progress", "engaged <b>well</b> [/bold]"):
        assert text in out, text


def test_history_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "h.db")
    db = fresh_sqlite(path)
    case_id = make_inspection(db, cases=1)[0]
    make_inspection(db, "other", cases=1)
    _edit(db, case_id)
    db.dispose()
    assert run(["--db", path, "history", "C-0001", "--inspection", "insp", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [d["inspection"] for d in doc] == ["insp"]
    events = doc[0]["events"]
    answers = [(e["who"], e["old"], e["new"]) for e in events if e["entity"] == "answer"]
    assert answers == [("Ann", None, "yes"), ("Bob", "yes", "no")]
    assert all(e["at"].endswith("+00:00") for e in events)  # UTC, never ambiguous
    assert {e["entity"] for e in events} == {"answer", "note", "case"}


def test_history_of_an_unknown_case_is_a_clean_error(sqlite_db: Database,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    make_inspection(sqlite_db, cases=1)
    path = str(sqlite_db.location.path)
    assert run(["--db", path, "history", "NOPE"]) == 1
    assert "no case 'NOPE'" in capsys.readouterr().err


# ---------------------------------------------------------------------------- PostgreSQL

# The table grants docs/security.md gives the application role (keep them in step).
APP_ROLE_GRANTS = """
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {role};
REVOKE UPDATE, DELETE, TRUNCATE ON trail_key FROM {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
GRANT EXECUTE ON FUNCTION iom_register_self(text, text) TO {role};
GRANT EXECUTE ON FUNCTION iom_audit_seal(), iom_audit_redact(integer) TO {role};
"""


@pytest.mark.postgres
def test_postgres_app_role_may_only_insert_and_read_the_trail(postgres_url: str) -> None:
    admin = open_database(postgres_url)
    case_id = make_inspection(admin, cases=1)[0]
    with admin.engine.connect() as conn:
        conn.exec_driver_sql("DO $$ BEGIN CREATE ROLE iom_app_test LOGIN; "
                             "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        for statement in APP_ROLE_GRANTS.format(role="iom_app_test").strip().splitlines():
            conn.exec_driver_sql(statement)
        conn.commit()
    admin.dispose()
    app_url = sa.engine.make_url(postgres_url).set(username="iom_app_test").render_as_string(
        hide_password=False)
    app = open_database(app_url, migrate=False)
    try:
        # The app role does its work: an edit writes the answer and its events.
        # On PostgreSQL the login is the person: the app acts under its own login.
        record_answer(app, case_id, "2.1.1", "yes", actor=Actor("iom_app_test"),
                      expected_version=1)
        with app.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM audit_event").scalar() >= 1
        for statement in ("UPDATE audit_event SET new_value = 'forged'",
                          "DELETE FROM audit_event", "TRUNCATE audit_event"):
            with app.engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                             match="permission denied"):
                conn.exec_driver_sql(statement)
        # Even the setting that lets a purge through does not help without the grant.
        with app.engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                         match="permission denied"):
            conn.exec_driver_sql("SET LOCAL iom_audit.purge = 'on'")
            conn.exec_driver_sql("UPDATE audit_event SET new_value = 'forged'")
    finally:
        app.dispose()
