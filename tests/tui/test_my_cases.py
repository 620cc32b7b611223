"""My cases, the lead's allocation dialog and read-only browsing, driven by the pilot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from textual.command import CommandPalette
from textual.pilot import Pilot

from audit import allocation, cases
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspector
from tests.databases import Prepare
from tests.tui.conftest import INSPECTOR, answer_required, case_id, fill_inspection
from tests.tui.test_rating_flow import SIZE, rows
from tui.app import IomAuditApp
from tui.screens.allocate import AllocateModal
from tui.screens.case import CaseScreen
from tui.screens.case_list import CaseListScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.my_cases import MyCasesScreen

LEAD = "Lee Lead"
TODAY = date.today()


def add_staff(db: Database) -> None:
    """Lee leads, Ann (the app's rater) and Bo inspect."""
    with db.write_session() as session:
        session.add_all([Inspector(name=LEAD, initials="LL", role="lead"),
                         Inspector(name=INSPECTOR, initials="AI", role="inspector"),
                         Inspector(name="Bo Inspector", initials="BI", role="inspector")])


@pytest.fixture
def staffed(db: Database) -> Database:
    """Roles in force: Lee leads, Ann (the app's rater) and Bo inspect."""
    add_staff(db)
    return db


def _staffed_c0005_filled(db: Database) -> None:
    fill_inspection(db)
    add_staff(db)
    answer_required(db, "C0005")  # as `fill_case` (test_workflows.py)


@pytest.fixture
def staffed_c0005_filled(prepare: Prepare) -> Database:
    """`staffed` with C0005's required questions answered by Bo Rater: a copy of what
    the use cases made once."""
    return prepare("sqlite", "tui-staffed-C0005-filled", _staffed_c0005_filled)[0]


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(2):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def status_line(app: IomAuditApp) -> str:
    return str(app.screen.query_one("#case-status").render())


async def test_an_inspector_with_cases_starts_on_my_cases_and_opens_the_next(
        staffed: Database) -> None:
    lead = Actor(LEAD)
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0004")], to=INSPECTOR,
                            due=TODAY + timedelta(days=9), actor=lead)
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0007")], to=INSPECTOR,
                            due=TODAY - timedelta(days=2), actor=lead)
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0001")], to="Bo Inspector",
                            actor=lead)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MyCasesScreen)
        summary = str(screen.query_one("#my-cases-summary").render())
        assert "2 cases allocated to you: 0 done, 2 to rate, 1 overdue" in summary
        assert "Next: C0007" in str(screen.query_one("#my-cases-next").render())
        assert screen.ids == [case_id(staffed, "C0007"), case_id(staffed, "C0004")]
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.view is not None and app.screen.view.case_ref == "C0007"
        assert "read only" not in status_line(app)
        assert f"due {(TODAY - timedelta(days=2)).isoformat()}" in status_line(app)
        await pilot.press("y")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen  # back on My cases, brought up to date
        assert screen.cases is not None and screen.cases.rows[0].answered == 1
        await pilot.press("d")  # the dashboard, and l from there, come back here
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
    assert rows(staffed, Answer, case_id=case_id(staffed, "C0007"))[0]["value"] == "yes"


async def test_an_inspector_with_nothing_allocated_starts_on_the_dashboard(
        staffed: Database) -> None:
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert not app.screen.query(".allocation-row")


async def test_a_lead_allocates_marked_cases_in_the_dialog(
        staffed: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("space", "space")  # C0000 and C0001 marked
        await pilot.press("A")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, AllocateModal) and dialog.cases == 2
        await pilot.press("down")  # Bo Inspector (after Ann Inspector)
        await pilot.press("enter")
        await pilot.press(*"2026-12-15")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
        assert app.screen.sub_title == "Cases"  # the marks are gone
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        text = " ".join(str(w.render()) for w in app.screen.query(".allocation-row"))
        assert "Bo Inspector" in text and "2 allocated" in text
        assert "Unallocated" in text and "10 cases" in text
    found = {r["case_ref"]: (r["allocated_to"], r["due_date"], r["version"])
             for r in rows(staffed, Case)}
    bo = rows(staffed, Inspector, name="Bo Inspector")[0]["id"]
    assert found["C0000"] == (bo, date(2026, 12, 15), 1)
    assert found["C0001"] == (bo, date(2026, 12, 15), 1)
    assert found["C0002"][:2] == (None, None)


async def test_the_dialog_refuses_a_date_that_is_not_one(
        staffed: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("A")  # the case under the cursor
        await settle(pilot)
        await pilot.press("enter", *"15/12/2026", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AllocateModal)  # still open, nothing written
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
    assert all(r["allocated_to"] is None for r in rows(staffed, Case))


async def test_an_inspector_is_not_offered_allocation(staffed: Database) -> None:
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert app.screen.check_action("allocate", ()) is False
        await pilot.press("space", "A")
        await settle(pilot)
        assert isinstance(app.screen, CaseListScreen)
    assert all(r["allocated_to"] is None for r in rows(staffed, Case))


@asynccontextmanager
async def lead_opens_bos_case(staffed: Database, monkeypatch: pytest.MonkeyPatch
                              ) -> AsyncIterator[tuple[IomAuditApp, Any, CaseScreen, int]]:
    """The lead's app with C0000, allocated to Bo, open (read only): app, pilot, screen,
    case id."""
    cid = case_id(staffed, "C0000")
    allocation.allocate_ids(staffed, 1, [cid], to="Bo Inspector", actor=Actor(LEAD))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(cid)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.read_only
        yield app, pilot, screen, cid


async def test_a_case_allocated_to_someone_else_opens_read_only(
        staffed: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lead browsing (here from the case list, as from the comparison's drill-down)."""
    async with lead_opens_bos_case(staffed, monkeypatch) as (app, pilot, screen, cid):
        assert "read only — allocated to Bo Inspector" in status_line(app)
        await pilot.press("y")
        await settle(pilot)
        assert "Read only: case C0000 is allocated to Bo Inspector" in status_line(app)
        assert screen.check_action("complete", ()) is False
        await pilot.press("c", "e")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and not app.screen.query_one("#note").has_focus
    assert not rows(staffed, Answer, case_id=cid)
    assert rows(staffed, Case, id=cid)[0]["status"] == "not_started"


async def test_a_read_only_case_shows_its_profile_without_a_form(
        staffed: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.widgets.profile_form import ProfileForm, ProfileSummary

    async with lead_opens_bos_case(staffed, monkeypatch) as (_, pilot, screen, _cid):
        await pilot.press("p")
        await pilot.click(ProfileSummary, offset=(2, 1))
        await settle(pilot)
        assert not screen.query(ProfileForm)  # nothing to edit: the summary shows it all
        assert screen.query_one(ProfileSummary).profile["rosh"] == "medium"


async def test_the_blind_qa_of_an_allocated_case_is_still_rated(
        staffed: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = case_id(staffed, "C0000")
    allocation.allocate_ids(staffed, 1, [cid], to="Bo Inspector", actor=Actor(LEAD))
    cases.record_answer(staffed, cid, "2.1.1", "yes", actor=Actor("Bo Inspector"),
                        expected_version=1)
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_case(cid, rater="qa")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and not app.screen.read_only
        await pilot.press("n")
        await settle(pilot)
    qa = [r for r in rows(staffed, Answer, case_id=cid) if r["rater"] == "qa"]
    assert [(r["question_id"], r["value"]) for r in qa] == [("2.1.1", "no")]


async def test_the_palette_goes_to_my_cases(staffed: Database,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"my cases")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MyCasesScreen)
        assert "No case of this inspection is allocated to you" in str(
            app.screen.query_one("#my-cases-summary").render())


def test_allocation_never_moved_a_version(staffed: Database) -> None:
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0000")], to="BI",
                            actor=Actor(LEAD))
    with staffed.engine.connect() as conn:
        assert conn.execute(sa.text('SELECT MAX(version) FROM "case"')).scalar() == 1


async def test_complete_and_next_goes_on_to_my_next_allocated_case(
        staffed_c0005_filled: Database) -> None:
    staffed = staffed_c0005_filled
    lead = Actor(LEAD)
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0005")], to=INSPECTOR,
                            due=TODAY, actor=lead)
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0009")], to=INSPECTOR,
                            due=TODAY + timedelta(days=3), actor=lead)
    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0006")], to="Bo Inspector",
                            actor=lead)
    app = IomAuditApp(staffed)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.view is not None and app.screen.view.case_ref == "C0005"
        await pilot.press("N")  # not C0006 (Bo's), nor C0000 (first by ref): C0009
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.view is not None and app.screen.view.case_ref == "C0009"
    assert rows(staffed, Case, case_ref="C0005")[0]["status"] == "complete"


def test_the_next_free_case_skips_cases_allocated_to_others(staffed: Database) -> None:
    from audit.views.caselist import next_to_rate

    allocation.allocate_ids(staffed, 1, [case_id(staffed, "C0001")], to="Bo Inspector",
                            actor=Actor(LEAD))
    following = next_to_rate(staffed, 1, "C0000", actor=Actor(INSPECTOR))
    assert following is not None and following.case_ref == "C0002"
    mine = next_to_rate(staffed, 1, "C0000", actor=Actor("Bo Inspector"))
    assert mine is not None and mine.case_ref == "C0001"
