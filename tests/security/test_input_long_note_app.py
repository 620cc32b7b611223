"""Red team, input: a 5 MB note already in the database (stored by an older version,
before notes were capped) must not freeze the app, nor be cut short by it.

The note is written by SQL, as an older version would have left it. The app opens the
case at once and shows the note's start with "… (N more characters)"; the note box is
not loaded with it, so leaving the question saves nothing and the stored note stays
whole. `history` shows it shortened too.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.widgets import Static

from audit.store.engine import Database
from audit.store.models import utcnow
from cli.app import run
from tests.tui.conftest import INSPECTOR, build_db, case_id
from tests.tui.test_rating_flow import SIZE, open_first_case
from tui.app import IomAuditApp
from tui.widgets.question_panel import NoteArea

BIG = 5_000_000
NOTE = ("An old note. " * (BIG // 13 + 1))[:BIG]


@pytest.fixture
def db_with_big_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", INSPECTOR)
    db = build_db(tmp_path / "t.db")
    cid = case_id(db, "C0000")
    with db.write() as conn:
        conn.execute(sa.text(
            "INSERT INTO answer (case_id, question_id, question_set_version, value, note, "
            "rater, updated_at) VALUES (:c, '2.1.1', '1.0', 'yes', :n, 'primary', :t)"),
            {"c": cid, "n": NOTE, "t": utcnow()})
        conn.execute(sa.text(
            "INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value, "
            "new_value) VALUES (:t, 'old version', 'note', :c, 'C0000/2.1.1/primary', "
            "'2.1.1', NULL, :n)"), {"c": cid, "n": NOTE, "t": utcnow()})
    return db


def _stored_note(db: Database) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT note FROM answer")).scalar_one())


async def test_a_5_mb_note_opens_at_once_shortened_and_stays_whole(
        db_with_big_note: Database) -> None:
    db = db_with_big_note
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        start = time.monotonic()
        screen = await open_first_case(app, pilot)
        await pilot.pause()
        seconds = time.monotonic() - start
        assert screen.current == "2.1.1"
        shown = str(screen.query_one("#q-note-long", Static).render())
        assert "… (" in shown and "more characters)" in shown
        assert f"({BIG - 600:,} more characters)" in shown
        assert len(shown) < 2_000
        assert screen.query_one(NoteArea).text == ""  # never loaded with 5 MB
        assert not screen.query_one(NoteArea).display
        await pilot.press("e")  # asks to edit it: told why not, and nothing happens
        await pilot.pause()
        assert not isinstance(app.focused, NoteArea)
        await pilot.press("j", "k", "escape")  # leave the question and the case
        await pilot.pause()
    print(f"case with a 5 MB note opened in {seconds:.1f} s")  # information only
    assert seconds < 60
    assert _stored_note(db) == NOTE  # not cut to what was shown


def test_history_shows_a_long_note_by_its_start(db_with_big_note: Database,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = str(db_with_big_note.location.path)
    assert run(["--db", path, "history", "C0000"]) == 0
    out = capsys.readouterr().out
    assert "more characters)" in out and len(out) < 20_000
    assert run(["--db", path, "history", "C0000", "--json", "-"]) == 0
    assert NOTE in capsys.readouterr().out  # the JSON keeps it whole
