"""Shared set-up for the safety tests: small inspections, answers and file scans."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from audit.inspections import create_inspection, get_or_create_site
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspector
from question_sets import QuestionSet

# Questions of iom-thematic-2019 that apply to every case and gate no other question, so
# random edits to them never trigger rule-based removals.
FREE_QUESTIONS = ("2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.3.1", "2.3.2",
                  "iom.reasons_known", "iom.explained", "safe.info_shared")


def make_inspection(db: Database, name: str = "insp", cases: int = 3,
                    site: str = "Sheffield", prefix: str = "C") -> list[int]:
    """An inspection with `cases` post-release IOM cases at one site; their ids."""
    with db.write_session() as session:
        inspection = create_inspection(session, name)
        found_site, _ = get_or_create_site(session, inspection, site)
        made = [Case(inspection_id=inspection.id, case_ref=f"{prefix}-{i:04d}",
                     site_id=found_site.id, iom=i % 2 == 0, case_type="post_release",
                     provider="nps", rosh="high")
                for i in range(1, cases + 1)]
        session.add_all(made)
        session.flush()
        return [c.id for c in made if c.id is not None]


def set_role(db: Database, name: str, role: str) -> None:
    """Register a person with a role directly (tests of the checks, not of `inspectors`)."""
    with db.write_session() as session:
        person = session.exec(select(Inspector).where(Inspector.name == name)).first()
        person = person or Inspector(name=name)
        person.role = role
        session.add(person)


def answers(db: Database) -> dict[tuple[int, str, str], tuple[str | None, str | None]]:
    """(case_id, question, rater) -> (value, note) of every stored answer."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(Answer.case_id, Answer.question_id, Answer.rater,
                                      Answer.value, Answer.note)).all()
    return {(c, q, r): (v, n) for c, q, r, v, n in rows}


def case_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(Case)).scalar_one())


def integrity(path: Path) -> str:
    """PRAGMA integrity_check of a SQLite file, read with a plain connection."""
    conn = sqlite3.connect(path)
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def files_containing(path: Path, marker: bytes) -> list[str]:
    """The database file and its -wal/-shm companions that contain `marker`."""
    found = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists() and marker in candidate.read_bytes():
            found.append(candidate.name)
    return found


KEY_QUESTIONS = ("2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.2.3", "2.3.1", "2.3.2",
                 "2.3.3", "2.4.1", "2.4.2", "2.4.3")
"""The key questions of iom-thematic-2019: what a blind QA rating covers (audit.qa_rules)."""


def rate_qa(db: Database, case_id: int, who: str, given: dict[str, str] | None = None,
            *, default: str = "yes", questions: tuple[str, ...] = KEY_QUESTIONS) -> int:
    """Give a QA answer (`given`, else `default`) to each of `questions` as `who`, through
    the use case; returns the case's version. The default questions complete the QA."""
    from audit import cases
    from audit.permissions import Actor

    actor = Actor(who)
    with db.session() as session:
        found = session.get(Case, case_id)
        assert found is not None
        version = found.version
    for qid in questions:
        version = cases.record_answer(db, case_id, qid, (given or {}).get(qid, default),
                                      actor=actor, rater="qa",
                                      expected_version=version).version
    return version


def required_answers(qs: QuestionSet, case: Mapping[str, Any]) -> dict[str, str]:
    """An answer to every required question that applies to a case (its profile, site
    and status as rules read them): the first code of each, 'no' for the factor
    '.linked' questions so that their follow-ups stay out."""
    given: dict[str, str] = {}
    for q in qs.questions:
        if q.required and qs.applicable(case, given)[q.id]:
            given[q.id] = "no" if q.id.endswith(".linked") else next(iter(q.codes))
    return given
