"""Two real app sessions on one database at the same time (issue 9).

Each session is a whole running app (its own `Database` opened from the same file or
PostgreSQL URL), both driven by their pilots in one event loop. Both open the same case;
one saves, then the other, which read the case before that save, saves something else
in the same place: the second is shown the conflict dialog, nothing is overwritten until
it chooses, and whichever it chooses the audit trail holds every stored change.
Answers, notes and profile fields, on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual.widgets import Select

from audit.store.engine import Database, open_database
from audit.store.models import Answer, AuditEvent, Case
from audit.trail import as_text
from tests.tui.conftest import INSPECTOR, build_db, case_id
from tests.tui.test_rating_flow import SIZE, open_first_case
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.modals import ConflictModal
from tui.widgets.question_panel import NoteArea

OTHER = "Bo Inspector"
CONFLICTING_SAVES = 9  # each must be shown as a conflict
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(backend, URL) of a database holding the tui tests' inspection, schema migrated."""
    if request.param == "sqlite":
        url = str(tmp_path / "shared.db")
    else:
        url = request.getfixturevalue("postgres_url")  # a fresh database, dropped after
    build_db(url).dispose()
    yield request.param, url


class Session:
    """One running app: its own Database, its pilot, its case screen.

    Two apps run in one event loop, and a widget finds its app through a context
    variable: whatever the test does to a session's widgets directly, it does inside
    that session's app context.
    """

    def __init__(self, app: IomAuditApp, pilot: Any, screen: CaseScreen) -> None:
        self.app, self.pilot, self.screen = app, pilot, screen
        # Each step answers the question it went to, then acts on it again: the cursor
        # stays put (moving on after an answer is tested in test_rating_keys.py).
        app.settings = app.settings.with_(auto_advance=False)
        assert app.workspace is not None
        self.who = app.workspace.who
        self.ids = [q.id for q in app.workspace.qs.questions]

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.pause()

    async def goto(self, qid: str) -> None:
        for _ in range(len(self.ids)):
            if self.screen.current == qid:
                return
            key = "j" if self.ids.index(qid) > self.ids.index(self.screen.current) else "k"
            await self.press(key)
        assert self.screen.current == qid

    async def type_note(self, text: str) -> None:
        await self.press("e")
        assert isinstance(self.app.focused, NoteArea)
        await self.press(*[("space" if c == " " else c) for c in text])
        await self.press("escape")  # leaving the box saves the note

    async def set_profile(self, code: str, value: str) -> None:
        """Choose a value in the profile form, as picking it from the list does (the form
        is built when entered: `p` first, as the inspector does)."""
        await self.press("p")
        with self.app._context():
            self.screen.query_one(f"#p-{code}", Select).value = value
        await self.pilot.pause()

    def profile_shown(self, code: str) -> object:
        return self.screen.query_one(f"#p-{code}", Select).value

    def note_box(self) -> str:
        return self.screen.query_one(NoteArea).text


def answer_row(db: Database, cid: int, qid: str) -> dict[str, Any] | None:
    table = Answer.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(
            table.c.case_id == cid, table.c.question_id == qid,
            table.c.rater == "primary")).mappings().first()
    return dict(row) if row else None


def stored_answer(db: Database, cid: int, qid: str) -> str | None:
    row = answer_row(db, cid, qid)
    return row["value"] if row else None


def stored_note(db: Database, cid: int, qid: str) -> str | None:
    row = answer_row(db, cid, qid)
    return row["note"] if row else None


def stored_profile(db: Database, cid: int, code: str) -> str | None:
    with db.engine.connect() as conn:
        value = conn.execute(sa.select(getattr(Case, code)).where(Case.id == cid)).scalar()
    return as_text(value)


def events(db: Database, cid: int) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """(who, entity, field, old, new) of the case's events, oldest first."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.who, table.c.entity, table.c.field,
                                      table.c.old_value, table.c.new_value)
                            .where(table.c.case_id == cid).order_by(table.c.id)).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def assert_trail_matches(db: Database, cid: int, initial: dict[str, str | None]) -> None:
    """Every stored change has its event: per item the events form an unbroken chain
    (each one's old value is the previous one's new value, from the initial value) that
    ends at what is stored now."""
    chains: dict[tuple[str, str | None], list[tuple[str | None, str | None]]] = {}
    for _who, entity, field, old, new in events(db, cid):
        chains.setdefault((entity, field), []).append((old, new))
    table = Answer.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        answers = {r["question_id"]: r for r in conn.execute(sa.select(table).where(
            table.c.case_id == cid, table.c.rater == "primary")).mappings()}
    for (entity, field), chain in chains.items():
        assert field is not None
        start = initial.get(field) if entity == "case" else None
        assert [old for old, _ in chain] == [start, *[new for _, new in chain[:-1]]], \
            f"{entity} {field}: a change without its event: {chain}"
        if entity == "answer":
            now = answers[field]["value"] if field in answers else None
        elif entity == "note":
            now = answers[field]["note"] if field in answers else None
        else:
            now = stored_profile(db, cid, field)
        assert chain[-1][1] == now, f"{entity} {field}: stored {now!r}, trail {chain}"
    for qid, row in answers.items():  # and nothing stored without an event
        if row["value"] is not None:
            assert ("answer", qid) in chains
        if row["note"] is not None:
            assert ("note", qid) in chains


@contextlib.asynccontextmanager
async def two_sessions(url: str, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sessions A (INSPECTOR) and B (OTHER), running together, both on case C0000."""
    db_a, db_b = open_database(url), open_database(url)
    app_a = IomAuditApp(db_a, settings_file=tmp_path / "a.json")
    app_b = IomAuditApp(db_b, settings_file=tmp_path / "b.json")
    try:
        async with app_a.run_test(size=SIZE) as pilot_a:
            for _ in range(100):  # A has read its identity before B's is set
                if app_a.workspace is not None:
                    break
                await pilot_a.pause(0.05)
            monkeypatch.setenv("IOM_AUDIT_INSPECTOR", OTHER)
            async with app_b.run_test(size=SIZE) as pilot_b:
                a = Session(app_a, pilot_a, await open_first_case(app_a, pilot_a))
                b = Session(app_b, pilot_b, await open_first_case(app_b, pilot_b))
                assert (a.who, b.who) == (INSPECTOR, OTHER)
                assert a.screen.case_id == b.screen.case_id
                yield a, b
    finally:
        db_a.dispose()
        db_b.dispose()


async def test_two_sessions_conflict_instead_of_losing_a_write(
        shared: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend, url = shared
    check = open_database(url)  # a third connection, for what is really stored
    cid = case_id(check, "C0000")
    initial = {code: stored_profile(check, cid, code)
               for code in ("provider", "gender", "status")}
    conflicts: dict[str, int] = {"answer": 0, "note": 0, "profile": 0}
    expected: list[tuple[str, str, str, str | None, str | None]] = []

    def dialog(session: Session, kind: str, mine: str | None, theirs: str | None) -> None:
        """The session shows the conflict dialog with both values."""
        modal = session.app.screen
        assert isinstance(modal, ConflictModal), f"no conflict shown: {modal}"
        assert (modal.mine, modal.theirs) == (mine, theirs)
        conflicts[kind] += 1

    try:
        async with two_sessions(url, tmp_path, monkeypatch) as (a, b):
            # 1. Answers, keep mine: A says yes, then B (who read the case before) no.
            await a.press("y")
            assert stored_answer(check, cid, "2.1.1") == "yes"
            expected.append((INSPECTOR, "answer", "2.1.1", None, "yes"))
            await b.press("n")
            dialog(b, "answer", "no", "yes")
            assert stored_answer(check, cid, "2.1.1") == "yes"  # nothing overwritten yet
            await b.press("m")
            assert isinstance(b.app.screen, CaseScreen)
            assert stored_answer(check, cid, "2.1.1") == "no"
            assert b.screen.values["2.1.1"] == "no"
            expected.append((OTHER, "answer", "2.1.1", "yes", "no"))

            # 2. Answers, take theirs. A is stale now, but 2.1.2 moved under nobody: its
            # save goes through on top of B's and A is shown B's answer to 2.1.1.
            await a.goto("2.1.2")
            await b.goto("2.1.2")
            await a.press("y")
            assert isinstance(a.app.screen, CaseScreen)
            assert a.screen.values == {"2.1.1": "no", "2.1.2": "yes"}
            expected.append((INSPECTOR, "answer", "2.1.2", None, "yes"))
            await b.press("n")
            dialog(b, "answer", "no", "yes")
            assert stored_answer(check, cid, "2.1.2") == "yes"
            await b.press("t")
            assert isinstance(b.app.screen, CaseScreen)
            assert stored_answer(check, cid, "2.1.2") == "yes"
            assert b.screen.values["2.1.2"] == "yes"  # theirs, shown in B
            assert "2.1.2" not in b.screen.last_saved  # B was never told "saved"

            # 3. The other way round: B answers first, A (stale) then differs.
            await a.goto("2.1.3")
            await b.goto("2.1.3")
            await b.press("y")
            expected.append((OTHER, "answer", "2.1.3", None, "yes"))
            await a.press("n")
            dialog(a, "answer", "no", "yes")
            assert stored_answer(check, cid, "2.1.3") == "yes"
            await a.press("m")
            assert stored_answer(check, cid, "2.1.3") == "no"
            expected.append((INSPECTOR, "answer", "2.1.3", "yes", "no"))

            # 4. A changes it again while B's dialog is open: keeping B's meets a second
            # conflict, with A's newer value, instead of overwriting it unseen.
            q = "factor.attitudes.linked"
            await a.goto(q)
            await b.goto(q)
            await a.press("y")
            expected.append((INSPECTOR, "answer", q, None, "yes"))
            await b.press("n")
            dialog(b, "answer", "no", "yes")
            await a.press("x")  # A clears it
            assert stored_answer(check, cid, q) is None
            expected.append((INSPECTOR, "answer", q, "yes", None))
            await b.press("m")
            dialog(b, "answer", "no", None)
            assert stored_answer(check, cid, q) is None
            await b.press("m")
            assert stored_answer(check, cid, q) == "no"
            expected.append((OTHER, "answer", q, None, "no"))

            # 5. Notes, keep mine: both write the note of 2.1.1.
            await a.goto("2.1.1")
            await b.goto("2.1.1")
            await a.type_note("by ann")
            assert stored_note(check, cid, "2.1.1") == "by ann"
            expected.append((INSPECTOR, "note", "2.1.1", None, "by ann"))
            await b.type_note("by bo")
            dialog(b, "note", "by bo", "by ann")
            assert stored_note(check, cid, "2.1.1") == "by ann"
            await b.press("m")
            assert stored_note(check, cid, "2.1.1") == "by bo"
            expected.append((OTHER, "note", "2.1.1", "by ann", "by bo"))

            # 6. Notes, take theirs (2.1.2): B's box then shows A's note, and moving on
            # must not save B's discarded text after all.
            await a.goto("2.1.2")
            await b.goto("2.1.2")
            await a.type_note("ann 2")
            expected.append((INSPECTOR, "note", "2.1.2", None, "ann 2"))
            await b.type_note("bo 2")
            dialog(b, "note", "bo 2", "ann 2")
            assert stored_note(check, cid, "2.1.2") == "ann 2"
            await b.press("t")
            assert isinstance(b.app.screen, CaseScreen)
            assert stored_note(check, cid, "2.1.2") == "ann 2"
            assert b.screen.notes["2.1.2"] == "ann 2"
            assert b.note_box() == "ann 2"
            await b.press("j")
            await b.press("k")
            assert stored_note(check, cid, "2.1.2") == "ann 2"

            # 7. A profile field, keep mine.
            await a.set_profile("provider", "nps")
            assert stored_profile(check, cid, "provider") == "nps"
            expected.append((INSPECTOR, "case", "provider", initial["provider"], "nps"))
            await b.set_profile("provider", "crc")
            dialog(b, "profile", "crc", "nps")
            assert stored_profile(check, cid, "provider") == "nps"
            await b.press("m")
            assert stored_profile(check, cid, "provider") == "crc"
            expected.append((OTHER, "case", "provider", "nps", "crc"))

            # 8. A profile field, take theirs: B's form shows A's value.
            await a.set_profile("gender", "female")
            expected.append((INSPECTOR, "case", "gender", initial["gender"], "female"))
            await b.set_profile("gender", "male")
            dialog(b, "profile", "male", "female")
            assert stored_profile(check, cid, "gender") == "female"
            await b.press("t")
            assert stored_profile(check, cid, "gender") == "female"
            assert b.profile_shown("gender") == "female"
            assert b.screen.view is not None and b.screen.view.profile["gender"] == "female"

        # No lost write: exactly the saves made, each with its event, in order.
        edits = [e for e in events(check, cid) if e[2] != "status"]
        assert edits == expected
        assert_trail_matches(check, cid, initial)
    finally:
        check.dispose()
    total = sum(conflicts.values())
    assert total == CONFLICTING_SAVES
    print(f"two-app conflicts: {backend}: {total} detected of {CONFLICTING_SAVES} "
          "conflicting saves "
          f"(answers {conflicts['answer']}, notes {conflicts['note']}, "
          f"profile {conflicts['profile']}); {len(expected)} stored changes, every one "
          "in the trail, none lost")
