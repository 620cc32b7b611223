"""One key per answer, keys that cannot act, keys typed while a case opens, the palette,
one escape: Pilot tests checked against the database, and one in a real pty."""

from __future__ import annotations

import os
import pty
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual.widgets import Footer, Static

from audit.store.engine import Database
from audit.store.models import Answer, Case
from tests.databases import Prepare
from tests.tui.conftest import INSPECTOR, answer_required, build_db, case_id, fill_inspection
from tests.tui.test_process import ROOT, Terminal, app_environment, stored
from tests.tui.test_rating_flow import open_first_case, rows
from tui.app import IomAuditApp
from tui.commands import CaseCommands
from tui.screens.case import CaseScreen
from tui.screens.case_list import CaseListScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.disagreements import DisagreementsScreen
from tui.widgets.question_tree import QuestionTree

SIZE = (120, 40)


def status(screen: CaseScreen) -> str:
    return str(screen.query_one("#case-status", Static).render())


def footer_keys(app: IomAuditApp) -> set[str]:
    """The descriptions the footer shows."""
    footer = app.screen.query_one(Footer)
    return {str(getattr(k, "description", "")) for k in footer.children}


async def test_each_answer_moves_to_the_next_unanswered_question(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert screen.current == "2.1.1"
        await pilot.press("y")
        assert screen.current == "2.1.2"  # one key: answered and on to the next
        await pilot.press("n", "y")
        assert screen.values == {"2.1.1": "yes", "2.1.2": "no", "2.1.3": "yes"}
        # Answered questions are passed over: back to the start, space goes to the first
        # unanswered question after the current one.
        screen.goto("2.1.1")
        await pilot.press("space")
        assert screen.current == screen.next_unanswered() or screen.current not in \
            screen.values
        assert screen.values.get(screen.current) is None
        # Off (the setting): the cursor stays on the question answered.
        app.action_toggle_advance()
        assert app.settings.auto_advance is False
        here = screen.current
        await pilot.press("y")
        assert screen.current == here and screen.values[here] == "yes"
    cid = case_id(db, "C0000")
    assert {r["question_id"] for r in rows(db, Answer, case_id=cid)} == \
        {"2.1.1", "2.1.2", "2.1.3", here}


async def test_a_on_a_yes_no_question_says_why_and_is_not_offered(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert not screen.question().allows_na
        assert "N/A" not in footer_keys(app) and "Yes" in footer_keys(app)
        await pilot.press("a")
        await pilot.pause()
        assert screen.current == "2.1.1" and "2.1.1" not in screen.values
        assert "“Not applicable” is not an answer to this question" in status(screen)
        # On a question that allows it, the key is offered and acts.
        na_question = next(q for q in screen.ws.qs.questions if q.allows_na
                           and screen.applicable.get(q.id, True))
        screen.goto(na_question.id)
        await pilot.pause()
        assert "N/A" in footer_keys(app)
        await pilot.press("a")
        assert screen.values[na_question.id] == "na"


async def test_notes_are_marked_in_the_question_list(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        tree = screen.query_one(QuestionTree)
        assert "✎" not in tree.prompt_of("2.1.1")
        await pilot.press("e", "h", "i", "escape")
        await pilot.pause()
        assert "✎" in tree.prompt_of("2.1.1")
        await pilot.press("n")
        assert tree.prompt_of("2.1.1").startswith("● no")  # an honest mark, not a tick


def _all_but_one(db: Database) -> None:
    fill_inspection(db)
    answer_required(db, "C0000", INSPECTOR, leave=("2.1.1",))


@pytest.fixture
def nearly_rated(prepare: Prepare) -> Database:
    """`db` with every required question of C0000 but 2.1.1 answered by Ann (the app's
    rater) through the use cases, as keys would have (a copy of what was made once): the
    tests below give the last answer, and what follows, by keys."""
    return prepare("sqlite", "tui-C0000-all-but-2.1.1", _all_but_one)[0]


async def test_last_required_answer_offers_complete_and_next(nearly_rated: Database) -> None:
    db = nearly_rated
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert "Complete → next case" not in footer_keys(app)
        await pilot.press("N")
        await pilot.pause()
        assert "required answer(s) still missing" in status(screen)
        for _ in range(2 * len(screen.ws.qs.questions)):
            if not screen.missing():
                break
            unanswered = screen.values.get(screen.current) is None
            await pilot.press("1" if unanswered and screen.question().codes else "space")
        assert not screen.missing()
        await pilot.pause()
        assert "N completes this case and opens your next one" in status(screen)
        assert "Complete → next case" in footer_keys(app)
        await pilot.press("N")
        await app.workers.wait_for_complete()
        await pilot.pause()
        following = app.screen
        assert isinstance(following, CaseScreen) and following.view is not None
        assert following.view.case_ref == "C0001"  # the next in case-list order
        assert sum(isinstance(s, CaseScreen) for s in app.screen_stack) == 1
    assert rows(db, Case, case_ref="C0000")[0]["status"] == "complete"


async def test_n_on_a_signed_off_case_says_so(nearly_rated: Database) -> None:
    """Not "0 required answer(s) still missing": the case is complete, not to rate."""
    app = IomAuditApp(nearly_rated)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        for _ in range(2 * len(screen.ws.qs.questions)):
            if not screen.missing():
                break
            unanswered = screen.values.get(screen.current) is None
            await pilot.press("1" if unanswered and screen.question().codes else "space")
        await pilot.press("c")
        await pilot.pause()
        assert screen.view is not None and screen.view.status == "complete"
        await pilot.press("N")
        await pilot.pause()
        assert "already Complete, not to rate" in status(screen)
        assert "still missing" not in status(screen)


def slow_read(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    original = CaseScreen.read

    def read(*args: Any) -> Any:
        time.sleep(seconds)
        return original(*args)

    monkeypatch.setattr(CaseScreen, "read", staticmethod(read))


async def test_keys_typed_while_a_case_opens_are_dropped_visibly(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    slow_read(monkeypatch, 8)  # Pilot presses take a while each: well past the last
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, CaseListScreen)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.view is None
        assert "Opening the case" in status(screen)
        assert footer_keys(app) <= {"Back", "Quit", "Help", "palette"}  # nothing else acts
        # What the issue saw: a search typed during the load opened Disagreements (D),
        # and backspace cleared an answer.
        await pilot.press("slash", "C", "0", "0", "0", "3", "D", "backspace", "y", "escape")
        assert "10 key(s) ignored" in status(screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen and screen.view is not None
        assert not any(isinstance(s, DisagreementsScreen) for s in app.screen_stack)
        assert screen.values == {}
        lists = [s for s in app.screen_stack if isinstance(s, CaseListScreen)]
        assert lists and lists[0].filter.search == ""
        messages = [n.message for n in app._notifications]
        assert "10 keys ignored while the case was opening." in messages
        await pilot.press("y")  # ready: keys act again
        assert screen.values == {"2.1.1": "yes"}
    assert [r["value"] for r in rows(db, Answer, case_id=case_id(db, "C0000"))] == ["yes"]


SLOW_APP = ("import time; from tui.screens import case as c; read = c.CaseScreen.read; "
            "c.CaseScreen.read = staticmethod(lambda *a: (time.sleep(3), read(*a))[1]); "
            "from cli.main import main; main()")


@pytest.mark.slow
def test_keys_typed_during_a_slow_load_in_a_real_terminal(tmp_path: Path) -> None:
    db_path = tmp_path / "t.db"
    build_db(db_path).dispose()
    term = Terminal.__new__(Terminal)
    term.launcher, term.output = None, b""
    term.pid, term.fd = pty.fork()
    if term.pid == 0:  # the child: the app, with the case read 3 s slower
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-c", SLOW_APP, "--db", str(db_path)],
                  app_environment(tmp_path / "settings.json"))
    try:
        term.expect("Per site")
        term.settle()
        term.send("l")
        term.expect("C0000")
        term.settle()
        term.send("\r")
        term.expect("Opening the case")
        term.send("/C0003")  # typed while it opens: the search of the list underneath...
        term.send("D\x7fy")  # ...disagreements, clearing and answering: none may act
        term.expect("not answered", timeout=20)
        term.expect("9 keys ignored while the case was")  # said once it is ready
        term.settle()
        term.send("n")
        term.expect("saved ✓")
    finally:
        os.kill(term.pid, signal.SIGKILL)
        os.waitpid(term.pid, 0)
    answers = stored(db_path, Answer)
    assert [(a["question_id"], a["value"]) for a in answers] == [("2.1.1", "no")]
    # Neither the side-by-side view (refused: no QA yet) nor a search was attempted.
    assert b"nothing to compare" not in term.output and b"Cases 1" not in \
        term.output[term.output.find(b"Opening the case"):]


async def test_palette_opens_a_case_by_its_ref(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        provider = CaseCommands(app.screen)
        hits = [h async for h in provider.search("C0003")]
        assert [str(h.text) for h in hits] == ["Open case C0003"]
        blind = [h async for h in provider.search("qa C000")]
        assert "Blind QA rating of C0003" in [str(h.text) for h in blind]
        assert [h async for h in provider.search("nothing-like-it")] == []
        hits[0].command()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, CaseScreen) and app.screen.view is not None
        assert app.screen.view.case_ref == "C0003"


async def test_palette_finds_qa_and_the_setting(db: Database) -> None:
    from tui.commands import NavigationCommands

    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        provider = NavigationCommands(app.screen)
        titles = [str(h.text) for h in [h async for h in provider.search("qa")]]
        assert any("QA rating of a case, blind" in t for t in titles)
        titles = [str(h.text) for h in [h async for h in provider.search("move on")]]
        assert any("move on after each answer" in t for t in titles)


@pytest.mark.parametrize("screen_key", ["l", "r"])
async def test_one_escape_leaves_a_screen(db: Database, screen_key: str) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press(screen_key)
        await app.workers.wait_for_complete()
        await pilot.pause()
        if screen_key == "l":
            await pilot.press("slash", "C")  # typing in the search box
        assert not isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_one_escape_leaves_the_case_from_the_profile(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_case(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.focused is not None
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CaseListScreen)


def test_next_case_is_the_next_to_rate_in_list_order(db: Database) -> None:
    from audit.permissions import Actor
    from audit.views.caselist import next_to_rate

    with db.engine.begin() as conn:
        conn.execute(sa.update(Case.__table__)  # type: ignore[attr-defined]
                     .where(Case.__table__.c.case_ref.in_(["C0004", "C0005"]))  # type: ignore[attr-defined]
                     .values(status="complete"))
    ws_inspection = rows(db, Case, case_ref="C0003")[0]["inspection_id"]
    actor = Actor("Ann Inspector")
    following = next_to_rate(db, ws_inspection, "C0003", actor=actor)
    assert following is not None and following.case_ref == "C0006"  # complete ones skipped
    last = next_to_rate(db, ws_inspection, "C0011", actor=actor)
    assert last is not None and last.case_ref == "C0000"  # wraps to the first


async def test_the_status_line_says_p_where_the_profile_is_hidden(db: Database) -> None:
    """Below 110x34 the profile is behind p, which the footer has no room for: the status
    line says so until the profile shows, and follows the terminal's size both ways."""
    app = IomAuditApp(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_first_case(app, pilot)

        def status() -> str:
            return str(screen.query_one("#case-status", Static).render())

        assert "p: profile" not in status() and "(primary)" in status()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "p: profile" in status() and "(primary)" not in status()
        await pilot.press("p")
        assert screen.has_class("show-profile") and "p: profile" not in status()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert "(primary)" in status()
