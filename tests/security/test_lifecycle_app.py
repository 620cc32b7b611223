"""Lifecycle bypass in the app (issue 15, Why): anyone could change the answers of a
complete or QA-checked case; the status did not change and no reason was asked for.

Now the first change to a signed-off case asks for a reason in a dialog: cancelled,
nothing changes; given, the case goes back to in progress (the status line says so) and
the trail keeps the reason beside the status change. The use cases refuse an edit
without a reason whatever face calls them, and a locked case changes only after a lead
unlocks it, with a reason. Driven with the Pilot, as a person would."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from audit import cases, drafts
from audit.errors import PermissionDenied, UsageError
from audit.lifecycle import ReasonRequired
from audit.permissions import Actor
from audit.store.engine import Database
from tests.databases import Prepare
from tests.helpers import rate_qa, set_role
from tests.security.lifecycle_setup import (
    INSPECTOR,
    LEAD,
    answer_all,
    events,
    move_through,
    people,
    status,
    status_moves,
    version,
)
from tests.tui.conftest import INSPECTOR as APP_USER
from tests.tui.conftest import (
    case_id,
    fill_inspection,
    isolated_settings,  # noqa: F401  (autouse fixture)
)
from tests.tui.test_rating_flow import SIZE, open_first_case
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.modals import ReasonModal


def _answered(database: Database) -> None:
    """`build_db`'s inspection and the people, with every required question of C0000
    answered through the use cases (`answer_all`, some forty saves)."""
    fill_inspection(database)
    people(database)
    answer_all(database, case_id(database, "C0000"))


@pytest.fixture
def db(prepare: Prepare) -> Database:
    """A private copy of `_answered`, built once: each test signs C0000 off its own way
    (`sign_off` without the answering, done in the copy already)."""
    return prepare("sqlite", "lifecycle-app-answered", _answered)[0]


def sign_off(db: Database, cid: int, *through: str) -> None:
    """`lifecycle_setup.sign_off` of C0000, whose answers the copy holds already."""
    assert cid == case_id(db, "C0000")
    move_through(db, cid, *through)


def shown_status(screen: CaseScreen) -> str:
    return str(screen.query_one("#case-status", Static).render())


def answer(db: Database, ref: str, qid: str) -> str | None:
    return cases.load_case(db, case_id(db, ref), actor=LEAD).values().get(qid)


async def give_reason(pilot, app: IomAuditApp, text: str) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(app.screen, ReasonModal)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


@pytest.mark.parametrize("signed", [("complete",), ("complete", "qa_checked")],
                         ids=["complete", "qa_checked"])
async def test_changing_a_signed_off_case_asks_why_and_reopens_it(
        db: Database, signed: tuple[str, ...]) -> None:
    cid = case_id(db, "C0000")
    sign_off(db, cid, *signed)
    was = signed[-1]
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert screen.current == "2.1.1" and screen.values["2.1.1"] == "yes"
        await pilot.press("n")  # the attack: change an answer of a signed-off case
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("escape")  # no reason: nothing changes
        await pilot.pause()
        assert app.screen is screen
        assert (answer(db, "C0000", "2.1.1"), status(db, cid)) == ("yes", was)
        await pilot.press("n")
        await pilot.pause()
        await give_reason(pilot, app, "answered for the wrong case")
        assert app.screen is screen and screen.values["2.1.1"] == "no"
        assert "In progress" in shown_status(screen)  # the status visibly changed
        assert any("is now In progress" in n.message for n in app._notifications)
    assert (answer(db, "C0000", "2.1.1"), status(db, cid)) == ("no", "in_progress")
    assert status_moves(db, cid)[-2:] == [
        (APP_USER, was, "in_progress"), ("reason", APP_USER, "answered for the wrong case")]
    last = events(db, cid)[-1]
    assert (last["entity"], last["old_value"], last["new_value"]) == ("answer", "yes", "no")


async def test_a_note_typed_on_a_complete_case_waits_for_a_reason_as_a_draft(
        db: Database) -> None:
    cid = case_id(db, "C0000")
    sign_off(db, cid, "complete")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        await pilot.press("e", *"late", "escape")  # type a note, leave the box
        await pilot.pause()
        assert isinstance(app.screen, ReasonModal)
        await pilot.press("escape")
        await pilot.pause()
        assert status(db, cid) == "complete"
        assert drafts.drafts(db, cid, actor=Actor(APP_USER)) == {"2.1.1": "late"}
        assert screen.notes.get("2.1.1") is None


def test_the_use_cases_refuse_edits_of_a_signed_off_case_without_a_reason(
        db: Database) -> None:
    cid = case_id(db, "C0000")
    sign_off(db, cid, "complete", "qa_checked")
    edits = [
        lambda reason: cases.record_answer(db, cid, "2.1.1", None, actor=INSPECTOR,
                                           expected_version=version(db, cid), reason=reason),
        lambda reason: cases.save_note(db, cid, "2.1.2", "x", actor=INSPECTOR,
                                       expected_version=version(db, cid), reason=reason),
        lambda reason: cases.update_profile(db, cid, {"rosh": "low"}, actor=INSPECTOR,
                                            expected_version=version(db, cid), reason=reason),
    ]
    before = events(db, cid)
    for edit in edits:
        for reason in (None, "", "   "):
            with pytest.raises(ReasonRequired, match="QA-checked: changing it moves it back "
                                                     "to In progress, which needs a reason"):
                edit(reason)
    assert events(db, cid) == before and status(db, cid) == "qa_checked"
    edits[2]("RoSH was re-assessed")
    assert status(db, cid) == "in_progress"
    assert status_moves(db, cid)[-2:] == [(INSPECTOR.name, "qa_checked", "in_progress"),
                                         ("reason", INSPECTOR.name, "RoSH was re-assessed")]


async def test_a_locked_case_changes_only_after_a_lead_unlocks_it_with_a_reason(
        db: Database) -> None:
    cid = case_id(db, "C0000")
    sign_off(db, cid, "complete", "locked")
    # An inspector (or a lead) cannot edit it, reason or not.
    for actor in (INSPECTOR, LEAD):
        with pytest.raises(PermissionDenied, match="locked"):
            cases.record_answer(db, cid, "2.1.1", "no", actor=actor,
                                expected_version=version(db, cid), reason="because")
    with pytest.raises(PermissionDenied, match="only the lead role may lock or unlock"):
        cases.set_status(db, cid, "in_progress", actor=INSPECTOR,
                         expected_version=version(db, cid), reason="because")
    with pytest.raises(ReasonRequired, match="unlocking it needs a reason"):
        cases.set_status(db, cid, "in_progress", actor=LEAD, expected_version=version(db, cid))
    set_role(db, APP_USER, "lead")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert screen.read_only
        await pilot.press("L")  # unlock: the app asks why
        await pilot.pause()
        await give_reason(pilot, app, "late evidence")
        assert not screen.read_only and "In progress" in shown_status(screen)
        await pilot.press("n")  # now it may change, and needs no second reason
        await pilot.pause()
        assert app.screen is screen
    assert (answer(db, "C0000", "2.1.1"), status(db, cid)) == ("no", "in_progress")
    assert status_moves(db, cid)[-2:] == [(APP_USER, "locked", "in_progress"),
                                         ("reason", APP_USER, "late evidence")]


async def test_moderated_is_a_status_a_lead_gives_after_qa(db: Database) -> None:
    cid = case_id(db, "C0000")
    sign_off(db, cid, "complete", "qa_checked")
    with pytest.raises(PermissionDenied, match="only the lead role may mark cases moderated"):
        cases.set_status(db, cid, "moderated", actor=INSPECTOR,
                         expected_version=version(db, cid))
    # Moderated means reconciled: not before a complete blind QA rating ...
    with pytest.raises(UsageError, match="has no blind QA rating yet"):
        cases.set_status(db, cid, "moderated", actor=LEAD, expected_version=version(db, cid))
    # ... nor with a disagreement left.
    rate_qa(db, cid, "Quinn QA", {"2.1.1": "no"})
    with pytest.raises(UsageError, match="0 of 1 disagreement"):
        cases.set_status(db, cid, "moderated", actor=LEAD, expected_version=version(db, cid))
    cases.moderate(db, cid, "2.1.1", "no", comment=None, actor=LEAD,
                   expected_version=version(db, cid))
    set_role(db, APP_USER, "lead")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        await pilot.press("M")
        await pilot.pause()
        assert "Moderated" in shown_status(screen)
    assert status(db, cid) == "moderated"


def test_completing_still_needs_every_required_answer(db: Database) -> None:
    cid = case_id(db, "C0001")
    cases.record_answer(db, cid, "2.1.1", "yes", actor=INSPECTOR,
                        expected_version=version(db, cid))
    with pytest.raises(cases.IncompleteError):
        cases.set_status(db, cid, "complete", actor=INSPECTOR,
                         expected_version=version(db, cid))
    answer_all(db, cid)
    cases.set_status(db, cid, "complete", actor=INSPECTOR, expected_version=version(db, cid))
    assert status(db, cid) == "complete"


async def test_moderating_a_moderated_case_again_asks_why(db: Database) -> None:
    from tui.screens.disagreements import DisagreementsScreen

    cid = case_id(db, "C0000")
    sign_off(db, cid, "complete", "qa_checked")
    # A complete blind QA by someone other than the primary rater (audit.qa_rules).
    rate_qa(db, cid, LEAD.name, {"2.1.1": "no"})
    # Reconciled (the QA answer taken), then marked moderated.
    cases.moderate(db, cid, "2.1.1", "no", comment=None, actor=LEAD,
                   expected_version=version(db, cid))
    cases.set_status(db, cid, "moderated", actor=LEAD, expected_version=version(db, cid))
    set_role(db, APP_USER, "lead")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, DisagreementsScreen)
        await pilot.press("p")  # agree on the primary answer: the moderation changes
        await pilot.pause()
        await give_reason(pilot, app, "moderation meeting of 3 May")
    view = cases.load_case(db, cid, actor=LEAD)
    assert view.values("moderated") == {"2.1.1": "yes"} and view.status == "qa_checked"
    assert status_moves(db, cid)[-2:] == [(APP_USER, "moderated", "qa_checked"),
                                         ("reason", APP_USER, "moderation meeting of 3 May")]
