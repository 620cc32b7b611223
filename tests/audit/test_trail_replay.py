"""Replaying the audit trail from empty rebuilds the stored answers, notes and profiles.

A Hypothesis state machine makes random edits through `audit.cases` (answers given,
changed and cleared, notes saved and removed, profile changes that make answers stop
applying) and checks after every step that the trail alone explains what is stored.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from audit.cases import load_case, profile_of, record_answer, save_note, update_profile
from audit.errors import PermissionDenied, UsageError
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from audit.store.models import Answer, AuditEvent, Case
from audit.trail import as_text
from question_sets.profile import PROFILE
from tests.databases import fresh_sqlite
from tests.helpers import FREE_QUESTIONS, make_inspection

# Answers here gate other questions or depend on the profile, so edits cascade.
GATED = ("factor.drugs.linked", "factor.drugs.delivered", "iom.deselected",
         "iom.exit_strategy", "iom.recalled", "iom.partner_info")
QUESTIONS = FREE_QUESTIONS[:4] + GATED
PROFILE_CHANGES = {"case_type": ["post_release", "community", "non_statutory", None],
                   "rosh": ["low", "medium", "high", "very_high", None],
                   "iom": [True, False, None]}
PEOPLE = ("Ann", "Bob")


def replay(db: Database, profiles: dict[str, dict[str, str]] | None = None
           ) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, str]]]:
    """Answers, notes ('CASEREF/QID/RATER' -> text) and profiles rebuilt from events only.

    `profiles` are the cases' profiles as first created (a sample import, here made
    directly); every later change must be in the trail.
    """
    values: dict[str, str] = {}
    notes: dict[str, str] = {}
    profiles = {ref: dict(p) for ref, p in (profiles or {}).items()}
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    for e in rows:
        if e["entity"] in ("answer", "note"):
            target, key = (values if e["entity"] == "answer" else notes), e["key"]
        elif e["entity"] == "case" and e["field"] in PROFILE:
            target, key = profiles.setdefault(e["key"], {}), e["field"]
        else:
            continue
        # Each event must start from what the previous one left: no unlogged change.
        assert target.get(key) == e["old_value"], (key, target.get(key), e["old_value"])
        if e["new_value"] is None:
            target.pop(key, None)
        else:
            target[key] = e["new_value"]
    return values, notes, profiles


def stored(db: Database) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, Any]]]:
    with db.session() as session:
        refs = dict(session.execute(sa.select(Case.id, Case.case_ref)).all())
        values, notes = {}, {}
        for a in session.exec(sa.select(Answer)).scalars():  # type: ignore[call-overload]
            key = f"{refs[a.case_id]}/{a.question_id}/{a.rater}"
            if a.value is not None:
                values[key] = a.value
            if a.note is not None:
                notes[key] = a.note
        profiles = {c.case_ref: {k: as_text(v) for k, v in profile_of(c).items()
                                 if v is not None}
                    for c in session.exec(sa.select(Case)).scalars()}  # type: ignore[call-overload]
    return values, notes, profiles


_TEMPLATE: list[Path] = []


def _template() -> Path:
    """A migrated database with three cases, made once per test process."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="replay-template-"))
        db = fresh_sqlite(folder / "template.db")
        make_inspection(db, cases=3)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        _TEMPLATE.append(folder / "template.db")
    return _TEMPLATE[0]


def stored_ids(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(Case.id)).scalars())


class TrailMachine(RuleBasedStateMachine):
    """Random edits of three cases by two people; the trail must explain the result."""

    @initialize()
    def open(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        path = Path(self.dir.name) / "replay.db"
        shutil.copyfile(_template(), path)  # migrating a new file per example is slow
        self.db = open_database(str(path))
        self.cases = sorted(stored_ids(self.db))
        # The cases were created directly (as an import of a sample would); the trail
        # starts from their profiles as created.
        self.initial = stored(self.db)[2]
        self.edits = 0

    def teardown(self) -> None:
        if hasattr(self, "db"):
            self.db.dispose()
            self.dir.cleanup()

    def _version(self, case: int) -> int:
        return load_case(self.db, self.cases[case], actor=Actor("Reader")).version

    @rule(case=st.integers(0, 2), qid=st.sampled_from(QUESTIONS),
          value=st.sampled_from(["yes", "no", "na", None]), who=st.sampled_from(PEOPLE),
          rater=st.sampled_from(["primary", "qa"]))
    def answer(self, case: int, qid: str, value: str | None, who: str, rater: str) -> None:
        try:
            record_answer(self.db, self.cases[case], qid, value, actor=Actor(who), rater=rater,
                          expected_version=self._version(case))
            self.edits += 1
        except UsageError:
            pass  # not a valid answer here ('na' to a yes/no question, or does not apply)
        except PermissionDenied:
            pass  # one person both primary and QA rater (audit.qa_rules): nothing stored

    @rule(case=st.integers(0, 2), qid=st.sampled_from(FREE_QUESTIONS[:4]),
          # Any text a note may hold (audit/text_rules.py: no control character but
          # line breaks and tabs).
          note=st.one_of(st.none(), st.text(st.characters(exclude_categories=("Cc", "Cs"),
                                                          include_characters="\t\n\r"),
                                            max_size=30)),
          who=st.sampled_from(PEOPLE))
    def note(self, case: int, qid: str, note: str | None, who: str) -> None:
        try:
            save_note(self.db, self.cases[case], qid, note, actor=Actor(who),
                      expected_version=self._version(case))
        except PermissionDenied:
            return  # a QA rater's note on the primary rating (audit.qa_rules): refused
        self.edits += 1

    @rule(case=st.integers(0, 2), field=st.sampled_from(sorted(PROFILE_CHANGES)),
          data=st.data(), who=st.sampled_from(PEOPLE))
    def profile(self, case: int, field: str, data: st.DataObject, who: str) -> None:
        value = data.draw(st.sampled_from(PROFILE_CHANGES[field]))
        update_profile(self.db, self.cases[case], {field: value}, actor=Actor(who),
                       expected_version=self._version(case))
        self.edits += 1

    @invariant()
    def trail_rebuilds_everything(self) -> None:
        if not hasattr(self, "db"):
            return
        assert replay(self.db, self.initial) == stored(self.db)


# No health check suppressed: the rules' draws take a few ms a run; the time goes into
# the edits and the replay after every step, which too_slow does not count.
TrailMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=20, deadline=None)
test_replaying_the_trail_rebuilds_the_data = pytest.mark.slow(TrailMachine.TestCase)


def test_a_note_on_an_answer_removed_by_a_rule_is_in_the_trail(sqlite_db: Database) -> None:
    """The rule that removes an answer that stopped applying must log its note too."""
    case_id = make_inspection(sqlite_db, cases=1)[0]
    v = record_answer(sqlite_db, case_id, "iom.deselected", "yes", actor=Actor("Ann"),
                      expected_version=1).version
    v = record_answer(sqlite_db, case_id, "iom.exit_strategy", "yes", actor=Actor("Ann"),
                      expected_version=v).version
    v = save_note(sqlite_db, case_id, "iom.exit_strategy", "planned with police",
                  actor=Actor("Ann"), expected_version=v).version
    record_answer(sqlite_db, case_id, "iom.deselected", "no", actor=Actor("Ann"),
                  expected_version=v, seen="yes")
    values, notes, _ = replay(sqlite_db)
    now_values, now_notes, _ = stored(sqlite_db)
    assert values == now_values
    assert notes == now_notes
