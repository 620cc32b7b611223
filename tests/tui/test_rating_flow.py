"""Pilot tests of the whole rating flow, checked against the database afterwards."""

from __future__ import annotations

import io

import sqlalchemy as sa

from audit.store.engine import Database
from audit.store.models import Answer, AuditEvent, Case, HiddenAnswer, NoteDraft
from tests.tui.conftest import INSPECTOR, case_id
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.case_list import CaseListScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.modals import MissingModal
from tui.widgets.question_panel import NoteArea
from tui.widgets.question_tree import QuestionTree

SIZE = (120, 40)


def rows(db: Database, model: type, **where: object) -> list:
    table = model.__table__  # type: ignore[attr-defined]
    stmt = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
    with db.engine.connect() as conn:
        return list(conn.execute(stmt).mappings())


async def open_first_case(app: IomAuditApp, pilot) -> CaseScreen:  # type: ignore[no-untyped-def]
    await pilot.pause()
    assert isinstance(app.screen, DashboardScreen)
    await pilot.press("l")
    await pilot.pause()
    assert isinstance(app.screen, CaseListScreen)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()  # the case is read in a worker
    await pilot.pause()
    # The case screen, possibly under a dialog it opened (drafts to restore).
    return next(s for s in app.screen_stack if isinstance(s, CaseScreen))


async def test_rate_a_case_end_to_end(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        qs = screen.ws.qs
        assert screen.current == "2.1.1"

        # Every key question, by keys: y for yes/no, a where "not applicable" is allowed.
        for q in qs.key_questions:
            while screen.current != q.id:
                await pilot.press("j")
            await pilot.press("a" if q.allows_na else "y")
        cid = case_id(db, "C0000")
        stored = {r["question_id"]: r["value"] for r in rows(db, Answer, case_id=cid)}
        assert stored == {q.id: ("na" if q.allows_na else "yes") for q in qs.key_questions}

        # Marking a factor linked reveals its "services delivered" follow-up at once.
        assert screen.applicable["factor.drugs.delivered"] is False
        await pilot.press("k")  # back through the standards to the factor
        while screen.current != "factor.drugs.linked":
            await pilot.press("k")
        await pilot.press("y")
        assert screen.applicable["factor.drugs.delivered"] is True
        tree = screen.query_one(QuestionTree)
        assert "(not asked)" not in tree.prompt_of("factor.drugs.delivered")
        assert "(not asked)" in tree.prompt_of("factor.ete.delivered")

        # Completing too early lists what is missing and jumps to the first of it.
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, MissingModal)
        first_missing = app.screen.missing[0][0]
        await pilot.press("escape")
        await pilot.pause()
        assert screen.current == first_missing

        # Answer everything still open (1 = first choice; other factors not linked): each
        # answer moves on to the next unanswered question by itself.
        for _ in range(len(qs.questions) + 5):
            if screen.values.get(screen.current) is None:
                linked = screen.current.startswith("factor.") and \
                    screen.current.endswith(".linked")
                await pilot.press("n" if linked else "1")
            else:
                await pilot.press("space")
        # The follow-up is reachable by j (it applies) and was answered on the way.
        assert screen.values.get("factor.drugs.delivered") == "yes"
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, MissingModal)

    case = rows(db, Case, id=cid)[0]
    assert case["status"] == "complete"
    answers = rows(db, Answer, case_id=cid)
    assert {a["rater"] for a in answers} == {"primary"}
    assert any(a["question_id"] == "factor.drugs.delivered" for a in answers)
    assert not any(a["question_id"] == "factor.ete.delivered" for a in answers)
    events = rows(db, AuditEvent, case_id=cid)
    assert all(e["who"] == INSPECTOR for e in events)
    status_changes = [(e["old_value"], e["new_value"]) for e in events if e["field"] == "status"]
    assert status_changes == [("not_started", "in_progress"), ("in_progress", "complete")]
    answered = {e["field"] for e in events if e["entity"] == "answer"}
    assert answered == {a["question_id"] for a in answers}


async def test_rule_hiding_is_announced_and_undone_by_the_rule(db: Database) -> None:
    app = IomAuditApp(db)
    cid = case_id(db, "C0000")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        screen.goto("factor.drugs.linked")
        await pilot.press("y")
        screen.goto("factor.drugs.delivered")
        await pilot.press("n")
        screen.goto("factor.drugs.linked")
        await pilot.press("n")  # the follow-up no longer applies: hidden by rule
        assert screen.current != "factor.drugs.linked"  # the answer moved on
        await pilot.pause()
        assert "factor.drugs.delivered" not in screen.values
        messages = [n.message for n in app._notifications]
        assert any("Hidden by rule" in m and "Drug misuse" in m for m in messages)
        assert not rows(db, Answer, case_id=cid, question_id="factor.drugs.delivered")
        assert rows(db, HiddenAnswer, case_id=cid, question_id="factor.drugs.delivered")
        screen.goto("factor.drugs.linked")
        await pilot.press("y")  # it applies again: the answer comes back
        await pilot.pause()
        assert screen.values["factor.drugs.delivered"] == "no"
        messages = [n.message for n in app._notifications]
        assert any("Back by rule" in m and "Drug misuse" in m for m in messages)
    assert rows(db, Answer, case_id=cid, question_id="factor.drugs.delivered")[0]["value"] \
        == "no"


async def test_letters_type_in_the_note_and_it_is_saved_on_leaving(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        await pilot.press("e")
        assert isinstance(app.focused, NoteArea)
        await pilot.press("y", "e", "s", "space", "n", "o")
        assert screen.values.get("2.1.1") is None  # letters typed, did not answer
        screen.keep_draft()  # what the timer does every few seconds
        cid = case_id(db, "C0000")
        assert [d["text"] for d in rows(db, NoteDraft, case_id=cid)] == ["yes no"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.focused is None
        await pilot.press("y")  # keys answer again
    stored = rows(db, Answer, case_id=cid, question_id="2.1.1")
    assert stored[0]["note"] == "yes no" and stored[0]["value"] == "yes"
    assert not rows(db, NoteDraft, case_id=cid)  # the draft went once the note was saved


async def test_quitting_saves_the_note_being_typed(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_case(app, pilot)
        await pilot.press("e", "h", "i")
        await pilot.press("ctrl+q")
    cid = case_id(db, "C0000")
    assert rows(db, Answer, case_id=cid, question_id="2.1.1")[0]["note"] == "hi"


def summary_text(screen: CaseScreen) -> str:
    """What the read-only profile shows, as plain text."""
    from rich.console import Console

    from tui.widgets.profile_form import ProfileSummary

    console = Console(width=118, record=True, file=io.StringIO())
    console.print(screen.query_one(ProfileSummary).render())
    return console.export_text()


async def test_the_profile_is_shown_read_only_until_entered(db: Database) -> None:
    """Opening a case builds no profile form: one widget shows every field. `p` builds
    the form in its place with the stored values, on the first field; a profile change
    made meanwhile by someone else is shown in the summary first, then in the form."""
    from textual.widgets import Select

    from audit import cases
    from audit.permissions import Actor
    from tui.widgets.profile_form import ProfileForm, ProfileSummary

    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)  # C0000: IOM, community, medium
        assert not screen.query(ProfileForm) and not screen.query(Select)
        shown = summary_text(screen)
        assert "Risk of serious harm" in shown and "Medium" in shown
        assert "Community sentence" in shown and "Yes" in shown
        cases.update_profile(db, screen.case_id, {"rosh": "high"},
                             actor=Actor("Bo Inspector"), expected_version=screen.version)
        await pilot.press("y")  # stored on top of Bo's change: the case is read again
        await pilot.pause()
        assert rows(db, Answer, case_id=screen.case_id, question_id="2.1.1")
        assert "High" in summary_text(screen) and "Medium" not in summary_text(screen)
        await pilot.press("p")
        await pilot.pause()
        assert not screen.query(ProfileSummary)
        form = screen.query_one(ProfileForm)
        assert app.focused is form.query_one("#p-iom", Select)
        assert form.query_one("#p-rosh", Select).value == "high"
        assert form.query_one("#p-case_type", Select).value == "community"
        assert form.query_one("#p-iom", Select).value == "yes"
        assert len(form.query(Select)) == 14


async def test_a_click_on_a_profile_field_opens_that_field(db: Database) -> None:
    from textual.widgets import Select

    from tui.widgets.profile_form import ProfileSummary

    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        # Third row, second column (the summary has one cell of padding each side).
        await pilot.click(ProfileSummary, offset=(1 + 118 // 5 + 3, 5))
        await pilot.pause()
        select = screen.query_one("#p-gender", Select)
        assert select.expanded  # as a click on the form's control: its list opens
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.focused is select and not select.expanded
        assert select.value in ("male", "female")
        assert rows(db, Case, case_ref="C0000")[0]["gender"] == select.value


async def test_focus_moving_onto_the_profile_enters_its_form(db: Database) -> None:
    """Focus arriving on the read-only profile enters the form, and tab then reaches every
    field: an inspector edits the whole profile by keyboard."""
    from textual.widgets import Select

    from question_sets.profile import PROFILE

    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert app.focused is None
        screen.focus_next()  # as tab from the last field, or a focus chain's first stop
        await pilot.pause()
        assert app.focused is screen.query_one("#p-iom", Select)
        # Tab goes on through the form, to every field (the date box too), then out.
        ids = [f"p-{code}" for code in PROFILE]
        for code in ids[1:]:
            await pilot.press("tab")
            await pilot.pause()
            assert app.focused is not None and app.focused.id == code
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == ids[-2]


async def test_a_profile_field_is_chosen_from_its_list(db: Database) -> None:
    """The profile's lists of choices are built when first opened (`LazySelect`): enter
    opens one on the current choice, the arrows and enter pick another, and it is stored;
    escape closes it again."""
    from textual.widgets import Select
    from textual.widgets._select import SelectOverlay

    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)  # C0000, an IOM case
        await pilot.press("p")  # the profile's first field: IOM case
        await pilot.pause()
        select = screen.query_one("#p-iom", Select)
        assert app.focused is select and select.value == "yes"
        assert not select.query(SelectOverlay)  # not built until opened
        await pilot.press("enter")
        await pilot.pause()
        overlay = select.query_one(SelectOverlay)
        assert select.expanded and app.focused is overlay
        assert overlay.highlighted == 1  # "Unknown", then "Yes": the current choice
        await pilot.press("down", "enter")
        await pilot.pause()
        assert select.value == "no" and not select.expanded and app.focused is select
        assert rows(db, Case, case_ref="C0000")[0]["iom"] is False
        await pilot.press("enter")
        await pilot.pause()
        assert select.expanded and overlay.highlighted == 2
        await pilot.press("escape")
        await pilot.pause()
        assert not select.expanded and app.focused is select
