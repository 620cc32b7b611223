"""Fixtures: a small inspection database, and an app already past the start screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from audit import cases
from audit.inspections import create_inspection, get_or_create_site
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from audit.store.models import Case, Inspection
from tests.databases import fresh_sqlite

INSPECTOR = "Ann Inspector"


def build_db(path: Path | str, cases: int = 12) -> Database:
    """An inspection 't' rated on iom-thematic-2019 with `cases` cases at three sites.

    `path` is a new SQLite file (made from the migrated template), or the URL of a fresh
    PostgreSQL database from the `postgres_url` fixture (already at head)."""
    db = open_database(path) if "://" in str(path) else fresh_sqlite(path)
    fill_inspection(db, cases)
    return db


def fill_inspection(db: Database, cases: int = 12) -> None:
    """`build_db`'s inspection 't', written into an empty migrated database."""
    with db.write_session() as session:
        inspection = create_inspection(session, "t", question_set="iom-thematic-2019")
        sites = [get_or_create_site(session, inspection, name)[0]
                 for name in ("Leeds", "Sheffield", "York")]
        for i in range(cases):
            session.add(Case(inspection_id=inspection.id, case_ref=f"C{i:04d}",
                             site_id=sites[i % 3].id, iom=(i % 2 == 0),
                             case_type="community", rosh="medium"))


def answer_required(db: Database, ref: str, who: str = "Bo Rater", *,
                    leave: tuple[str, ...] = ()) -> None:
    """Answer every required applicable question of a case through the use cases, as
    `who` (factors not linked: their follow-ups do not apply); those in `leave` stay
    unanswered."""
    from audit.views.progress import question_set_for

    cid = case_id(db, ref)
    view = cases.load_case(db, cid, actor=Actor("Reader"))
    qs = question_set_for(db, view.inspection_id)
    version = view.version
    for q in qs.questions:
        answers = cases.load_case(db, cid, actor=Actor("Reader")).values()
        if q.id in leave or not q.required or not qs.applicable(view.profile, answers)[q.id]:
            continue
        value = "no" if q.id.endswith(".linked") else next(iter(q.codes))
        version = cases.record_answer(db, cid, q.id, value, actor=Actor(who),
                                      expected_version=version).version


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings in a temporary file; the rater named by IOM_AUDIT_INSPECTOR."""
    path = tmp_path / "settings.json"
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(path))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", INSPECTOR)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = build_db(tmp_path / "t.db")
    yield database
    database.dispose()


def case_id(db: Database, ref: str) -> int:
    with db.session() as session:
        found = session.exec(select(Case.id).join(Inspection).where(Case.case_ref == ref)).one()
    return found
