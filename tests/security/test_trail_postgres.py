"""PostgreSQL: no role can truncate, update or delete the trail, the purge setting opens
nothing, redaction goes through the owner's function only, and two writers never fork
the chain (issue 15, "the trail can be rewritten").

The application side is a real non-owner login with the grants docs/security.md gives
(read from the document itself); the owner is the migration's role (the superuser here).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from audit.cases import record_answer
from audit.permissions import Actor
from audit.purge import purge_inspection
from audit.store.engine import Database, open_database
from audit.store.models import utcnow
from audit.trail import record_many, verify_trail
from tests.helpers import FREE_QUESTIONS, make_inspection, set_role
from tests.security.pg_grants import grant_statements

pytestmark = pytest.mark.postgres

LEAD = "Lee Lead"
@dataclass
class Login:
    name: str
    db: Database  # connected as the login


@pytest.fixture
def owner(postgres_url: str) -> Iterator[Database]:
    """The database as its owner (who ran the migrations), with a lead and a case."""
    db = open_database(postgres_url)
    set_role(db, LEAD, "lead")
    yield db
    db.dispose()


@pytest.fixture
def login_factory(owner: Database, postgres_url: str) -> Iterator[Callable[[str], Login]]:
    """Makes real non-owner logins with the documented grants; drops them after."""
    made: list[Login] = []
    groups: list[str] = []

    def make(role: str) -> Login:
        tag = uuid.uuid4().hex[:10]
        name, group = f"trail_{tag}", f"trail_app_{tag}"
        database = sa.engine.make_url(postgres_url).database
        assert database
        with owner.engine.begin() as conn:
            for statement in grant_statements(group, name, database):
                conn.exec_driver_sql(statement)
        groups.append(group)
        set_role(owner, name, role)
        url = sa.engine.make_url(postgres_url).set(username=name)
        login = Login(name, open_database(url.render_as_string(hide_password=False),
                                          migrate=False))
        made.append(login)
        return login

    yield make
    for login in made:
        login.db.dispose()
        with owner.engine.begin() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (login.name,))
            conn.exec_driver_sql(f'DROP OWNED BY "{login.name}"')
            conn.exec_driver_sql(f'DROP ROLE "{login.name}"')
    for group in groups:
        with owner.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{group}"')
            conn.exec_driver_sql(f'DROP ROLE "{group}"')


@pytest.fixture
def inspector(login_factory: Callable[[str], Login]) -> Login:
    return login_factory("inspector")


@pytest.fixture
def case_id(owner: Database) -> int:
    case = make_inspection(owner, "insp", cases=2)[0]
    record_answer(owner, case, "2.1.1", "yes", actor=Actor("Ann"), expected_version=1)
    return case


def _refused(db: Database, *statements: str, match: str) -> None:
    with db.engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match=match):
        for statement in statements:
            conn.exec_driver_sql(statement)


def _trail(db: Database) -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            "SELECT * FROM audit_event ORDER BY id").all()]


# ------------------------------------------------------------------ the application login

@pytest.mark.parametrize("statement", [
    "TRUNCATE audit_event",
    "TRUNCATE audit_event CASCADE",
    "DELETE FROM audit_event",
    "UPDATE audit_event SET new_value = 'forged'",
    "UPDATE audit_event SET hash = repeat('0', 64)",
    "UPDATE audit_event SET seq = NULL, hash = NULL",
    "ALTER TABLE audit_event DISABLE TRIGGER USER",
    "DROP TRIGGER audit_event_no_update ON audit_event",
    "DELETE FROM trail_key",
])
def test_the_application_login_cannot_rewrite_the_trail(owner: Database, inspector: Login,
                                                        case_id: int, statement: str) -> None:
    before = _trail(owner)
    _refused(inspector.db, statement, match="permission denied|must be owner")
    assert _trail(owner) == before


def test_the_purge_setting_opens_nothing(owner: Database, inspector: Login,
                                        case_id: int) -> None:
    """The issue's attack: any session could SET iom_audit.purge and then UPDATE."""
    before = _trail(owner)
    for db, match in ((inspector.db, "permission denied"), (owner, "append-only")):
        _refused(db, "SET iom_audit.purge = 'on'",
                 "UPDATE audit_event SET new_value = 'forged'", match=match)
        _refused(db, "SET LOCAL iom_audit.purge = 'on'",
                 "UPDATE audit_event SET new_value = '[purged]', value_digest = repeat('0', 64)",
                 match=match)
    assert _trail(owner) == before


@pytest.mark.parametrize("statement", [
    "TRUNCATE audit_event",
    "DELETE FROM audit_event",
    "UPDATE audit_event SET new_value = 'forged'",
    "UPDATE audit_event SET new_value = '[purged]', value_digest = repeat('0', 64)",
    "UPDATE audit_event SET seq = seq + 1000",
])
def test_the_owner_is_refused_too(owner: Database, case_id: int, statement: str) -> None:
    """The triggers hold for every role, the migration's own included."""
    before = _trail(owner)
    _refused(owner, statement, match="append-only")
    assert _trail(owner) == before


def test_an_event_cannot_be_inserted_already_sealed(owner: Database, inspector: Login,
                                                   case_id: int) -> None:
    forged = ("INSERT INTO audit_event (at, who, entity, key, field, new_value, seq, hash) "
              f"VALUES (now(), session_user, 'export', 'all', 'rows', '1', 1000, '{'0' * 64}')")
    for db in (inspector.db, owner):
        _refused(db, forged, match="written unsealed")


def test_the_database_computes_the_seals(owner: Database, inspector: Login,
                                        case_id: int) -> None:
    """The application login supplies no hash: iom_audit_seal() chains what is unsealed
    itself (an event the login wrote by hand included), and the chain verifies."""
    with inspector.db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO audit_event (at, who, entity, key) "
                             "VALUES (now(), session_user, 'note', 'x')")
        assert conn.exec_driver_sql("SELECT iom_audit_seal()").scalar() == 1
        assert conn.exec_driver_sql("SELECT iom_audit_seal()").scalar() == 0
    for call in ("iom_audit_seal(ARRAY[1], ARRAY[1], ARRAY['0'])", "iom_audit_seal(1)"):
        _refused(inspector.db, f"SELECT {call}", match="does not exist")
    report = verify_trail(owner, actor=Actor(LEAD))
    assert report.ok and not report.unsealed


def test_a_login_that_is_no_lead_cannot_redact(owner: Database, inspector: Login,
                                              case_id: int) -> None:
    before = _trail(owner)
    _refused(inspector.db, "SELECT iom_audit_redact(1)", match="only the lead role")
    assert _trail(owner) == before


def test_a_function_of_ones_own_does_not_pass_for_the_redaction(
        owner: Database, inspector: Login, case_id: int) -> None:
    """Even a login wrongly granted UPDATE cannot borrow the redaction's way through the
    trigger with a function of the same name: it would run as itself, not the owner."""
    with owner.engine.begin() as conn:
        conn.exec_driver_sql(f'GRANT UPDATE ON audit_event TO "{inspector.name}"')
    before = _trail(owner)
    _refused(inspector.db,
             "CREATE FUNCTION pg_temp.iom_audit_redact(p integer) RETURNS bigint "
             "LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN UPDATE audit_event SET "
             "new_value = CASE WHEN new_value IS NULL THEN NULL ELSE '[purged]' END, "
             "old_value = CASE WHEN old_value IS NULL THEN NULL ELSE '[purged]' END, "
             "value_digest = repeat('0', 64); RETURN 0; END $$",
             "SELECT pg_temp.iom_audit_redact(1)", match="append-only")
    assert _trail(owner) == before


def test_a_lead_login_purges_through_the_guarded_path(
        owner: Database, login_factory: Callable[[str], Login], case_id: int) -> None:
    lead = login_factory("lead")
    record_answer(lead.db, case_id, "2.1.2", "no", actor=Actor(lead.name),
                  expected_version=_version(owner, case_id))
    purge_inspection(lead.db, "insp", actor=Actor(lead.name))
    with owner.engine.connect() as conn:
        values = conn.exec_driver_sql(
            f"SELECT old_value, new_value, value_digest FROM audit_event "
            f"WHERE case_id = {case_id}").all()
    assert values and all(v in (None, "[purged]") for o, n, _ in values for v in (o, n))
    assert all(d is not None for _, _, d in values)
    report = verify_trail(lead.db, actor=Actor(lead.name))
    assert report.ok and report.redacted == len(values), report.problems()


def _version(db: Database, case: int) -> int:
    with db.engine.connect() as conn:
        return int(conn.exec_driver_sql(f'SELECT version FROM "case" WHERE id = {case}')
                   .scalar_one())


def test_the_application_login_may_verify(owner: Database, inspector: Login,
                                          case_id: int) -> None:
    report = verify_trail(inspector.db, actor=Actor(inspector.name))
    assert report.ok and report.events >= 2 and not report.missing_guards


def test_verify_reports_a_disabled_trigger(owner: Database, case_id: int) -> None:
    with owner.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_truncate")
    report = verify_trail(owner, actor=Actor(LEAD))
    assert not report.ok and report.missing_guards == ("trigger audit_event_no_truncate",)


# ------------------------------------------------------------------ concurrent writers

def test_two_writers_at_once_never_fork_the_chain(
        owner: Database, login_factory: Callable[[str], Login], case_id: int) -> None:
    """Both write their events, then both seal and commit at the same moment."""
    writers = [login_factory("inspector") for _ in range(2)]
    ready = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def write(login: Login, n: int) -> None:
        try:
            for round_ in range(5):
                with login.db.write() as conn:
                    record_many(conn, [{"at": utcnow(), "who": login.name,
                                        "entity": "note", "key": f"{n}/{round_}/{k}",
                                        "field": None, "old_value": None, "new_value": str(k)}
                                       for k in range(3)])
                    ready.wait()  # both hold unsealed events; both seal now
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    report = verify_trail(owner, actor=Actor(LEAD))
    with owner.engine.connect() as conn:
        seqs = conn.exec_driver_sql("SELECT seq FROM audit_event ORDER BY seq").scalars().all()
    assert report.ok and not report.unsealed, report.problems()
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 2 * 5 * 3


def test_many_people_saving_answers_at_once_keep_one_chain(
        owner: Database, login_factory: Callable[[str], Login], case_id: int) -> None:
    cases = make_inspection(owner, "busy", cases=4, prefix="B")
    people = [login_factory("inspector") for _ in range(2)]
    errors: list[BaseException] = []

    def save(login: Login, mine: list[int]) -> None:
        try:
            for case in mine:
                version = _version(owner, case)
                for qid in FREE_QUESTIONS[:6]:
                    version = record_answer(login.db, case, qid, "yes", actor=Actor(login.name),
                                            expected_version=version).version
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(p, cases[n::2]))
               for n, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    report = verify_trail(owner, actor=Actor(LEAD))
    assert report.ok and not report.unsealed, report.problems()


# -- found by a red-team trial of the merged work (migration 0007) ------------------------

@pytest.mark.parametrize("who, at", [("Lee Lead", "now()"),
                                     ("{login}", "timestamptz '2020-01-01 09:00+00'")])
def test_a_login_cannot_write_an_event_for_someone_else_or_backdated(
        owner: Database, inspector: Login, case_id: int, who: str, at: str) -> None:
    """It used to be accepted unsealed, then sealed into the chain by the next write."""
    _refused(inspector.db, "INSERT INTO audit_event (at, who, entity, case_id, key, field, "
             f"old_value, new_value) VALUES ({at}, '{who.format(login=inspector.name)}', "
             f"'case', {case_id}, 'PG-1', 'status', 'in_progress', 'locked')",
             match="names the login that writes it")
    assert verify_trail(owner, actor=Actor(LEAD)).ok


def test_the_login_still_writes_its_own_events(owner: Database, inspector: Login,
                                               case_id: int) -> None:
    record_answer(inspector.db, case_id, "2.1.2", "no", actor=Actor(inspector.name),
                  expected_version=_version(owner, case_id))
    report = verify_trail(owner, actor=Actor(LEAD))
    assert report.ok and report.unsealed == 0
