"""The database layer: locations, SQLite settings, model round trips, migrations."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from audit.store.engine import Database, DatabaseError, open_database, resolve_location
from audit.store.migrate import current_revision, head_revision
from audit.store.models import Answer, AuditEvent, Case, Inspection, Inspector, Site


def test_path_means_sqlite_and_url_means_server(tmp_path: Path) -> None:
    loc = resolve_location(str(tmp_path / "a.db"))
    assert loc.is_sqlite and loc.path == (tmp_path / "a.db").resolve()
    pg = resolve_location("postgresql://u:secret@h/db")
    assert pg.url.startswith("postgresql+psycopg://") and "secret" not in pg.display()


def test_environment_variable_names_the_database(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_DB", str(tmp_path / "env.db"))
    assert resolve_location(None).path == (tmp_path / "env.db").resolve()


def test_default_is_a_file_in_the_user_data_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("IOM_AUDIT_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert resolve_location(None).path == tmp_path / "iom-audit" / "iom-audit.db"


def test_sqlite_connections_are_durable(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError, match="cannot open database"):
        open_database("postgresql+psycopg://nobody@127.0.0.1:1/none")


def _populate_0001(path: Path) -> None:
    """A case with an answer and two events, written as revision 0001's schema holds them
    (raw SQL: the models describe the newest schema)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript("""
            INSERT INTO inspection (id, name, kind, question_set_id, question_set_version,
                                    created_at)
            VALUES (1, 't', 'thematic', 'hmip-adult-2018', '1.0', '2019-03-01 10:00:00.000000');
            INSERT INTO inspector (id, name, initials, role)
            VALUES (1, 'Ada Testwell', 'AT', 'lead');
            INSERT INTO "case" (id, inspection_id, case_ref, status, version, updated_at, rosh)
            VALUES (1, 1, 'T-0001', 'in_progress', 1, '2019-03-01 10:00:00.000000', 'high');
            INSERT INTO answer (case_id, question_id, question_set_version, value, note,
                                inspector_id, rater, updated_at)
            VALUES (1, '2.1.1', '1.0', 'yes', 'engaged well', 1, 'primary',
                    '2019-03-01 10:00:00.000000');
            INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value, new_value)
            VALUES ('2019-03-01 10:00:00.000000', 'Ada Testwell', 'case', 1, 'T-0001', 'rosh',
                    NULL, 'high'),
                   ('2019-03-01 10:00:01.000000', 'Ada Testwell', 'answer', 1,
                    'T-0001/2.1.1/primary', '2.1.1', NULL, 'yes');
        """)
    conn.close()


def _populate(db: Database) -> int:
    with db.write_session() as s:
        insp = Inspection(name="t", kind="thematic", question_set_id="hmip-adult-2018",
                          question_set_version="1.0")
        s.add(insp)
        s.flush()
        site = Site(inspection_id=insp.id, name="Sheffield", nps_division="North East",
                    crc="South Yorkshire", police_force="South Yorkshire")
        who = Inspector(name="Ada Testwell", initials="AT", role="lead")
        s.add(site)
        s.add(who)
        s.flush()
        case = Case(inspection_id=insp.id, case_ref="T-0001", site_id=site.id, iom=True,
                    provider="crc", case_type="post_release", rosh="high", likelihood="high",
                    mappa_level="2", domestic_abuse=True, child_safeguarding=None,
                    index_offence="violence", prev_convictions="21_plus", age_band="26_35",
                    gender="male", ethnicity="white", start_date=date(2019, 3, 1),
                    ro_interviewed=False)
        s.add(case)
        s.flush()
        s.add(Answer(case_id=case.id, question_id="2.1.1", question_set_version="1.0",
                     value="yes", note="engaged well – “quoted” ünïcode", inspector_id=who.id))
        s.add(AuditEvent(who="Ada Testwell", entity="case", key="T-0001", field="rosh",
                         old_value=None, new_value="high", case_id=case.id))
        assert case.id is not None
        return case.id


def test_model_round_trip(any_db: Database) -> None:
    case_id = _populate(any_db)
    with any_db.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.iom, case.rosh, case.mappa_level, case.start_date, case.child_safeguarding,
                case.ro_interviewed) == (True, "high", "2", date(2019, 3, 1), None, False)
        answer = s.exec(select(Answer)).one()
        assert answer.value == "yes" and answer.note == "engaged well – “quoted” ünïcode"
        assert answer.rater == "primary" and answer.updated_at.tzinfo is not None
        assert s.exec(select(Site.police_force)).one() == "South Yorkshire"


def test_database_refuses_invalid_codes(any_db: Database) -> None:
    case_id = _populate(any_db)
    with pytest.raises(sa.exc.IntegrityError), any_db.write() as conn:
        conn.execute(sa.update(Case).where(Case.id == case_id).values(rosh="extreme"))


def test_case_refs_are_unique_within_an_inspection(any_db: Database) -> None:
    _populate(any_db)
    with pytest.raises(sa.exc.IntegrityError), any_db.write_session() as s:
        s.add(Case(inspection_id=1, case_ref="T-0001"))


def test_audit_trail_is_append_only(any_db: Database) -> None:
    _populate(any_db)
    for statement in ("UPDATE audit_event SET new_value = 'low'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), any_db.write() as conn:
            conn.exec_driver_sql(statement)
    with any_db.session() as s:
        assert s.exec(select(AuditEvent.new_value)).one() == "high"


def test_stale_orm_write_is_refused(any_db: Database) -> None:
    case_id = _populate(any_db)
    with any_db.session() as first, any_db.session() as second:
        a = first.get(Case, case_id)
        b = second.get(Case, case_id)
        assert a is not None and b is not None
        second.commit()  # the app reads, ends its read, and writes later
        a.rosh = "medium"
        first.commit()
        b.rosh = "low"
        with pytest.raises(sa.orm.exc.StaleDataError):
            second.commit()


def test_schema_matches_the_models(any_db: Database) -> None:
    """The migrations build exactly what the models describe (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with any_db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert current_revision(any_db.engine) == head_revision()


def test_migrating_a_file_with_data_keeps_it_and_copies_it_first(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = open_database(str(path), migrate=False)
    from audit.store.migrate import upgrade_to_head

    upgrade_to_head(db.engine, db.location.path, "0001")
    db.dispose()
    _populate_0001(path)
    head = head_revision()
    reopened = open_database(str(path))
    with reopened.session() as s:
        assert s.exec(select(Case.case_ref)).all() == ["T-0001"]
    # The events written before the trail was a hash chain are sealed, in id order.
    from audit.store.chain_check import query_of, verify

    with reopened.engine.connect() as conn:
        report = verify(query_of(conn), "sqlite")
        sealed = conn.exec_driver_sql("SELECT id, seq FROM audit_event ORDER BY id").all()
    assert report.ok and report.events == 2 and not report.unsealed
    assert [tuple(r) for r in sealed] == [(1, 1), (2, 2)]
    reopened.dispose()
    if head != "0001":
        copies = list(tmp_path.glob("old.db.pre-*.bak"))
        assert len(copies) == 1
        copy = sqlite3.connect(copies[0])
        assert copy.execute('SELECT count(*) FROM "case"').fetchone() == (1,)
