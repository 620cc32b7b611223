"""The app's report screen takes the same path: links refused, asked before replacing,
recorded before the files appear.

Why (issue 15): "Exports and `report --xlsx` follow a planted symlink and overwrite its
target", "Existing files are overwritten silently" (the screen said "the files are
overwritten").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.store.engine import Database
from tests.security.disclosure_kit import events, leftovers, outside_file
from tests.tui.conftest import INSPECTOR, build_db
from tests.tui.test_rating_flow import SIZE
from tests.tui.test_workflows import fill_case, lead_app
from tui.app import IomAuditApp
from tui.screens.modals import ConfirmModal


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The app tests' small inspection; settings kept in the test's folder."""
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", INSPECTOR)
    database = build_db(tmp_path / "t.db")
    yield database
    database.dispose()


async def _build(app: IomAuditApp, answer: str | None = None) -> str:
    """Open the report screen, ctrl+b, answer the question if one comes; the log."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+b")
        await pilot.pause()
        if answer is not None:
            assert isinstance(app.screen, ConfirmModal)
            await pilot.press(answer)
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        return "\n".join(app.screen.query_one("#report-log").lines)  # type: ignore[attr-defined]


def _path(db: Database) -> Path:
    assert db.location.path is not None
    return db.location.path


async def test_the_report_screen_refuses_a_planted_link(db: Database, tmp_path: Path) -> None:
    await fill_case(db, "C0000")
    victim = outside_file(tmp_path)
    (tmp_path / "iom-audit-report.xlsx").symlink_to(victim)
    app = await lead_app(db)
    app.report_dir = tmp_path
    log = await _build(app, answer="y")  # even when the person says "replace"
    assert "symbolic link: refused" in log
    assert victim.read_text() == "precious: not yours to overwrite\n"
    assert not (tmp_path / "iom-audit-report.pdf").exists()
    assert events(_path(db), "report") == [] and leftovers(tmp_path) == []


async def test_the_report_screen_asks_before_replacing(db: Database, tmp_path: Path) -> None:
    await fill_case(db, "C0000")
    pdf = tmp_path / "iom-audit-report.pdf"
    pdf.write_text("my draft\n")
    app = await lead_app(db)
    app.report_dir = tmp_path
    await _build(app, answer="n")
    assert pdf.read_text() == "my draft\n" and not (tmp_path / "iom-audit-report.xlsx").exists()
    assert events(_path(db), "report") == []
    app = IomAuditApp(db)
    app.report_dir = tmp_path
    log = await _build(app, answer="y")
    assert pdf.read_bytes().startswith(b"%PDF"), log
    (who, key, field, value), = events(_path(db), "report")
    assert who == "Ann Inspector" and key == str(pdf) and field == "pdf,xlsx"
    assert "iom-audit-report.xlsx" in value and leftovers(tmp_path) == []
