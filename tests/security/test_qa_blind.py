"""Attack: during blind rating, `D` (or any other key, palette command or command) shows
the primary answers (issue 15, "Blind QA is neither independent nor blind").

Ann Inspector has started the blind QA of C0000 (one key question of twelve); Bo Rater's
primary rating of it has an answer and a note ("PRIMARY-NOTE ...") on every key question.
Each path that could show Ann the primary rating is tried, and the rendered screen is
searched for it. The use case behind each path refuses, so hiding a key is not what keeps
the rating hidden.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Static

from audit.errors import PermissionDenied
from audit.permissions import Actor
from audit.store.engine import Database
from audit.trail import case_history
from audit.views.analysis import cases_behind
from audit.views.qa import side_by_side
from cli.app import run
from tests.databases import Prepare
from tests.helpers import KEY_QUESTIONS, rate_qa
from tests.security.qa_fixtures import (
    NOTE_MARK,
    PRIMARY_RATER,
    QA_RATER,
    SIZE,
    RecordingApp,
    fill_rated,
    primary_value,
    rated_db,
    screen_text,
)
from tests.tui.conftest import case_id
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.case_list import CaseListScreen
from tui.screens.comparison import ComparisonScreen
from tui.screens.disagreements import DisagreementsScreen

HIDDEN = (f"case C0000: its primary rating stays hidden from {QA_RATER} until their blind QA "
          "rating is complete (11 QA question(s) unanswered)")


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", QA_RATER)  # the app runs as Ann


def _blind_started(database: Database) -> None:
    fill_rated(database)
    assert primary_value(0, "2.1.1") == "no"
    rate_qa(database, case_id(database, "C0000"), QA_RATER, {"2.1.1": "yes"},
            questions=("2.1.1",))


@pytest.fixture
def db(prepare: Prepare) -> Database:
    """Bo's primary ratings; Ann's blind QA of C0000 started (2.1.1: yes, Bo said no):
    a copy of what the use cases made once."""
    return prepare("sqlite", "qa-blind-started", _blind_started)[0]


def assert_nothing_primary(text: str) -> None:
    """No primary note, and no sign of who gave the primary answers, on the screen."""
    assert NOTE_MARK not in text
    assert f"by {PRIMARY_RATER}" not in text
    assert "disagreement(s)" not in text and "Primary" not in text


async def open_blind(app: IomAuditApp, pilot) -> CaseScreen:  # type: ignore[no-untyped-def]
    """The case list, then `Q`: the blind QA of the highlighted case, C0000."""
    await pilot.pause()
    await pilot.press("l")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("Q")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, CaseScreen) and screen.rater == "qa"
    return screen


async def palette(app: IomAuditApp, pilot, query: str) -> None:  # type: ignore[no-untyped-def]
    """Run the palette's best hit for `query`."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    for key in query:
        await pilot.press("space" if key == " " else key)
    await pilot.pause(0.5)
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def refusals(app: RecordingApp) -> list[str]:
    return app.raised


# ------------------------------------------------------------------------ the app

async def test_the_blind_screen_holds_nothing_of_the_primary_rating(
        app_env: None, db: Database) -> None:
    app = RecordingApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_blind(app, pilot)
        assert screen.view is not None and set(screen.view.answers) == {"qa"}
        assert screen.values == {"2.1.1": "yes"}  # Ann's own answer, not Bo's "no"
        text = screen_text(app)
        assert_nothing_primary(text)
        assert "blind: primary hidden until 11 more QA answer(s)" in text
        await pilot.press("j")  # 2.1.2: Bo answered it, Ann has not
        await pilot.pause()
        assert screen.current == "2.1.2"
        choices = str(screen.query_one("#q-choices", Static).render())
        assert "not answered" in choices and "✓" not in choices
        assert screen.query_one("#note").text == ""  # type: ignore[attr-defined]
        assert_nothing_primary(screen_text(app))


async def test_d_during_blind_rating_shows_nothing(app_env: None, db: Database) -> None:
    app = RecordingApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_blind(app, pilot)
        await pilot.press("D")
        await pilot.pause()
        assert not any(isinstance(s, DisagreementsScreen) for s in app.screen_stack)
        assert isinstance(app.screen, CaseScreen) and app.screen.rater == "qa"
        assert refusals(app) == [HIDDEN]
        assert_nothing_primary(screen_text(app))


async def test_every_palette_command_during_blind_rating_shows_nothing(
        app_env: None, db: Database) -> None:
    app = RecordingApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_blind(app, pilot)
        await palette(app, pilot, "Disagreements")  # the case screen's own command
        assert isinstance(app.screen, CaseScreen)
        await palette(app, pilot, "case list")  # leave blind mode for the list ...
        assert isinstance(app.screen, CaseListScreen)
        await pilot.press("enter")  # ... and open the case as a primary rating
        await pilot.pause()
        await pilot.press("D")  # ... or side by side from the list
        await pilot.pause()
        await palette(app, pilot, "Disagreements")  # ... or by the list's command
        assert isinstance(app.screen, CaseListScreen)
        assert not any(isinstance(s, (CaseScreen, DisagreementsScreen))
                       for s in app.screen_stack)
        assert refusals(app) == [HIDDEN] * 4
        assert_nothing_primary(screen_text(app))


async def test_cases_behind_a_comparison_cell_leave_the_blind_case_out(
        app_env: None, db: Database) -> None:
    """The comparison's cases behind a cell list each case's primary answer."""
    app = RecordingApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await palette(app, pilot, "comparison")
        assert isinstance(app.screen, ComparisonScreen)
        await pilot.press("right", "enter")  # the IOM cell of 2.1.1
        await app.workers.wait_for_complete()
        await pilot.pause()
        behind = [c.case_ref for c in app.screen.behind]
        assert behind == ["C0002", "C0004"]  # Bo's other IOM cases; C0000 left out
        assert "C0000" not in screen_text(app)


async def test_only_a_complete_qa_rating_opens_the_comparison(
        app_env: None, db: Database) -> None:
    """The control: once Ann's QA rating is complete, `D` shows both ratings."""
    app = RecordingApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_blind(app, pilot)
        rate_qa(db, screen.case_id, QA_RATER, questions=KEY_QUESTIONS[1:])
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, DisagreementsScreen)
        assert "Primary" in screen_text(app)


async def test_a_blind_qa_not_yet_started_shows_nothing_either(
        app_env: None, tmp_path: Path) -> None:
    """Before Ann's first QA answer the app shows the QA screen empty, and `D` is
    refused to everybody: there is no QA rating to compare with yet."""
    fresh = rated_db(tmp_path / "fresh.db")
    try:
        app = RecordingApp(fresh)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_blind(app, pilot)
            assert screen.values == {} and set(screen.view.answers) == {"qa"}  # type: ignore[union-attr]
            await pilot.press("D")
            await pilot.pause()
            assert isinstance(app.screen, CaseScreen)
            assert refusals(app) == ["case C0000 has no blind QA rating yet: there is nothing "
                                     "to compare"]
            assert_nothing_primary(screen_text(app))
    finally:
        fresh.dispose()


# ------------------------------------------------------------------------ the use cases

def test_the_use_cases_refuse_not_the_keys(db: Database) -> None:
    ann = Actor(QA_RATER)
    cid = case_id(db, "C0000")
    with pytest.raises(PermissionDenied, match=HIDDEN.replace("(", r"\(").replace(")", r"\)")):
        side_by_side(db, cid, actor=ann)
    with pytest.raises(PermissionDenied, match="stays hidden from Ann Inspector"):
        case_history(db, "C0000", actor=ann)
    found = cases_behind(db, actor=ann, question_id="2.1.1", level="iom")
    assert "C0000" not in [c.case_ref for c in found]
    # Nobody sees the two ratings side by side before the QA is complete: not even a lead.
    with pytest.raises(PermissionDenied, match="once the blind QA rating is complete"):
        side_by_side(db, cid, actor=Actor("Lee Lead"))
    # Others still read the case's trail and its place behind the cell.
    assert case_history(db, "C0000", actor=Actor("Lee Lead"))
    assert "C0000" in [c.case_ref for c in cases_behind(db, actor=Actor(PRIMARY_RATER),
                                                       question_id="2.1.1", level="iom")]


def test_cli_history_during_blind_rating_shows_nothing(
        db: Database, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", QA_RATER)
    code = run(["--db", str(db.location.path), "history", "C0000", "--json", "-"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == f"Error: {HIDDEN}"
    assert NOTE_MARK not in out + err
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")  # anyone else reads it
    assert run(["--db", str(db.location.path), "history", "C0000", "--json", "-"]) == 0
    assert NOTE_MARK in json.dumps(json.loads(capsys.readouterr().out))
