"""Red team, input: huge notes, and notes holding NUL or terminal escapes.

Why: a 50 MB note was imported and froze the app for more than 75 s. Notes are now
capped (audit/text_rules.py: 20,000 characters) in a ratings file (the row named) and
in the app's note editor (save_note and its drafts refuse); one stored earlier by an
older version is shown shortened and never blocks the app.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.cases import save_note
from audit.drafts import save_draft
from audit.errors import UsageError
from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.store.engine import Database
from audit.text_rules import NOTE_MAX
from tests.audit.imports.helpers import new_inspection, write_csv
from tests.helpers import make_inspection

WHO = Actor("Ann Lee")
RATING_HEADER = ["case_ref", "question_id", "answer", "note"]


def _notes(db: Database) -> list[str | None]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT note FROM answer ORDER BY id")).scalars())


@pytest.fixture
def one_case(sqlite_db: Database, tmp_path: Path) -> Database:
    new_inspection(sqlite_db)
    import_cases(sqlite_db, write_csv(tmp_path / "c.csv", [["case_ref", "iom"], ["C1", "yes"]]),
                 actor=WHO)
    return sqlite_db


def test_a_50_mb_note_is_refused_fast_with_its_row(one_case: Database,
                                                   tmp_path: Path) -> None:
    path = write_csv(tmp_path / "huge.csv", [RATING_HEADER, ["C1", "2.1.1", "yes", "short"],
                                             ["C1", "2.1.2", "no", "x" * 50_000_000]])
    start = time.monotonic()
    with pytest.raises(ImportRejected) as refused:
        import_ratings(one_case, path, actor=WHO)
    seconds = time.monotonic() - start
    (line,) = refused.value.lines
    assert "huge.csv:3: column note:" in line
    assert "50,000,000 characters long" in line and f"at most {NOTE_MAX:,}" in line
    assert len(line) < 400  # the message quotes the start of the note, not all of it
    assert _notes(one_case) == []
    print(f"50 MB note refused in {seconds:.1f} s")  # information; the bound is generous
    assert seconds < 60


@pytest.mark.parametrize(("note", "reason"), [
    ("a\x00b", "\\x00"), ("\x1b[2J\x1b[31mforged", "\\x1b"), ("x" * (NOTE_MAX + 1), "at most"),
])
def test_bad_notes_in_a_ratings_file_are_refused(one_case: Database, tmp_path: Path,
                                                 note: str, reason: str) -> None:
    path = write_csv(tmp_path / "r.csv", [RATING_HEADER, ["C1", "2.1.1", "yes", note]])
    with pytest.raises(ImportRejected) as refused:
        import_ratings(one_case, path, actor=WHO)
    (line,) = refused.value.lines
    assert "r.csv:2: column note:" in line and reason in line
    assert _notes(one_case) == []


def test_notes_at_the_cap_with_lines_and_tabs_are_kept(one_case: Database,
                                                       tmp_path: Path) -> None:
    prose = "line one\n\tindented\r\nline three "
    full = ("y" * NOTE_MAX)
    path = write_csv(tmp_path / "r.csv", [RATING_HEADER, ["C1", "2.1.1", "yes", prose],
                                          ["C1", "2.1.2", "no", full]])
    import_ratings(one_case, path, actor=WHO)
    assert _notes(one_case) == [prose, full]


def test_the_editor_refuses_a_note_or_draft_past_the_cap_or_with_a_nul(
        sqlite_db: Database) -> None:
    case_id = make_inspection(sqlite_db, cases=1)[0]
    for bad in ("x" * (NOTE_MAX + 1), "before\x00after"):
        with pytest.raises(UsageError):
            save_note(sqlite_db, case_id, "2.1.1", bad, actor=WHO, expected_version=1)
        with pytest.raises(UsageError):
            save_draft(sqlite_db, case_id, "2.1.1", bad, actor=WHO)
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM answer")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM note_draft")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM audit_event WHERE entity = 'note'")
                            ).scalar_one() == 0
    save_note(sqlite_db, case_id, "2.1.1", "z" * NOTE_MAX, actor=WHO, expected_version=1)
    assert _notes(sqlite_db) == ["z" * NOTE_MAX]
