"""Lost answers (issue 15, Why): there was no undo.

Now `u` in the case screen (shown in the footer) puts back what the person's last
answer or note change replaced, as a new 'undo' event followed by the change itself. It
is refused once anyone changed the case since, and nobody undoes someone else's change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit import cases
from audit.errors import UsageError
from audit.permissions import Actor
from audit.store.engine import Database
from tests.security.lifecycle_setup import INSPECTOR, OTHER, events, people, version
from tests.tui.conftest import INSPECTOR as APP_USER
from tests.tui.conftest import (
    build_db,
    case_id,
    isolated_settings,  # noqa: F401  (autouse fixture)
)
from tests.tui.test_rating_flow import SIZE, open_first_case
from tui.app import IomAuditApp

GATE, FOLLOW = "iom.deselected", "iom.exit_strategy"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = build_db(tmp_path / "t.db")
    people(database)
    yield database
    database.dispose()


def values(db: Database, cid: int) -> dict[str, str | None]:
    return cases.load_case(db, cid, actor=INSPECTOR).values()


def answer(db: Database, cid: int, qid: str, value: str | None,
           actor: Actor = INSPECTOR) -> None:
    cases.record_answer(db, cid, qid, value, actor=actor, expected_version=version(db, cid))


def undo(db: Database, cid: int, actor: Actor = INSPECTOR) -> cases.Change:
    return cases.undo_last_change(db, cid, actor=actor, expected_version=version(db, cid))


async def test_u_undoes_the_last_answer_change_and_the_footer_shows_it(db: Database) -> None:
    cid = case_id(db, "C0000")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        shown = {b.binding.key: b for b in app.active_bindings.values()}
        assert shown["u"].binding.show and shown["u"].enabled  # in the footer
        await pilot.press("y")
        await pilot.press("k")  # the answer moved on to the next question: back to it
        await pilot.press("n")
        await pilot.pause()
        assert screen.values["2.1.1"] == "no"
        await pilot.press("u")
        await pilot.pause()
        assert screen.values["2.1.1"] == "yes"
        await pilot.press("u")  # one step only: an undo is not undone in turn
        await pilot.pause()
        assert any("nothing to undo" in n.message for n in app._notifications)
    assert values(db, cid)["2.1.1"] == "yes"
    trail = [(e["who"], e["entity"], e["field"], e["old_value"], e["new_value"])
             for e in events(db, cid)][-2:]
    assert trail == [(APP_USER, "undo", "2.1.1", None, "answer"),
                     (APP_USER, "answer", "2.1.1", "no", "yes")]


def test_undo_is_refused_once_someone_changed_the_case(db: Database) -> None:
    cid = case_id(db, "C0001")
    answer(db, cid, "2.1.1", "yes")
    answer(db, cid, "2.1.2", "no", actor=OTHER)  # something else, by someone else
    with pytest.raises(UsageError, match="made by someone else"):
        undo(db, cid)
    with pytest.raises(UsageError, match="made by someone else"):
        undo(db, cid, actor=Actor("Third Person"))
    undo(db, cid, actor=OTHER)  # the other person may undo their own
    assert values(db, cid) == {"2.1.1": "yes"}
    answer(db, cid, "2.1.1", "no")
    cases.update_profile(db, cid, {"rosh": "high"}, actor=OTHER,
                         expected_version=version(db, cid))
    with pytest.raises(UsageError, match="has changed since"):
        undo(db, cid)
    assert values(db, cid) == {"2.1.1": "no"}


def test_undo_brings_back_what_the_change_hid_and_undoes_notes(db: Database) -> None:
    cid = case_id(db, "C0002")
    answer(db, cid, GATE, "yes")
    answer(db, cid, FOLLOW, "yes")
    answer(db, cid, GATE, "no")  # hides the follow-up
    assert FOLLOW not in values(db, cid)
    change = undo(db, cid)
    assert change.restored == (FOLLOW,) and values(db, cid)[FOLLOW] == "yes"
    cases.save_note(db, cid, FOLLOW, "typed in the wrong case", actor=INSPECTOR,
                    expected_version=version(db, cid))
    undo(db, cid)
    view = cases.load_case(db, cid, actor=INSPECTOR)
    assert view.answers["primary"][FOLLOW].note is None


def test_undo_of_a_locked_case_is_refused(db: Database) -> None:
    from tests.security.lifecycle_setup import LEAD, sign_off

    cid = case_id(db, "C0003")
    sign_off(db, cid)
    cases.set_status(db, cid, "locked", actor=LEAD, expected_version=version(db, cid))
    with pytest.raises(Exception, match="locked"):
        undo(db, cid)
