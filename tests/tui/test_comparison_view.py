"""The comparison view: every yes/no question through `compare`'s counting path, counted
in a worker while the screen says how many cases it counts and still takes esc, kept while
the data is unchanged and counted again when another session changes an answer."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from sqlmodel import select
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowKey

from audit import cases
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Answer, Case
from audit.views import analysis
from question_sets.loader import load_set
from tests.tui.conftest import build_db, case_id
from tests.tui.test_rating_flow import SIZE
from tui.app import IomAuditApp
from tui.screens.comparison import LABEL_WIDTH, ComparisonScreen, pct_cell
from tui.screens.dashboard import DashboardScreen

ROOT = Path(__file__).resolve().parents[2]


def _answer(db: Database, ref: str, qid: str, value: str) -> None:
    """An answer recorded as another session (another inspector's app) records it."""
    cid = case_id(db, ref)
    version = cases.load_case(db, cid, actor=Actor("Reader")).version
    cases.record_answer(db, cid, qid, value, actor=Actor("Bo Rater"), expected_version=version)


@pytest.fixture
def rated(tmp_path: Path) -> Any:
    db = build_db(tmp_path / "t.db")
    for i, value in enumerate(("yes", "yes", "no", "yes", "no", "no")):
        _answer(db, f"C{i:04d}", "2.1.1", value)
    yield db
    db.dispose()


def _title(screen: ComparisonScreen) -> str:
    return str(screen.query_one("#comparison-title", Static).content)


async def _open(app: IomAuditApp, pilot: Any) -> ComparisonScreen:
    await pilot.press("m")
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ComparisonScreen)
    return screen


async def test_every_yes_no_question_with_the_numbers_of_compare(rated: Database) -> None:
    expected = analysis.compare(rated, by="iom", questions="all", independent_effect=False)
    all_yes_no = [q.id for q in load_set("iom-thematic-2019").questions
                  if q.type in {"yes_no", "yes_no_na"}]
    app = IomAuditApp(rated)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = await _open(app, pilot)
        table = screen.query_one("#comparison-table", DataTable)
        assert [r.question_id for r in screen.comparison.rows] == all_yes_no
        assert table.row_count == len(all_yes_no) > 12  # not only the key questions
        assert f"{len(all_yes_no)} questions" in _title(screen)
        for row in expected.rows:
            for level in ("iom", "non_iom"):
                assert str(table.get_cell(row.question_id, level)) == pct_cell(
                    row.groups.get(level))
        # Cases 0, 2, 4 are IOM (yes, no, no); 1, 3, 5 are not (yes, yes, no).
        assert str(table.get_cell("2.1.1", "iom")) == "33% (1/3)"
        assert str(table.get_cell("2.1.1", "non_iom")) == "67% (2/3)"
        # Labels wrap, never cut: each whole label, a long one over two lines or more.
        for row in screen.comparison.rows:
            assert str(table.get_cell(row.question_id, "label")) == row.label
        long_one = "factor.ete.delivered"
        assert len(str(table.get_cell(long_one, "label"))) > LABEL_WIDTH
        assert table.rows[RowKey(long_one)].height > 1


async def test_esc_while_counting_goes_back_and_the_count_is_kept(
        rated: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The screen says what it counts and takes esc at once; the count that was under way
    finishes into the cache, so opening the view again does not count a second time."""
    release = threading.Event()
    calls: list[dict[str, Any]] = []
    real = analysis.compare

    def slow(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis, "compare", slow)
    app = IomAuditApp(rated)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("m")
            for _ in range(200):
                await pilot.pause(0.01)
                if calls:
                    break
            screen = app.screen
            assert isinstance(screen, ComparisonScreen)
            assert screen.query_one("#comparison-loading").display
            assert _title(screen) == "Counting 12 cases…"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, DashboardScreen)
            release.set()
            await app.workers.wait_for_complete()
            screen = await _open(app, pilot)
            assert screen.comparison is not None and len(calls) == 1
            assert str(screen.query_one("#comparison-table", DataTable)
                       .get_cell("2.1.1", "iom")) == "33% (1/3)"
    finally:
        release.set()


async def test_an_answer_changed_by_another_session_is_counted_again(
        rated: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = analysis.compare
    monkeypatch.setattr(analysis, "compare",
                        lambda *a, **k: calls.append(k["by"]) or real(*a, **k))
    app = IomAuditApp(rated)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = await _open(app, pilot)
        await pilot.press("escape")
        screen = await _open(app, pilot)  # unchanged: from the cache
        assert len(calls) == 1
        await pilot.press("escape")
        _answer(rated, "C0002", "2.1.1", "yes")  # IOM: now yes, no->yes, no
        screen = await _open(app, pilot)
        assert len(calls) == 2
        table = screen.query_one("#comparison-table", DataTable)
        assert str(table.get_cell("2.1.1", "iom")) == "67% (2/3)"
        await pilot.press("f5")  # recompute counts again, whatever the cache holds
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(calls) == 3


PROBE = """
import asyncio, json, sys
from audit.store.engine import open_database
from tui.app import IomAuditApp
from tui.screens.comparison import ComparisonScreen

async def main():
    db = open_database(sys.argv[1])
    app = IomAuditApp(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("m")
        for _ in range(600):
            await pilot.pause(0.05)
            screen = app.screen
            if isinstance(screen, ComparisonScreen) and screen.comparison is not None:
                break
        rows = len(app.screen.comparison.rows)
    db.dispose()
    print(json.dumps({"rows": rows, "loaded": sorted(
        m for m in ("scipy.stats", "statsmodels", "pandas") if m in sys.modules)}))

asyncio.run(main())
"""


def test_the_view_loads_neither_scipy_stats_nor_statsmodels(tmp_path: Path) -> None:
    """No model and no Fisher test is due on a large enough sample: the view counts with
    numpy, pandas and scipy.special only (issue 19); statsmodels never loads in the app."""
    db = build_db(tmp_path / "big.db", cases=60)
    version = load_set("iom-thematic-2019").version
    with db.write_session() as session:
        for i, case in enumerate(session.exec(select(Case).order_by(Case.case_ref)).all()):
            session.add(Answer(case_id=case.id, question_id="2.1.1",
                               question_set_version=version,
                               value="yes" if i % 5 < 2 + i % 2 else "no"))
    db.dispose()
    path = str(tmp_path / "big.db")
    done = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["rows"] > 12
    assert out["loaded"] == ["pandas"]


def test_long_labels_wrap_in_the_question_column() -> None:
    """Labels wrap, never cut: the whole label in its cell, over as many lines as needed."""
    from rich.console import Console

    from tui.screens.comparison import LABEL_WIDTH

    label = "Education, training and employment: sufficient services delivered"
    lines = Console(width=LABEL_WIDTH).render_lines(Text(label), pad=False)
    shown = " ".join("".join(seg.text for seg in line).strip() for line in lines)
    assert len(lines) > 1 and " ".join(shown.split()) == label


async def test_the_libraries_load_in_a_pause_not_while_keys_come(
        rated: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background import starts once no key has come for a while: never at the first
    frame nor between keys, where it would share Python's lock with the screen. The app's
    clock is driven by the test, so a loaded machine's slow frames cannot look idle."""
    import types

    import tui.app

    clock = [1000.0]
    monkeypatch.setattr(tui.app, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    started: list[float] = []
    monkeypatch.setattr(tui.app, "preload_in_background", lambda: started.append(1.0))
    idle = tui.app.PRELOAD_IDLE_S
    app = IomAuditApp(rated)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.6)  # the idle check runs (every 0.25 s): no time has passed
        assert started == []
        for _ in range(8):  # a key every 0.3 of the idle time: never idle long enough
            clock[0] += 0.3 * idle
            await pilot.press("down")
            await pilot.pause(0.3)
        assert started == []
        clock[0] += 1.2 * idle  # no key for longer than the idle time
        await pilot.pause(0.6)
        assert started == [1.0]
        clock[0] += 5 * idle
        await pilot.pause(0.6)
        assert started == [1.0]  # once
