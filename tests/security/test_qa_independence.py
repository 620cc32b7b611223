"""Attack: the primary rater opens the blind QA of their own case, then moderates their
own disagreements (issue 15, "Blind QA is neither independent nor blind").

Every way in - the use cases, the app's keys and palette, a ratings file through the
library and the CLI, a PostgreSQL login - is refused in the same words, and nothing is
stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.command import CommandPalette

from audit import cases
from audit.errors import PermissionDenied
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from audit.views.qa import blind_case
from cli.app import run
from tests.databases import Prepare
from tests.helpers import KEY_QUESTIONS, answers, rate_qa
from tests.security.pg_grants import documented_login
from tests.security.qa_fixtures import (
    LEAD,
    PRIMARY_RATER,
    QA_RATER,
    SIZE,
    RecordingApp,
    fill_rated,
    rate_primary,
    screen_text,
)
from tests.tui.conftest import build_db, case_id
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.case_list import CaseListScreen
from tui.screens.disagreements import DisagreementsScreen

QA_REFUSAL = (f"{PRIMARY_RATER} gave or changed primary answers of case C0000: its blind QA "
              "rating must come from someone else")
MODERATION_REFUSAL = (f"{PRIMARY_RATER} gave or changed primary answers of case C0000: its "
                      "moderated answers must come from someone else")


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOM_AUDIT_SETTINGS", str(tmp_path / "settings.json"))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", PRIMARY_RATER)  # the app runs as Bo


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, prepare: Prepare) -> Database:
    """Bo's primary ratings, on SQLite and on the real PostgreSQL server (a copy of the
    ratings made once through the use cases)."""
    return prepare(request.param, "qa-rated", fill_rated)[0]


@pytest.fixture
def sqlite_rated(prepare: Prepare) -> Database:
    return prepare("sqlite", "qa-rated", fill_rated)[0]


def _version(db: Database, cid: int, reader: str = LEAD) -> int:
    return cases.load_case(db, cid, actor=Actor(reader)).version


def _events(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT COUNT(*) FROM audit_event")).scalar_one())


# ------------------------------------------------------------------------ use cases

def test_primary_rater_cannot_open_or_record_the_blind_qa_of_their_case(db: Database) -> None:
    cid = case_id(db, "C0000")
    before, events = answers(db), _events(db)
    bo = Actor(PRIMARY_RATER)
    with pytest.raises(PermissionDenied) as opened:
        blind_case(db, cid, actor=bo)
    assert str(opened.value) == QA_REFUSAL
    with pytest.raises(PermissionDenied) as recorded:
        cases.record_answer(db, cid, "2.1.1", "yes", actor=bo, rater="qa",
                            expected_version=_version(db, cid))
    assert str(recorded.value) == QA_REFUSAL
    with pytest.raises(PermissionDenied, match="its blind QA rating must come from someone"):
        cases.save_note(db, cid, "2.1.1", "my own QA", actor=bo, rater="qa",
                        expected_version=_version(db, cid))
    assert answers(db) == before and _events(db) == events


def test_primary_rater_cannot_moderate_their_case(db: Database) -> None:
    cid = case_id(db, "C0000")
    rate_qa(db, cid, QA_RATER, {"2.1.1": "yes"})  # Ann's QA disagrees with Bo on 2.1.1
    before, events = answers(db), _events(db)
    with pytest.raises(PermissionDenied) as refused:
        cases.record_answer(db, cid, "2.1.1", "no", actor=Actor(PRIMARY_RATER),
                            rater="moderated", expected_version=_version(db, cid))
    assert str(refused.value) == MODERATION_REFUSAL
    assert answers(db) == before and _events(db) == events
    # Someone independent of the primary rating may.
    cases.record_answer(db, cid, "2.1.1", "no", actor=Actor(LEAD), rater="moderated",
                        expected_version=_version(db, cid))
    assert answers(db)[(cid, "2.1.1", "moderated")] == ("no", None)


def test_changing_one_primary_answer_makes_you_a_primary_rater(db: Database) -> None:
    """Named on no answer any more, but the trail shows Cy changing (then clearing) one."""
    cid = case_id(db, "C0006")
    cy = Actor("Cy Changer")
    v = cases.record_answer(db, cid, "2.1.1", "yes", actor=cy,
                            expected_version=_version(db, cid)).version
    cases.record_answer(db, cid, "2.1.1", None, actor=cy, expected_version=v)
    assert not [k for k in answers(db) if k[0] == cid]
    with pytest.raises(PermissionDenied, match="Cy Changer gave or changed primary answers "
                                               "of case C0006"):
        cases.record_answer(db, cid, "2.1.1", "no", actor=cy, rater="qa",
                            expected_version=_version(db, cid))


def test_qa_rater_or_moderator_cannot_then_give_primary_answers(db: Database) -> None:
    """The other order: a QA rater (or moderator) who then rewrites the primary rating."""
    cid = case_id(db, "C0001")
    rate_qa(db, cid, QA_RATER)
    # A third answer (primary and QA said yes): reconciliation wants a comment.
    cases.moderate(db, cid, "2.1.2", "no", comment="moderation meeting: not engaged",
                   actor=Actor(LEAD), expected_version=_version(db, cid))
    before = answers(db)
    with pytest.raises(PermissionDenied, match=f"{QA_RATER} rated the blind QA of case "
                                               "C0001: its primary answers must come"):
        cases.record_answer(db, cid, "2.1.1", "no", actor=Actor(QA_RATER),
                            expected_version=_version(db, cid), seen="yes")
    with pytest.raises(PermissionDenied, match=f"{LEAD} moderated case C0001: its primary"):
        cases.save_note(db, cid, "2.1.1", "fixed it", actor=Actor(LEAD),
                        expected_version=_version(db, cid))
    assert answers(db) == before


# ------------------------------------------------------------------------ ratings files

def _file(tmp_path: Path, body: str, name: str = "ratings.csv") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


def test_import_refuses_qa_rows_by_the_primary_rater(db: Database, tmp_path: Path) -> None:
    before, events = answers(db), _events(db)
    path = _file(tmp_path, "case_ref,question_id,answer,rater,inspector\n"
                           "C0001,2.1.1,yes,qa,Ann Inspector\n"
                           f"C0000,2.1.1,yes,qa,{PRIMARY_RATER}\n"
                           f"C0000,2.1.2,no,moderated,{PRIMARY_RATER}\n")
    with pytest.raises(ImportRejected) as rejected:
        import_ratings(db, path, actor=Actor(LEAD))
    lines = rejected.value.lines
    assert len(lines) == 3
    assert lines[0].endswith(f":3: column inspector: value '{PRIMARY_RATER}': {QA_REFUSAL}")
    assert lines[1].endswith(f":4: column inspector: value '{PRIMARY_RATER}': "
                             f"{MODERATION_REFUSAL}")
    # And a moderated answer before any blind QA reconciles nothing (audit.qa_rules).
    assert lines[2].endswith(":4: column rater: value 'moderated': case C0000 has no blind "
                             "QA rating yet: there is nothing to compare")
    assert answers(db) == before and _events(db) == events  # one transaction: nothing


def test_import_refuses_a_file_rating_one_case_twice_by_one_person(
        db: Database, tmp_path: Path) -> None:
    """Both ratings in one file, by one person: the QA row is refused (case C0006 has no
    stored rating at all)."""
    before = answers(db)
    path = _file(tmp_path, "case_ref,question_id,answer,rater,inspector\n"
                           "C0006,2.1.1,yes,primary,Dee Double\n"
                           "C0006,2.1.1,no,qa,Dee Double\n")
    with pytest.raises(ImportRejected) as rejected:
        import_ratings(db, path, actor=Actor(LEAD))
    assert len(rejected.value.lines) == 1
    assert rejected.value.lines[0].endswith(
        ":3: column inspector: value 'Dee Double': Dee Double gave or changed primary answers "
        "of case C0006: its blind QA rating must come from someone else")
    assert answers(db) == before


def test_import_refuses_qa_rows_named_by_option_and_primary_rows_by_the_qa_rater(
        db: Database, tmp_path: Path) -> None:
    cid = case_id(db, "C0001")
    rate_qa(db, cid, QA_RATER)
    before = answers(db)
    qa_file = _file(tmp_path, "case_ref,question_id,answer\nC0000,2.1.1,yes\n", "qa.csv")
    with pytest.raises(ImportRejected) as rejected:
        import_ratings(db, qa_file, actor=Actor(LEAD), rater="qa", inspector=PRIMARY_RATER)
    assert rejected.value.lines[0].endswith(f":2: column inspector: value '{PRIMARY_RATER}': "
                                            f"{QA_REFUSAL}")
    primary_file = _file(tmp_path, "case_ref,question_id,answer,inspector\n"
                                   f"C0001,2.1.1,no,{QA_RATER}\n", "primary.csv")
    with pytest.raises(ImportRejected) as rejected:
        import_ratings(db, primary_file, actor=Actor(LEAD))
    assert rejected.value.lines[0].endswith(
        f"{QA_RATER} rated the blind QA of case C0001: its primary answers must come from "
        "someone else")
    assert answers(db) == before


def test_import_by_a_lead_of_someone_elses_qa_is_accepted(db: Database, tmp_path: Path) -> None:
    """The control: the same file naming an independent rater goes in."""
    path = _file(tmp_path, "case_ref,question_id,answer,rater,inspector\n"
                           f"C0000,2.1.1,yes,qa,{QA_RATER}\n")
    assert import_ratings(db, path, actor=Actor(LEAD)).result.created == 1


def test_cli_import_refuses_the_primary_rater_in_the_same_words(
        sqlite_rated: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", PRIMARY_RATER)
    before = answers(sqlite_rated)
    path = _file(tmp_path, "case_ref,question_id,answer\nC0000,2.1.1,yes\n", "qa.csv")
    code = run(["--db", str(sqlite_rated.location.path), "import", "ratings", str(path),
                "--rater", "qa"])
    err = capsys.readouterr().err
    assert code == 1
    assert QA_REFUSAL in err and "Traceback" not in err and "SELECT" not in err
    assert answers(sqlite_rated) == before


# ------------------------------------------------------------------------ the app (Pilot)

async def _case_list(app: IomAuditApp, pilot) -> CaseListScreen:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.press("l")
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(app.screen, CaseListScreen)
    return app.screen


async def test_app_refuses_the_primary_rater_the_blind_qa_of_their_case(
        app_env: None, sqlite_rated: Database) -> None:
    before = answers(sqlite_rated)
    app = RecordingApp(sqlite_rated)
    async with app.run_test(size=SIZE) as pilot:
        await _case_list(app, pilot)  # C0000, Bo's own case, is highlighted
        await pilot.press("Q")
        await pilot.pause()
        assert not any(isinstance(s, CaseScreen) for s in app.screen_stack)
        assert QA_REFUSAL in screen_text(app)
        # The command palette's "Blind QA" is the same action, and the same refusal.
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        for key in "Blind QA":
            await pilot.press(key if key != " " else "space")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert not any(isinstance(s, CaseScreen) for s in app.screen_stack)
        assert isinstance(app.screen, CaseListScreen)
        refused = [m for m in app.raised if m == QA_REFUSAL]
        assert len(refused) == 2  # the key, then the palette command
    assert answers(sqlite_rated) == before


async def test_app_refuses_the_primary_rater_moderating_their_disagreements(
        app_env: None, sqlite_rated: Database) -> None:
    cid = case_id(sqlite_rated, "C0000")
    rate_qa(sqlite_rated, cid, QA_RATER, {q: "yes" for q in KEY_QUESTIONS})
    before = answers(sqlite_rated)
    app = RecordingApp(sqlite_rated)
    async with app.run_test(size=SIZE) as pilot:
        await _case_list(app, pilot)
        await pilot.press("D")  # the QA is complete: Bo may see the comparison ...
        await pilot.pause()
        assert isinstance(app.screen, DisagreementsScreen)
        for key in ("p", "q", "y", "n"):  # ... but not moderate it
            await pilot.press(key)
            await pilot.pause()
            assert MODERATION_REFUSAL in screen_text(app)
    assert answers(sqlite_rated) == before
    assert not [k for k in answers(sqlite_rated) if k[2] == "moderated"]


# ------------------------------------------------------------------------ PostgreSQL login

@pytest.fixture
def bo_login(postgres_url: str) -> Iterator[tuple[str, str]]:
    """A real non-owner login with the grants docs/security.md gives: its name and URL."""
    with documented_login(postgres_url, "iom_qa") as made:
        yield made


@pytest.mark.postgres
def test_postgres_login_that_rated_primary_cannot_qa_or_moderate(
        bo_login: tuple[str, str], postgres_url: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    role, url = bo_login
    admin = build_db(postgres_url)
    admin.dispose()
    bo = open_database(url, migrate=False)
    try:
        cid = case_id(bo, "C0000")
        rate_primary(bo, "C0000", 0, who=role)  # Bo, logged in as himself, rates primary
        refusal = f"{role} gave or changed primary answers of case C0000"
        for rater in ("qa", "moderated"):
            with pytest.raises(PermissionDenied, match=refusal):
                cases.record_answer(bo, cid, "2.1.1", "yes", actor=Actor(role), rater=rater,
                                    expected_version=_version(bo, cid, role))
        with pytest.raises(PermissionDenied, match=refusal):
            blind_case(bo, cid, actor=Actor(role))
        before = answers(bo)
    finally:
        bo.dispose()
    path = _file(tmp_path, "case_ref,question_id,answer\nC0000,2.1.1,yes\n", "qa.csv")
    assert run(["--db", url, "import", "ratings", str(path), "--rater", "qa",
                "--inspector", role]) == 1
    assert refusal in capsys.readouterr().err
    check = open_database(url, migrate=False)
    try:
        assert answers(check) == before
    finally:
        check.dispose()
