"""The comparison view grouped by site: a column names the pairs that differ (Holm within
the question), and the cases behind a site's cell are that site's."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from textual.widgets import DataTable

from audit.formatting import format_p
from audit.store.engine import Database
from audit.store.models import Answer, Case
from question_sets.loader import load_set
from stats import compare_groups
from tests.tui.conftest import build_db
from tests.tui.test_rating_flow import SIZE
from tui.app import IomAuditApp
from tui.screens.comparison import ComparisonScreen

# Leeds, Sheffield and York (conftest.build_db puts case i at site i % 3): yes in
# 27, 15 and 3 of 30 cases on question 2.1.1.
YES_OF_30 = {"Leeds": 27, "Sheffield": 15, "York": 3}


def _rated(path: Path) -> Database:
    db = build_db(path, cases=90)
    version = load_set("iom-thematic-2019").version
    seen = dict.fromkeys(YES_OF_30, 0)
    with db.write_session() as session:
        for case in session.exec(select(Case).order_by(Case.case_ref)).all():
            site = ("Leeds", "Sheffield", "York")[int(case.case_ref[1:]) % 3]
            value = "yes" if seen[site] < YES_OF_30[site] else "no"
            seen[site] += 1
            session.add(Answer(case_id=case.id, question_id="2.1.1",
                               question_set_version=version, value=value))
    return db


async def test_group_by_site_shows_the_pairs_that_differ(tmp_path: Path) -> None:
    db = _rated(tmp_path / "sites.db")
    import pandas as pd

    frame = pd.DataFrame({"g": [s for s in YES_OF_30 for _ in range(30)],
                          "q": [v for s, y in YES_OF_30.items()
                                for v in ["yes"] * y + ["no"] * (30 - y)]})
    expected = compare_groups(frame, "g", ["q"], levels=tuple(YES_OF_30),
                              independent_effect=False).row("q")
    app = IomAuditApp(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("m")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ComparisonScreen)
            await pilot.press("g")  # IOM -> site
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen.by == "site" and screen.comparison.levels == tuple(YES_OF_30)
            table = screen.query_one("#comparison-table", DataTable)
            assert str(table.get_cell("2.1.1", "level:Leeds")).startswith("90% (27/30)")
            pairs = str(table.get_cell("2.1.1", "pairs"))
            for pair in expected.pairwise:
                high, low = (pair.a, pair.b) if pair.diff_pp > 0 else (pair.b, pair.a)
                phrase = f"{high} > {low} (p adj. {format_p(pair.p_adjusted)})"
                assert (phrase in pairs) is bool(pair.significant), phrase
            assert "Leeds > York" in pairs
            # The cases behind York's cell are York's.
            table.cursor_coordinate = table.cursor_coordinate._replace(
                row=table.get_row_index("2.1.1"), column=3)
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert len(screen.behind) == 30 and {c.site for c in screen.behind} == {"York"}
            await pilot.press("escape", "g", "g", "g")  # site -> provider -> type -> IOM
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen.by == "iom"
            assert str(table.get_cell("2.1.1", "iom")).endswith("/45)")
    finally:
        db.dispose()


async def test_the_cases_behind_a_cell_page_through_every_case(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell of 30 cases listed 12 at a time: the title says which and how many, `]` and
    `[` page, and every case is reached once (the list once stopped at 200 of 268)."""
    from audit.views import analysis

    monkeypatch.setattr(analysis, "BEHIND_PAGE", 12)
    db = _rated(tmp_path / "pages.db")
    app = IomAuditApp(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("m")
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ComparisonScreen)
            await pilot.press("g")  # by site
            await app.workers.wait_for_complete()
            await pilot.pause()
            table = screen.query_one("#comparison-table", DataTable)
            table.cursor_coordinate = table.cursor_coordinate._replace(
                row=table.get_row_index("2.1.1"), column=3)  # York
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            behind = screen.query_one("#behind", DataTable)
            seen = [c.case_ref for c in screen.behind]
            assert "cases 1–12 of 30" in str(behind.border_title)
            for first, last in ((13, 24), (25, 30)):
                await pilot.press("right_square_bracket")
                await app.workers.wait_for_complete()
                await pilot.pause()
                assert f"cases {first}–{last} of 30" in str(behind.border_title)
                seen += [c.case_ref for c in screen.behind]
            assert len(seen) == len(set(seen)) == 30
            await pilot.press("right_square_bracket")  # past the end: says so, stays
            await pilot.pause()
            assert any("No more cases" in n.message for n in app._notifications)
            await pilot.press("left_square_bracket")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "cases 13–24 of 30" in str(behind.border_title)
    finally:
        db.dispose()
