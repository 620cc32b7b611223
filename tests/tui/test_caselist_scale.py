"""The case list stays responsive with 100,000 cases: one COUNT and one page per call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspector, utcnow
from audit.views.caselist import CaseFilter, list_cases
from audit.views.progress import overview
from tests.tui.conftest import build_db
from tui.app import IomAuditApp
from tui.screens.case_list import PAGE_SIZE, CaseListScreen
from tui.widgets.case_table import CaseTable

READER = Actor("Reader")

N = 100_000
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    # Timestamps from the models' own default factory (utcnow): building a model object
    # per row just to read its default took most of this fixture's 7 s.
    db = build_db(Path(tmp_path_factory.mktemp("big")) / "big.db", cases=0)
    with db.engine.begin() as conn:
        inspection_id, site_ids = 1, [1, 2, 3]
        conn.execute(sa.insert(Case.__table__), [  # type: ignore[attr-defined]
            {"inspection_id": inspection_id, "case_ref": f"R{i:06d}",
             "site_id": site_ids[i % 3], "iom": i % 2 == 0, "status": "not_started",
             "version": 1, "updated_at": utcnow()} for i in range(N)])
        conn.execute(sa.insert(Inspector.__table__), [{"name": "Bo Rater", "role": "inspector"}])  # type: ignore[attr-defined]
        conn.execute(sa.insert(Answer.__table__), [  # type: ignore[attr-defined]
            {"case_id": i, "question_id": "2.1.1", "question_set_version": "1.0", "value": "yes",
             "inspector_id": 1, "rater": "primary", "updated_at": utcnow()}
            for i in range(1, 2001)])
    yield db
    db.dispose()


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


@pytest.mark.parametrize("filt", [
    CaseFilter(inspection_id=1),
    CaseFilter(inspection_id=1, search="R0999"),
    CaseFilter(inspection_id=1, search="*9999"),
    CaseFilter(inspection_id=1, iom="yes", site_id=2, sort="status", descending=True),
    CaseFilter(inspection_id=1, inspector="Bo Rater", sort="updated"),
], ids=["all", "prefix", "substring", "filtered-sorted", "by-inspector"])
def test_page_queries_are_fast(big_db: Database, filt: CaseFilter) -> None:
    page, first = timed(lambda: list_cases(big_db, filt, actor=READER, offset=0,
                                           limit=PAGE_SIZE))
    deep, last = timed(lambda: list_cases(big_db, filt, actor=READER,
                                          offset=max(page.total - PAGE_SIZE, 0),
                                          limit=PAGE_SIZE))
    assert len(page.rows) == min(PAGE_SIZE, page.total)
    assert page.total > 0 and deep.rows
    # Speed at this scale is measured by `make bench`, not asserted in a unit test.


def test_paging_never_repeats_or_skips(big_db: Database) -> None:
    filt = CaseFilter(inspection_id=1, sort="site")
    seen: list[str] = []
    for offset in range(0, 5 * PAGE_SIZE, PAGE_SIZE):
        seen += [r.case_ref for r in list_cases(big_db, filt, actor=READER, offset=offset).rows]
    assert len(seen) == len(set(seen)) == 5 * PAGE_SIZE


def test_dashboard_numbers(big_db: Database) -> None:
    o = overview(big_db, 1)
    assert o.total.total == N
    assert [p.name for p in o.inspectors] == ["Bo Rater"]
    assert o.inspectors[0].total == 2000


async def test_the_table_holds_one_page(big_db: Database) -> None:
    app = IomAuditApp(big_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CaseListScreen)
        table = screen.query_one(CaseTable)
        assert table.row_count == PAGE_SIZE and screen.total == N
        await pilot.press("pagedown")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.row_count == PAGE_SIZE and screen.page_offset == PAGE_SIZE
        assert str(table.get_row_at(0)[0]) == f"R{PAGE_SIZE:06d}"
        table.move_cursor(row=PAGE_SIZE - 1)
        await pilot.press("down")  # past the last row: the next page
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.page_offset == 2 * PAGE_SIZE
