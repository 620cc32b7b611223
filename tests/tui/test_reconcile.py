"""Reconciling a double rating in the app, driven with the Pilot as a moderator would:
accept the primary answer, accept the QA answer, a third answer refused without a
comment and recorded with one, then the case marked moderated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from audit import cases
from audit.permissions import Actor
from audit.store.engine import Database
from tests.databases import Prepare
from tests.helpers import answers, rate_qa, set_role
from tests.security.lifecycle_setup import LEAD, events, people, sign_off, status
from tests.security.qa_fixtures import RecordingApp, screen_text
from tests.tui.conftest import INSPECTOR as APP_USER
from tests.tui.conftest import build_db, case_id, fill_inspection
from tests.tui.test_rating_flow import SIZE
from tui.app import IomAuditApp
from tui.screens.case_list import CaseListScreen
from tui.screens.disagreements import DisagreementsScreen
from tui.screens.modals import CommentModal, ConfirmModal

QA_RATER = "Quinn QA"
DISAGREE = {"2.1.1": "no", "2.2.3": "no", "2.3.3": "no"}  # the primary said yes throughout
COMMENT = "No contact with others in the period: nothing to judge"


def _double_rated(database: Database) -> None:
    fill_inspection(database)
    people(database)
    cid = case_id(database, "C0000")
    sign_off(database, cid, "complete", "qa_checked")
    rate_qa(database, cid, QA_RATER, DISAGREE)


@pytest.fixture
def db(prepare: Prepare) -> Database:
    """C0000: primary by Ivy (yes throughout), QA-checked, blind QA by Quinn (a copy of
    what the use cases made once)."""
    return prepare("sqlite", "tui-reconcile-double-rated", _double_rated)[0]


async def open_reconciliation(app: IomAuditApp, pilot: Any) -> DisagreementsScreen:
    await pilot.pause()
    await pilot.press("l")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, CaseListScreen)
    await pilot.press("D")  # C0000 is the first case of the list
    await pilot.pause()
    assert isinstance(app.screen, DisagreementsScreen)
    return app.screen


def moderated(db: Database) -> dict[str, tuple[str | None, str | None]]:
    view = cases.load_case(db, case_id(db, "C0000"), actor=LEAD)
    return {q: (a.value, a.note) for q, a in view.answers.get("moderated", {}).items()}


def shown(screen: DisagreementsScreen, widget: str) -> str:
    return str(screen.query_one(f"#{widget}", Static).render())


async def test_a_lead_reconciles_a_double_rating_and_marks_it_moderated(
        db: Database) -> None:
    set_role(db, APP_USER, "lead")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reconciliation(app, pilot)
        assert [r.question_id for r in screen.rows] == list(DISAGREE)
        assert "0 of 3 reconciled" in shown(screen, "qa-title")
        # The highlighted question in full: label and question text, both answers.
        detail = shown(screen, "qa-question")
        assert "Assessment: engaging the service user" in detail
        assert "Primary" in shown(screen, "qa-primary") and "Answer: Yes" in shown(
            screen, "qa-primary")
        assert QA_RATER in shown(screen, "qa-qa") and "Answer: No" in shown(screen, "qa-qa")

        await pilot.press("p")  # 2.1.1: the primary answer; the cursor moves on
        await pilot.pause()
        assert moderated(db) == {"2.1.1": ("yes", None)}
        assert "1 of 3 reconciled" in shown(screen, "qa-title")
        await pilot.press("q")  # 2.2.3: the QA answer
        await pilot.pause()
        assert moderated(db)["2.2.3"] == ("no", None)

        await pilot.press("a")  # 2.3.3: not applicable, neither rating's answer
        await pilot.pause()
        assert isinstance(app.screen, CommentModal)
        await pilot.press("enter")  # no comment: refused, the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, CommentModal)
        assert "2.3.3" not in moderated(db)
        app.screen.query_one(Input).value = COMMENT
        await pilot.press("enter")
        await pilot.pause()
        assert moderated(db)["2.3.3"] == ("na", COMMENT)

        # Everything reconciled: the lead is offered to mark the case moderated.
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen
        assert "3 of 3 reconciled" in shown(screen, "qa-title")
        assert "Moderated" in shown(screen, "qa-title")
        assert COMMENT in shown(screen, "qa-moderated")
        assert "third answer" in shown(screen, "qa-moderated")
    assert status(db, case_id(db, "C0000")) == "moderated"
    moves = [(e["who"], e["old_value"], e["new_value"]) for e in events(db, case_id(db, "C0000"))
             if e["entity"] == "case" and e["field"] == "status"]
    assert moves[-1] == (APP_USER, "qa_checked", "moderated")


async def test_an_inspector_reconciles_but_is_not_offered_the_lead_s_move(
        db: Database) -> None:
    app = IomAuditApp(db)  # Ann is an inspector
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_reconciliation(app, pilot)
        assert screen.check_action("mark_moderated", ()) is False
        for key in ("p", "p", "y"):  # y on 2.3.3 is the primary's yes: no comment needed
            await pilot.press(key)
            await pilot.pause()
        assert not isinstance(app.screen, (ConfirmModal, CommentModal))
        await pilot.press("M")
        await pilot.pause()
        assert "a lead marks the case moderated" in shown(screen, "qa-status")
    assert moderated(db) == {q: ("yes", None) for q in DISAGREE}
    assert status(db, case_id(db, "C0000")) == "qa_checked"


async def test_the_primary_rater_as_lead_cannot_reconcile_their_own_case(
        tmp_path: Path) -> None:
    """Hostile: Ann gave C0000's primary rating and is a lead. The screen shows the two
    ratings (the QA is complete) but refuses every decision at once, in the use case's
    words: no comment is asked for a third answer, and nothing is stored."""
    db = build_db(tmp_path / "own.db")
    try:
        people(db)
        set_role(db, APP_USER, "lead")
        cid = case_id(db, "C0000")
        sign_off(db, cid, "complete", "qa_checked")
        # Ann changes one primary answer of C0000: she is now among its primary raters.
        view = cases.load_case(db, cid, actor=LEAD)
        cases.record_answer(db, cid, "2.1.2", "no", actor=Actor(APP_USER),
                            expected_version=view.version, reason="second look")
        rate_qa(db, cid, QA_RATER, DISAGREE)
        refusal = (f"{APP_USER} gave or changed primary answers of case C0000: its moderated "
                   "answers must come from someone else")
        before = answers(db)
        app = RecordingApp(db)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_reconciliation(app, pilot)
            assert refusal in shown(screen, "qa-status")
            assert [r.question_id for r in screen.rows] == ["2.1.1", "2.1.2", "2.2.3", "2.3.3"]
            for _ in range(3):
                await pilot.press("down")  # 2.3.3, where "not applicable" is an answer
            await pilot.pause()
            for n, key in enumerate(("a", "p", "q", "x", "M"), start=1):
                await pilot.press(key)
                await pilot.pause()
                assert app.screen is screen, key  # no comment dialog, no offer
                assert app.raised.count(refusal) == n, key
                assert refusal in screen_text(app), key
        assert answers(db) == before
        assert cases.load_case(db, cid, actor=LEAD).status == "in_progress"
    finally:
        db.dispose()
