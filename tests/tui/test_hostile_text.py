"""Text people type - names, sites, case refs, inspection names - is shown as typed.

Rich and Textual read `[b]` as markup; one closing tag in a name that nothing opened
used to stop every user's app (`MarkupError`). Each screen that shows such text is
opened here with hostile values, and must show them literally.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from audit import cases
from audit.inspections import create_inspection, get_or_create_site
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case, Inspector
from tests.databases import fresh_sqlite
from tests.helpers import rate_qa
from tests.tui.test_rating_flow import SIZE, open_first_case
from tui.app import IomAuditApp
from tui.screens.comparison import ComparisonScreen
from tui.screens.dashboard import DashboardScreen
from tui.screens.disagreements import DisagreementsScreen

NAME = "Zed [/i] [red]Rater"
SITE = "Leeds[/i]"
REF = "AAA[/b]1"
INSPECTION = "t [/b]"


@pytest.fixture
def hostile_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", NAME)
    db = fresh_sqlite(tmp_path / "hostile.db")
    with db.write_session() as session:
        inspection = create_inspection(session, INSPECTION, question_set="iom-thematic-2019")
        site = get_or_create_site(session, inspection, SITE)[0]
        for i, ref in enumerate((REF, "B0002")):
            session.add(Case(inspection_id=inspection.id, case_ref=ref, site_id=site.id,
                             iom=i == 0, case_type="community", rosh="medium"))
        session.add(Inspector(name=NAME, role="lead"))
    lead = Actor(NAME)
    for cid in (1, 2):
        cases.record_answer(db, cid, "2.1.1", "yes", actor=lead, expected_version=1)
    # A complete blind QA rating by someone else (QA independence), so `D` shows both.
    rate_qa(db, 1, "QA [/b] Person", {"2.1.1": "no"})
    return db


def _text(widget: object) -> str:
    if isinstance(widget, DataTable):
        return "\n".join(" ".join(str(c) for c in widget.get_row_at(r))
                         for r in range(widget.row_count))
    assert isinstance(widget, Static)
    return str(widget.render())


async def test_every_screen_shows_hostile_text_literally(hostile_db: Database) -> None:
    app = IomAuditApp(hostile_db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        shown = " ".join(_text(w) for w in dashboard.query(Static))
        assert NAME in shown and SITE in shown and INSPECTION in shown

        screen = await open_first_case(app, pilot)  # the case list, then the case
        listed = app.screen_stack[-2].query_one("#cases", DataTable)
        assert REF in _text(listed) and SITE in _text(listed)
        assert REF in _text(screen.query_one("#case-status", Static))

        await pilot.press("D")  # primary and QA side by side
        await pilot.pause()
        assert isinstance(app.screen, DisagreementsScreen)
        assert REF in _text(app.screen.query_one("#qa-title", Static))
        await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("m")  # the comparison, and the cases behind a cell
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ComparisonScreen)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        behind = _text(app.screen.query_one("#behind", DataTable))
        assert REF in behind and SITE in behind and INSPECTION in behind
    assert app.return_code in (None, 0)
