"""Set-up shared by the QA-independence attacks (tests/security/test_qa_*.py).

Bo Rater gives the primary rating of cases C0000-C0005 (every key question, and on
C0000 a note on each); the QA attacks then come from Bo himself or from Ann Inspector.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from textual.app import App
from textual.notifications import SeverityLevel

import tui.app
from audit import cases
from audit.permissions import Actor
from audit.store.engine import Database
from tests.helpers import KEY_QUESTIONS
from tests.tui.conftest import INSPECTOR, build_db, case_id, fill_inspection
from tui.app import IomAuditApp

PRIMARY_RATER = "Bo Rater"
QA_RATER = INSPECTOR  # Ann Inspector: the name the app runs under in these tests
LEAD = "Lee Lead"
NOTE_MARK = "PRIMARY-NOTE"  # in every primary note: must never reach a blind screen
SIZE = (120, 40)


def primary_value(case_index: int, qid: str) -> str:
    """Bo's primary answer: a pattern of yes and no."""
    return "no" if (case_index + KEY_QUESTIONS.index(qid)) % 3 == 0 else "yes"


def rate_primary(db: Database, ref: str, index: int, *, who: str = PRIMARY_RATER,
                 notes: bool = False) -> int:
    """Bo's primary answers to every key question of one case; the case's version."""
    cid = case_id(db, ref)
    actor = Actor(who)
    version = cases.load_case(db, cid, actor=actor).version
    for qid in KEY_QUESTIONS:
        version = cases.record_answer(db, cid, qid, primary_value(index, qid), actor=actor,
                                      expected_version=version).version
        if notes:
            version = cases.save_note(db, cid, qid, f"{NOTE_MARK} {qid}: seen on file",
                                      actor=actor, expected_version=version).version
    return version


def rated_db(path: Path | str) -> Database:
    """Twelve cases (build_db); Bo's primary rating of C0000-C0005, notes on C0000."""
    db = build_db(path)
    rate_six(db)
    return db


def fill_rated(db: Database) -> None:
    """`rated_db`'s cases and ratings, written into an empty migrated database (for the
    `prepare` fixture: built once, copied per test)."""
    fill_inspection(db)
    rate_six(db)


def rate_six(db: Database) -> None:
    """Bo's primary rating of C0000-C0005, notes on C0000."""
    for i in range(6):
        rate_primary(db, f"C{i:04d}", i, notes=i == 0)


class RecordingApp(IomAuditApp):
    """The app, keeping every notification it raises (toasts expire after seconds)."""

    # The app's stylesheets, found from its folder, not beside this file.
    CSS_PATH = [str(Path(tui.app.__file__).parent / p) for p in (
        IomAuditApp.CSS_PATH if isinstance(IomAuditApp.CSS_PATH, list)
        else [IomAuditApp.CSS_PATH])]

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.raised: list[str] = []

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.raised.append(message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


def screen_text(app: App[None]) -> str:
    """Everything the terminal shows: the screenshot's text, and the notifications raised
    (toasts are drawn on a layer the headless screenshot leaves out, and expire)."""
    svg = app.export_screenshot()
    text = html.unescape("".join(re.findall(r">([^<>]*)</text>", svg))).replace("\xa0", " ")
    raised = app.raised if isinstance(app, RecordingApp) else []
    return "\n".join([text, *raised])
