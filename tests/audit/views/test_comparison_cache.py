"""The comparison cache: a comparison is counted again whenever a case or an answer
changes (on both dialects), and the same comparison asked twice at once is counted once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlmodel import select

from audit import cases
from audit.inspections import create_inspection
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case
from audit.views import analysis
from audit.views.comparison_cache import ComparisonCache, data_version


def _populate(db: Database) -> dict[str, int]:
    with db.write_session() as session:
        for name, n in (("north", 6), ("south", 4)):
            inspection = create_inspection(session, name, question_set="iom-thematic-2019")
            session.add_all(Case(inspection_id=inspection.id, case_ref=f"{name}-{i}",
                                 iom=i % 2 == 0) for i in range(n))
    with db.session() as session:
        return {c.case_ref: c.id for c in session.exec(select(Case)).all()
                if c.id is not None}


def _answer(db: Database, case_id: int, value: str) -> None:
    version = cases.load_case(db, case_id, actor=Actor("Reader")).version
    cases.record_answer(db, case_id, "2.1.1", value, actor=Actor("Bo Rater"),
                        expected_version=version)


def test_every_change_of_a_case_or_answer_moves_the_version(any_db: Database) -> None:
    ids = _populate(any_db)
    first = data_version(any_db)
    assert first.cases == 10 and data_version(any_db, ["south"]).cases == 4
    assert data_version(any_db) == first  # nothing changed: the same version
    seen = {first.stamp}
    _answer(any_db, ids["north-0"], "yes")  # a new answer
    seen.add(data_version(any_db).stamp)
    _answer(any_db, ids["north-0"], "no")  # the same answer changed
    seen.add(data_version(any_db).stamp)
    with any_db.write_session() as session:  # a new case
        inspection_id = session.exec(select(Case.inspection_id)).first()
        session.add(Case(inspection_id=inspection_id, case_ref="late", iom=True))
    seen.add(data_version(any_db).stamp)
    assert len(seen) == 4


def test_a_changed_version_is_counted_again_and_fresh_always_is(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _populate(sqlite_db)
    calls: list[dict[str, Any]] = []
    real = analysis.compare
    monkeypatch.setattr(analysis, "compare", lambda db, **k: calls.append(k) or real(db, **k))
    cache = ComparisonCache(size=2)
    options = {"by": "iom", "questions": "all", "independent_effect": False}
    before = cache.compare(sqlite_db, data_version(sqlite_db), **options)
    assert cache.compare(sqlite_db, data_version(sqlite_db), **options) is before
    assert len(calls) == 1
    _answer(sqlite_db, ids["north-0"], "yes")
    after = cache.compare(sqlite_db, data_version(sqlite_db), **options)
    assert after.row("2.1.1").groups["iom"].yes == 1 and len(calls) == 2
    cache.compare(sqlite_db, data_version(sqlite_db), fresh=True, **options)
    assert len(calls) == 3
    for by in ("site", "provider"):  # two more: the first is evicted (size 2)
        cache.compare(sqlite_db, data_version(sqlite_db), **{**options, "by": by})
    cache.compare(sqlite_db, data_version(sqlite_db), **options)
    assert len(calls) == 6


def test_the_same_comparison_asked_twice_at_once_is_counted_once(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _populate(sqlite_db)
    calls: list[str] = []
    real = analysis.compare

    def slow(db: Database, **options: Any) -> Any:
        calls.append(options["by"])
        time.sleep(0.3)
        return real(db, **options)

    monkeypatch.setattr(analysis, "compare", slow)
    cache = ComparisonCache()
    version = data_version(sqlite_db)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(cache.compare(
        sqlite_db, version, by="iom", questions="key", independent_effect=False)))
        for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert calls == ["iom"] and len(results) == 3
    assert results[0] is results[1] is results[2]
