"""Data queries in the app, driven by the pilot: QA opens a query on the case screen (`q`),
the question list marks it, the assignee finds it on the Queries screen, opens the case
at the question and changes the answer with a reason, QA closes it."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Input, Select

from audit import cases
from audit.store.engine import Database
from audit.views import queries as views
from tests.databases import Prepare
from tests.helpers import rate_qa, set_role
from tests.security.lifecycle_setup import LEAD
from tests.security.qa_fixtures import PRIMARY_RATER, rate_primary
from tests.tui.conftest import INSPECTOR, case_id, fill_inspection
from tests.tui.test_rating_flow import SIZE, open_first_case
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.queries import QueriesScreen
from tui.screens.query_dialogs import OpenQueryModal, ThreadModal


def _queried(db: Database) -> None:
    fill_inspection(db)
    set_role(db, LEAD.name, "lead")
    set_role(db, INSPECTOR, "inspector")
    set_role(db, PRIMARY_RATER, "inspector")
    rate_primary(db, "C0000", 0)
    rate_qa(db, case_id(db, "C0000"), INSPECTOR)


@pytest.fixture
def queried_db(prepare: Prepare) -> Database:
    """C0000: Bo Rater's primary rating; Ann Inspector (the app's user) its blind QA (a
    copy of what the use cases made once)."""
    return prepare("sqlite", "tui-queried", _queried)[0]


async def _settle(app: IomAuditApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _type(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    for key in text:
        await pilot.press("space" if key == " " else key)


def _tree_line(screen: CaseScreen, qid: str) -> str:
    return screen.query_one("#tree").prompt_of(qid)  # type: ignore[attr-defined]


async def test_qa_opens_a_query_the_assignee_changes_the_answer_qa_closes_it(
        queried_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    db = queried_db
    cid = case_id(db, "C0000")
    # 1. Ann (QA) opens a query on 2.1.1 with a comment; the list marks the question.
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert screen.case_id == cid and screen.current == "2.1.1"
        assert "⚑" not in _tree_line(screen, "2.1.1")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, OpenQueryModal)
        await _type(pilot, "No evidence on file")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.screen is screen
        assert "⚑ open" in _tree_line(screen, "2.1.1")
        # Ann is QA, not the assignee: the thread offers her closing only.
        await pilot.press("q")
        await _settle(app, pilot)
        assert isinstance(app.screen, ThreadModal)
        assert app.screen.allowed == frozenset({"close"})
        assert any("No evidence on file" in str(m.render())
                   for m in app.screen.query(".thread-message"))
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
    [row] = views.list_queries(db, actor=LEAD)
    assert (row.status, row.assignee, row.opened_by) == ("open", PRIMARY_RATER, INSPECTOR)

    # 2. Bo (the assignee) finds it on the Queries screen and changes the answer.
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", PRIMARY_RATER)
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")
        await _settle(app, pilot)
        assert isinstance(app.screen, QueriesScreen)
        table = app.screen.query_one("#queries-table", DataTable)
        assert table.row_count == 1
        assert "you to respond" in str(table.get_row_at(0)[-1])
        await pilot.press("enter")
        await _settle(app, pilot)
        case = app.screen
        assert isinstance(case, CaseScreen) and case.current == "2.1.1"
        assert sum(isinstance(s, CaseScreen) for s in app.screen_stack) == 1
        await pilot.press("q")
        await _settle(app, pilot)
        thread = app.screen
        assert isinstance(thread, ThreadModal)
        assert thread.allowed == frozenset({"respond", "change"})
        await pilot.press("c")  # not Bo's to close: the key does nothing
        assert thread.mode is None
        await pilot.press("a")
        await pilot.pause()
        assert thread.mode == "change"
        thread.query_one("#thread-value", Select).value = "yes"  # Bo had answered no
        await pilot.pause()
        thread.query_one("#thread-text", Input).focus()
        await _type(pilot, "Assessed after release")
        await pilot.press("enter")
        await _settle(app, pilot)
        assert app.screen is case
        assert case.values["2.1.1"] == "yes"
        assert "⚑ answered" in _tree_line(case, "2.1.1")
    assert cases.load_case(db, cid, actor=LEAD).values()["2.1.1"] == "yes"

    # 3. Ann (QA) closes it; the mark goes, and the lead may lock the case.
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", INSPECTOR)
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert "⚑ answered" in _tree_line(screen, "2.1.1")
        await pilot.press("q")
        await _settle(app, pilot)
        assert isinstance(app.screen, ThreadModal)
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter")  # an answered query closes without a comment
        await _settle(app, pilot)
        assert app.screen is screen
        assert "⚑" not in _tree_line(screen, "2.1.1")
    [row] = views.list_queries(db, actor=LEAD)
    assert row.status == "closed"
    thread_steps = [m.action for m in views.thread(db, row.id, actor=LEAD).messages]
    assert thread_steps == ["open", "change", "close"]


async def test_a_refusal_is_one_line_and_nothing_is_opened(
        queried_db: Database) -> None:
    # Ann is no QA rater of C0001 (she has rated nothing there): the use case refuses.
    db = queried_db
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_case(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        app.open_case(case_id(db, "C0001"))
        await _settle(app, pilot)
        notices: list[str] = []
        monkey = app.notify

        def keep(message: str, **kw: object) -> None:
            notices.append(message)
            monkey(message, **kw)  # type: ignore[arg-type]

        app.notify = keep  # type: ignore[method-assign]
        await pilot.press("q")
        await pilot.pause()
        await _type(pilot, "Why")
        await pilot.press("enter")
        await _settle(app, pilot)
    assert notices == ["only a lead or a QA rater of case C0001 may open a query on it "
                       "(Ann Inspector is neither)"]
    assert views.list_queries(db, actor=LEAD) == []


async def test_the_queries_screen_and_the_query_key_are_in_the_command_palette(
        queried_db: Database) -> None:
    app = IomAuditApp(queried_db)
    async with app.run_test(size=SIZE) as pilot:
        await _settle(app, pilot)
        await _palette(app, pilot, "Go to: Queries")
        await _settle(app, pilot)
        assert isinstance(app.screen, QueriesScreen)
        await pilot.press("escape")
        await pilot.pause()
        screen = await open_first_case(app, pilot)
        await _palette(app, pilot, "Case: Query")
        await _settle(app, pilot)
        assert isinstance(app.screen, OpenQueryModal)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


async def _palette(app: IomAuditApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await _type(pilot, text)
    await pilot.pause(0.5)
    await pilot.press("enter")
    await pilot.pause()
