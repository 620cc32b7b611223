"""Snapshots of every screen at 120x40, dark and light (pytest-textual-snapshot).

Deterministic: fixed data and timestamps, no clock, cursors that do not blink, and
report paths in a fixed folder. Update with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from audit import cases
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case
from tests.databases import Prepare
from tests.helpers import rate_qa
from tests.tui.conftest import INSPECTOR, case_id, fill_inspection
from tui.app import DARK, LIGHT, IomAuditApp

SIZE = (120, 40)
FROZEN = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def _rated(db: Database) -> None:
    """The rated database below, written into an empty migrated database."""
    fill_inspection(db)
    for i in range(6):
        cid = case_id(db, f"C{i:04d}")
        version = cases.load_case(db, cid, actor=Actor("Reader")).version
        for n, qid in enumerate(("2.1.1", "2.1.2", "2.2.1", "2.3.1")):
            value = "yes" if (i + n) % 3 else "no"
            version = cases.record_answer(db, cid, qid, value, actor=Actor("Bo Rater"),
                                          expected_version=version).version
    # A complete blind QA rating of C0000 (side by side is shown only then); it agrees
    # with Bo Rater's primary answers except on 2.1.2.
    rate_qa(db, case_id(db, "C0000"), "Cy QA", {"2.1.1": "no", "2.1.2": "no", "2.3.1": "no"})
    with db.engine.begin() as conn:  # fixed times: the case list shows them
        conn.execute(sa.update(Case.__table__).values(updated_at=FROZEN))  # type: ignore[attr-defined]


@pytest.fixture
def rated_db(prepare: Prepare) -> Database:
    """Twelve cases; six rated on the key questions (IOM and not), one by a QA rater too
    (a copy of what the use cases made once in the session: each test changes its own)."""
    return prepare("sqlite", "tui-snapshots-rated", _rated)[0]


def app_for(db: Database, theme: str = DARK) -> IomAuditApp:
    app = IomAuditApp(db, theme=theme)
    app.report_dir = Path("/reports")
    return app


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    for widget in pilot.app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    await pilot.pause()


def keys(*presses: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Press keys one at a time, letting workers finish after each."""
    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)
    return run


class TestDashboard:
    def test_dark(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE, run_before=keys())

    def test_light(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db, LIGHT), terminal_size=SIZE, run_before=keys())


class TestCaseList:
    def test_list(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE, run_before=keys("l"))

    def test_filtered_by_search(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("l", "slash", "C", "0", "0", "1", "enter"))


class TestCaseScreen:
    # C0001 is rated by Bo Rater; the follow-up of a linked factor shows once it applies.
    PRESSES = ("l", "down", "enter", "y", "j", "j", "j", "y", "right_square_bracket")

    def test_dark(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys(*self.PRESSES))

    def test_light(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db, LIGHT), terminal_size=SIZE,
                            run_before=keys(*self.PRESSES))

    @pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)],
                             ids=["80x24", "120x40", "200x60"])
    def test_sizes(self, snap_compare, rated_db: Database, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
        # Panes share the width; at 80x24 the profile and guidance are behind p and g,
        # and the question, its choices, the rule in words and the note box all show.
        assert snap_compare(app_for(rated_db), terminal_size=size,
                            run_before=keys("l", "down", "enter", "j", "j", "j", "y", "n",
                                            "k", "k"))

    def test_note_focused(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("l", "enter", "e", "o", "k"))

    def test_missing_on_complete(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("l", "enter", "c"))

    def test_reason_to_reopen(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        with rated_db.engine.begin() as conn:  # C0000 signed off (its answers do not matter)
            conn.execute(sa.update(Case.__table__).where(  # type: ignore[attr-defined]
                Case.case_ref == "C0000").values(status="complete"))
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("l", "enter", "y"))


class TestDisagreements:
    def test_side_by_side(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("l", "D"))


class TestComparison:
    def test_table_and_bars(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE, run_before=keys("m"))

    def test_cases_behind(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("m", "right", "enter"))


class TestReport:
    def test_form(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE, run_before=keys("r"))


class TestHelp:
    def test_case_keys(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db), terminal_size=SIZE,
                            run_before=keys("l", "enter", "f1"))

    def test_light(self, snap_compare, rated_db: Database) -> None:  # type: ignore[no-untyped-def]
        assert snap_compare(app_for(rated_db, LIGHT), terminal_size=SIZE,
                            run_before=keys("question_mark"))


class TestStart:
    def test_who_is_rating(self, snap_compare, rated_db: Database,  # type: ignore[no-untyped-def]
                           monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("IOM_AUDIT_INSPECTOR")
        assert snap_compare(app_for(rated_db), terminal_size=SIZE, run_before=keys())


assert INSPECTOR  # the fixture's rater opens every screen above
