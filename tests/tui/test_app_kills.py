"""The real app, SIGKILLed again and again at random moments while a case is rated.

Each iteration starts `iom-audit` in a pseudo-terminal on a fresh copy of one prepared
database, opens the first case, presses a random run of answer, navigation and note
keys (a note is `e`, typed text, escape) and is killed after a random number of keys
and a random pause: between keys, in the middle of a save, while a note is typed.

What the app acknowledged is read off the screen: after every stored edit the case
screen's status line says `saved ✓ <question> = <value>` (an answer) or `saved ✓ note
on <question>` (a note). After each kill the file is intact, every acknowledged edit is
in the trail in the order acknowledged, the trail matches what is stored, and nothing
is stored without its event.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from question_sets import load_set
from tests.helpers import integrity
from tests.tui.conftest import INSPECTOR, build_db
from tests.tui.launcher import Launcher
from tests.tui.test_process import Terminal, app_environment

APP_KILLS = 30  # with the importer's 70 and the rater's 40 (tests/audit/test_crash.py)
SEED = 20250611
ANSWER_KEYS = "yynnjjjk"  # answers and navigation, weighted
NOTE_LETTERS = "bfghimorstuvw "  # bound to nothing on the case screen, should focus lag
STYLE = re.compile(rb"\x1b\[[0-9;]*m")
CONTROL = re.compile(rb"\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
# Complete only: what follows is the line's padding, not the end of what was written.
ACK = re.compile(r"saved ✓ (?:note on (\S+)|(\S+) = (\S+))(?= )")
QUESTIONS = {q.id for q in load_set("iom-thematic-2019").questions}
pytestmark = pytest.mark.slow

Ack = tuple[str, str, str | None]  # ("answer", question, value) or ("note", question, None)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tui tests' inspection, built once and checkpointed into a single file."""
    path = tmp_path_factory.mktemp("app-kills") / "prepared.db"
    build_db(path).dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def keystrokes(rng: random.Random) -> list[str]:
    """A random run of keys, a note's text one character per write."""
    writes: list[str] = []
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.15:
            text = "".join(rng.choice(NOTE_LETTERS) for _ in range(rng.randint(3, 12)))
            writes += ["e", *(text.strip() or "o"), "\x1b"]
        else:
            writes.append(rng.choice(ANSWER_KEYS))
    return writes


def screen_text(output: bytes) -> str:
    """What was drawn, styles dropped and each cursor move a line break."""
    return CONTROL.sub(b"\n", STYLE.sub(b"", output)).decode("utf-8", errors="replace")


def open_first_case(term: Terminal) -> int:
    """Dashboard, case list, first case: as Terminal.open_first_case, with short settles
    (start-up is most of an iteration). A key that shows nothing within 10 s is pressed
    once more (returns how many were); a second miss fails with what the screen shows."""
    term.expect("Per site")
    again = 0
    for key, shown in (("l", "C0000"), ("\r", "not answered")):
        term.settle(0.05)
        term.send(key)
        try:
            term.expect(shown, timeout=10)
        except AssertionError:
            again += 1
            term.send(key)
            try:
                term.expect(shown, timeout=20)
            except AssertionError:
                text = " ".join(screen_text(term.output[-6000:]).split())
                raise AssertionError(f"{shown!r} never appeared after {key!r}; the screen "
                                     f"last showed: {text[-1500:]}") from None
    return again


def kill(term: Terminal) -> None:
    """SIGKILL, reap, and read everything the app had written to the terminal."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(term.pid, signal.SIGKILL)
    term.reap()
    drain(term)
    os.close(term.fd)


def drain(term: Terminal) -> None:
    """Everything the killed app had written to the terminal."""
    while True:
        try:
            chunk = os.read(term.fd, 65536)
        except OSError:  # EIO: the other side is gone and nothing is left
            return
        if not chunk:
            return
        term.output += chunk


def acknowledged(output: bytes) -> list[Ack]:
    """The saves the status line acknowledged, in order (a repaint counted once).

    Styles are dropped and cursor moves become line breaks, so only text drawn side by
    side on one line is read together; a status line cut short (by a notification drawn
    over it, or by the kill) is no acknowledgement."""
    text = screen_text(output)
    acks: list[Ack] = []
    for note_q, answer_q, value in ACK.findall(text):
        ack: Ack = ("note", note_q, None) if note_q else ("answer", answer_q, value)
        if ack[1] not in QUESTIONS or value not in ("", "yes", "no"):
            continue  # y and n are the only answers pressed
        if not acks or acks[-1] != ack:
            acks.append(ack)
    return acks


def check(db: Path, acks: list[Ack], label: str) -> int:
    """The file is intact; acknowledged edits, trail and stored answers agree.

    Returns how many edits (answers and notes) the trail holds."""
    assert integrity(db) == "ok", label
    conn = sqlite3.connect(db)
    try:
        events: list[tuple[str, str, str | None, str | None]] = conn.execute(
            "SELECT entity, field, old_value, new_value FROM audit_event "
            "WHERE entity IN ('answer', 'note') ORDER BY id").fetchall()
        stored = {q: (v, n) for q, v, n in conn.execute(
            "SELECT question_id, value, note FROM answer WHERE rater = 'primary'")}
        whos = {w for (w,) in conn.execute("SELECT DISTINCT who FROM audit_event")}
        status = conn.execute('SELECT status FROM "case" WHERE case_ref = \'C0000\''
                              ).fetchone()[0]
        status_events = conn.execute(
            "SELECT new_value FROM audit_event WHERE field = 'status' ORDER BY id").fetchall()
    finally:
        conn.close()
    assert whos <= {INSPECTOR}, label

    # The trail matches what is stored: per answer and per note an unbroken chain of
    # events (each replaced what the previous one stored) ending at the stored value;
    # nothing stored without its events.
    chains: dict[tuple[str, str], list[tuple[str | None, str | None]]] = {}
    for entity, qid, old, new in events:
        chains.setdefault((entity, qid), []).append((old, new))
    for (entity, qid), chain in chains.items():
        assert [old for old, _ in chain] == [None, *[new for _, new in chain[:-1]]], \
            f"{label}: {entity} {qid} changed without an event: {chain}"
        now = stored.get(qid, (None, None))[0 if entity == "answer" else 1]
        assert chain[-1][1] == now, f"{label}: {entity} {qid} stored {now!r}, trail {chain}"
    for qid, (value, note) in stored.items():
        assert value is None or ("answer", qid) in chains, f"{label}: {qid} without event"
        assert note is None or ("note", qid) in chains, f"{label}: note {qid} without event"
    assert status == (status_events[-1][0] if status_events else "not_started"), label

    # Every acknowledged edit is in the trail, in the order acknowledged. A save that
    # changed nothing (the same answer again) is acknowledged without a new event: it
    # then matches the value already stored at that point.
    position = 0  # events before this index have been matched to acknowledgements
    matched: dict[tuple[str, str], tuple[int, str | None]] = {}
    for kind, qid, value in acks:
        earlier = [i for i in range(position) if events[i][:2] == (kind, qid)]
        if kind == "answer" and (events[earlier[-1]][3] if earlier else None) == value:
            matched[(kind, qid)] = (earlier[-1] if earlier else -1, value)
            continue
        found = next((i for i in range(position, len(events))
                      if events[i][:2] == (kind, qid)
                      and (kind == "note" or events[i][3] == value)), None)
        assert found is not None, (
            f"{label}: acknowledged {kind} {qid} = {value!r} is not in the trail; "
            f"acknowledged {acks}, trail {events}")
        matched[(kind, qid)] = (found, events[found][3])
        position = found + 1
    # ... and so stored, unless a later (unacknowledged) save of the same item followed.
    for (kind, qid), (index, value) in matched.items():
        if not any(events[i][:2] == (kind, qid) for i in range(index + 1, len(events))):
            now = stored.get(qid, (None, None))[0 if kind == "answer" else 1]
            assert now == value, f"{label}: acknowledged {kind} {qid} = {value!r} lost"
    return len(events)


def test_app_killed_at_random_moments_loses_no_acknowledged_edit(
        prepared: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    total_acks = note_acks = total_edits = total_keys = mid_note = acked_runs = again = 0

    # Each app is forked by one launcher that has imported the app's modules (see
    # tests/tui/launcher.py): the same entry point, arguments and terminal as the command,
    # without an interpreter start and the imports per kill.
    launcher = Launcher(app_environment(tmp_path / "settings.json"))

    def launch(i: int) -> tuple[Path, Terminal]:
        db = tmp_path / f"kill{i}.db"
        shutil.copyfile(prepared, db)
        return db, Terminal(db, tmp_path / f"settings{i}.json", launcher)

    # The next app starts while this one is opened and driven (start-up is mostly CPU,
    # driving mostly waiting), each on its own copy: an iteration costs about one start.
    upcoming: tuple[Path, Terminal] | None = launch(0)
    try:
        for i in range(APP_KILLS):
            assert upcoming is not None
            db, term = upcoming
            upcoming = None
            writes = keystrokes(rng)
            cut = rng.randint(1, len(writes))  # keys sent before the kill
            upcoming = launch(i + 1) if i + 1 < APP_KILLS else None
            try:
                again += open_first_case(term)
                typing = False
                for key in writes[:cut]:
                    term.send(key)
                    typing = key == "e" or (typing and key != "\x1b")
                    # Focus moves to the note box, and a lone escape is told from an
                    # escape sequence, only after a moment: wait those, else a person's
                    # pace.
                    term.settle(0.2 if key == "e" else 0.25 if key == "\x1b"
                                else rng.uniform(0.02, 0.15))
                mid_note += typing
                term.settle(rng.uniform(0, 0.6))
            finally:
                kill(term)
            acks = acknowledged(term.output)
            total_edits += check(db, acks, f"iteration {i} (keys {writes[:cut]!r})")
            total_acks += len(acks)
            note_acks += sum(kind == "note" for kind, _, _ in acks)
            acked_runs += bool(acks)
            total_keys += cut
            for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                path.unlink(missing_ok=True)
    finally:
        if upcoming is not None:
            kill(upcoming[1])
        launcher.close()
    seconds = time.monotonic() - started
    print(f"app kills: {APP_KILLS} iterations, {total_acks} acknowledged answers, none lost "
          f"({note_acks} of them notes; {total_edits} edits stored in all; {total_keys} keys; "
          f"{mid_note} kills while a note was typed; {again} keys pressed again on the way "
          f"to the case; {seconds:.0f} s)")
    assert acked_runs >= APP_KILLS // 3  # the app was really saving when killed
