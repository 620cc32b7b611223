"""No lost updates: real processes editing the same case at the same time.

Four processes each repeatedly read a case, pause as a person would, and save the
shared note with the version and text they read, plus an answer only they edit. A
save that would overwrite a note someone else changed since it was read must raise
ConflictError; a stale save of an answer nobody else touched must go through. The
trail then shows an unbroken chain: every saved note replaced exactly the text its
writer had seen.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest
import sqlalchemy as sa

from audit.store.engine import Database
from tests.audit import workers
from tests.helpers import FREE_QUESTIONS, make_inspection

WORKERS = 4
ROUNDS = 25


def _contend(db: Database, url: str) -> tuple[list[dict[str, Any]], int]:
    case_id = make_inspection(db, cases=1)[0]
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 0.5
    procs = [ctx.Process(target=workers.contender,
                         args=(url, case_id, w, ROUNDS, results, start_at))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    logs = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return logs, case_id


def _check(db: Database, logs: list[dict[str, Any]], case_id: int, label: str) -> None:
    assert [e for log in logs for e in log["errors"]] == []
    conflicts = sum(log["conflicts"] for log in logs)
    saved = {text: seen for log in logs for text, seen in log["saved"]}
    assert conflicts + len(saved) == WORKERS * ROUNDS
    assert conflicts > 0, "the processes never overlapped: the test proves nothing"
    print(f"{label}: {conflicts} conflicts detected, {len(saved)} saves")
    with db.engine.connect() as conn:
        chain = conn.execute(sa.text(
            "SELECT old_value, new_value FROM audit_event WHERE case_id = :c AND "
            "entity = 'note' ORDER BY id"), {"c": case_id}).all()
        note = conn.execute(sa.text(
            "SELECT note FROM answer WHERE case_id = :c AND question_id = '2.1.1'"),
            {"c": case_id}).scalar()
        own = dict(conn.execute(sa.text(
            "SELECT question_id, value FROM answer WHERE case_id = :c AND question_id <> "
            "'2.1.1'"), {"c": case_id}).all())
    # Every successful save is in the trail, and replaced exactly what its writer saw.
    assert {new: old for old, new in chain} == saved
    assert all(chain[i][0] == chain[i - 1][1] for i in range(1, len(chain)))
    assert chain[0][0] is None and note == chain[-1][1]
    # Edits of items nobody else touched never conflicted, however stale the version.
    assert all(log["own_saved"] == ROUNDS for log in logs)
    last = "yes" if (ROUNDS - 1) % 2 else "no"
    assert own == {FREE_QUESTIONS[w + 1]: last for w in range(WORKERS)}


@pytest.mark.slow
def test_concurrent_processes_on_sqlite_never_lose_an_update(sqlite_db: Database) -> None:
    logs, case_id = _contend(sqlite_db, sqlite_db.location.url)
    _check(sqlite_db, logs, case_id, "sqlite")


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_processes_on_postgres_never_lose_an_update(postgres_db: Database,
                                                               postgres_url: str) -> None:
    logs, case_id = _contend(postgres_db, postgres_url)
    _check(postgres_db, logs, case_id, "postgres")
