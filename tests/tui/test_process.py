"""The real app in a pseudo-terminal: killed right after an acknowledged answer, or
terminated while a note is typed, it loses nothing."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.store.engine import open_database
from audit.store.models import Answer, NoteDraft
from tests.tui.conftest import INSPECTOR, build_db
from tests.tui.launcher import Launcher

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def app_environment(settings: Path) -> dict[str, str]:
    """The app's environment: the rater named, settings in `settings`, a 120x40 xterm."""
    return {**os.environ, "IOM_AUDIT_INSPECTOR": INSPECTOR,
            "IOM_AUDIT_SETTINGS": str(settings), "TERM": "xterm-256color",
            "COLUMNS": "120", "LINES": "40"}


class Terminal:
    """`iom-audit --db DB` running in a pty, with a screen buffer to wait on.

    Started as a new interpreter, or forked by `launcher` (tests/tui/launcher.py), which
    has the app's modules imported already; `reap` collects its exit either way."""

    def __init__(self, db_path: Path, settings: Path,
                 launcher: Launcher | None = None) -> None:
        env = app_environment(settings)
        self.launcher = launcher
        if launcher is not None:
            self.pid, self.fd = launcher.spawn(["--db", str(db_path)], env)
        else:
            self.pid, self.fd = pty.fork()
            if self.pid == 0:  # the child: become the app
                os.chdir(ROOT)
                os.execve(sys.executable, [sys.executable, "-c",
                                           "from cli.main import main; main()",
                                           "--db", str(db_path)], env)
        self.output = b""

    def reap(self) -> int:
        """Wait for the app to end (after a kill): its exit code, negative for a signal."""
        if self.launcher is not None:
            code = self.launcher.wait(self.pid)
            assert code is not None
            return code
        return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])

    def read(self, seconds: float = 0.1) -> None:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if ready:
            with contextlib.suppress(OSError):
                self.output += os.read(self.fd, 65536)

    def expect(self, text: str, timeout: float = 60) -> None:
        """Wait until `text` has been drawn (after what was seen so far)."""
        start = len(self.output)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            if text.encode() in self.output[start:]:
                return
        raise AssertionError(f"{text!r} never appeared; last output: {self.output[-400:]!r}")

    def settle(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.read(0.05)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the app did not exit")

    def open_first_case(self) -> None:
        self.expect("Per site")  # the dashboard (identity from the environment)
        self.settle()
        self.send("l")
        self.expect("C0000")
        self.settle()
        self.send("\r")
        self.expect("not answered")
        self.settle()


def stored(db_path: Path, model: type) -> list[dict[str, object]]:
    db = open_database(str(db_path))
    try:
        with db.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(model.__table__)).mappings()]  # type: ignore[attr-defined]
    finally:
        db.dispose()


def test_answer_survives_sigkill_once_acknowledged(tmp_path: Path) -> None:
    db_path = tmp_path / "t.db"
    build_db(db_path).dispose()
    term = Terminal(db_path, tmp_path / "settings.json")
    try:
        term.open_first_case()
        term.send("y")
        term.expect("saved ✓")  # the acknowledgement on screen (the note box label
        # also says "saved as you go", and is redrawn when the layout changes)
    finally:
        os.kill(term.pid, signal.SIGKILL)  # ...then the hardest possible stop
        os.waitpid(term.pid, 0)
    answers = stored(db_path, Answer)
    assert [(a["question_id"], a["value"]) for a in answers] == [("2.1.1", "yes")]


def test_typed_note_survives_sigkill_as_a_draft(tmp_path: Path) -> None:
    db_path = tmp_path / "t.db"
    build_db(db_path).dispose()
    term = Terminal(db_path, tmp_path / "settings.json")
    try:
        term.open_first_case()
        term.send("e")
        term.settle()
        term.send("seen at home visit")
        term.expect("visit")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not stored(db_path, NoteDraft):
            term.settle(0.5)  # the autosave runs every few seconds
    finally:
        os.kill(term.pid, signal.SIGKILL)
        os.waitpid(term.pid, 0)
    assert [d["text"] for d in stored(db_path, NoteDraft)] == ["seen at home visit"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_saves_the_note_and_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    db_path = tmp_path / "t.db"
    build_db(db_path).dispose()
    term = Terminal(db_path, tmp_path / "settings.json")
    try:
        term.open_first_case()
        term.send("e")
        term.settle()
        term.send("flushed")
        term.expect("flushed")
        os.kill(term.pid, sig)
        code = term.wait()
    finally:
        try:
            os.kill(term.pid, signal.SIGKILL)
            os.waitpid(term.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    assert code == 0
    notes = [(a["question_id"], a["note"]) for a in stored(db_path, Answer)]
    assert notes == [("2.1.1", "flushed")]


def test_rating_a_case_loads_no_statistics_stack() -> None:
    """The start, dashboard, case list and rating screens never import pandas, numpy,
    scipy or statsmodels: an inspector's app opens without them (they cost ~0.3 s and
    ~80 MB). Only the comparison and report screens load them, when they are opened."""
    code = ("import sys\n"
            "import cli.main, tui.app, tui.screens.start, tui.screens.dashboard\n"
            "import tui.screens.case_list, tui.screens.case, tui.screens.disagreements\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'numpy', 'scipy', 'statsmodels', 'reportlab'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
