"""The app measured from inside, with Textual's Pilot, on the benchmark database.

Ready: from before the database is opened and the app constructed until the dashboard
shows its progress (the start screen's inspection list is confirmed with one `enter`
when the database holds several inspections; the name comes from IOM_AUDIT_INSPECTOR
and the inspection from the remembered settings). Keys: the time from the key event
being sent to the app until its effect is visible in the app's state — for `j` the
next question is current and the question panel shows it; for `y`/`n` the answer is
stored (record_answer commits before the screen updates) and the status line says
`saved`. The app is let go idle between presses, so one press never overlaps the next.

Case ready (`case_ready`): `enter` on the case list until the case screen shows the case's
current question, takes keys, and has processed everything it had queued by then (see
`_open_case`).

Comparison (`probe_comparison`, a session of its own): `m` on the dashboard until the
comparison view shows its table of every yes/no question (the loading indicator gone, a
row per question, the title updated), then `esc` and `m` again (the app's cache).
Pressed either once the dashboard has settled (its per-inspector counts shown, as a user
who reads it meets the view: the app's background import of the statistics libraries
is done by then) or the moment the dashboard shows (`at_once`: the import and the
dashboard's own counting may still be running).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from textual import events

SIZE = (120, 40)
TIMEOUT_S = 30.0
SLOW_S = 300.0  # the comparison view at scale, on a machine that may be busy
POLL_S = 0.002  # polling interval while the app waits on a thread worker
COMMITS = 20  # one-row commits timed for the floor of recording an answer


class Recorder:
    """Optional pyinstrument sessions of the measured phases (one file per phase)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.profilers: dict[str, Any] = {}

    def start(self, phase: str) -> None:
        if self.folder is None:
            return
        from pyinstrument import Profiler

        # async_mode disabled: sample the whole thread, the app's loop included.
        profiler = self.profilers.setdefault(phase, Profiler(async_mode="disabled"))
        profiler.start()

    def stop(self, phase: str) -> None:
        if self.folder is not None:
            self.profilers[phase].stop()

    def save(self) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for phase, profiler in self.profilers.items():
            profiler.last_session.save(str(self.folder / f"{phase}.pyisession"))


async def until(condition: Callable[[], bool], timeout: float = TIMEOUT_S,
                interval: float = 0.0) -> None:
    """Yield to the event loop until `condition()` holds (conditions must be cheap).

    `interval` 0 polls on every loop iteration (key latencies: the work is on this loop);
    waits on thread workers poll every `interval` seconds, leaving the CPU to them.
    """
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the app did not reach the expected state")
        await asyncio.sleep(interval)


def send(app: Any, key: str) -> None:
    """Send one key to the app the way the Pilot does, without its idle wait."""
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


def biggest_inspection(db_path: Path) -> str:
    """The name of the inspection with the most cases (the national-scale one)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        row = conn.execute('SELECT i.name FROM inspection AS i JOIN "case" AS c '
                           "ON c.inspection_id = i.id GROUP BY i.id "
                           "ORDER BY count(*) DESC LIMIT 1").fetchone()
    return str(row[0])


def remember(inspection: str) -> None:
    """Write the settings file the app reads: the benchmark inspection is remembered."""
    path = Path(os.environ["IOM_AUDIT_SETTINGS"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"inspector": os.environ.get("IOM_AUDIT_INSPECTOR"),
                                "role": "inspector", "inspection": inspection}))


def commit_floor(folder: Path, n: int = COMMITS) -> list[float]:
    """Seconds per one-row INSERT + COMMIT on a scratch SQLite file beside the database,
    with the app's durability settings (WAL, synchronous=FULL): the floor of an answer."""
    path = folder / "commit-floor.db"
    for p in folder.glob(path.name + "*"):
        p.unlink()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        times = []
        for i in range(n):
            start = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (str(i),))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - start)
    finally:
        conn.close()
    for p in folder.glob(path.name + "*"):
        p.unlink()
    return times


def probe(db_path: Path, *, repeats: int = 20, launched: float | None = None,
          profile_dir: Path | None = None) -> dict[str, Any]:
    """Run the app once: ready time, then `repeats` next-question and answer presses."""
    from audit.store.engine import open_database  # noqa: F401  (imported before the clock starts)
    from tui.app import IomAuditApp  # noqa: F401
    from tui.screens.case import CaseScreen  # noqa: F401
    from tui.screens.case_list import CaseListScreen  # noqa: F401
    from tui.screens.dashboard import DashboardScreen  # noqa: F401
    from tui.screens.start import StartScreen  # noqa: F401

    remember(biggest_inspection(db_path))
    recorder = Recorder(profile_dir)
    out = asyncio.run(_session(db_path, repeats, launched, recorder))
    recorder.save()
    out["commit_floor"] = commit_floor(db_path.parent)
    return out


async def _session(db_path: Path, repeats: int, launched: float | None,
                   recorder: Recorder) -> dict[str, Any]:
    from audit.store.engine import open_database
    from audit.views.background import settle_heap
    from tui.app import IomAuditApp
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.start import StartScreen

    recorder.start("ready")
    start, wall = time.perf_counter(), time.time()
    database = open_database(str(db_path))
    settle_heap()  # as `tui.app.run_app` does before the app starts
    app = IomAuditApp(database)
    out: dict[str, Any] = {}
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(lambda: isinstance(app.screen, DashboardScreen) or (
                isinstance(app.screen, StartScreen) and bool(app.screen._inspections)),
                interval=POLL_S)
            out["start_screen"] = time.perf_counter() - start
            if isinstance(app.screen, StartScreen):
                send(app, "enter")

            await until(lambda: _dashboard_shown(app, DashboardScreen), interval=POLL_S)
            out["ready"] = time.perf_counter() - start
            recorder.stop("ready")
            if launched is not None:
                out["ready_since_launch"] = wall - launched + out["ready"]
            out.update(await _keys(app, pilot, repeats, recorder))
    finally:
        database.dispose()
    out["verified"] = _stored(db_path, out.pop("case_id"), out.pop("last_answer"))
    return out


def probe_comparison(db_path: Path, *, at_once: bool = False) -> dict[str, Any]:
    """One app session: the comparison view opened from the dashboard, twice."""
    from audit.store.engine import open_database  # noqa: F401  (imported before the clock starts)
    from tui.app import IomAuditApp  # noqa: F401
    from tui.screens.dashboard import DashboardScreen  # noqa: F401
    from tui.screens.start import StartScreen  # noqa: F401

    remember(biggest_inspection(db_path))
    return asyncio.run(_comparison_session(db_path, at_once))


async def _comparison_session(db_path: Path, at_once: bool) -> dict[str, Any]:
    from audit.store.engine import open_database
    from audit.views.background import settle_heap
    from tui.app import IomAuditApp
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.start import StartScreen

    database = open_database(str(db_path))
    settle_heap()  # as `tui.app.run_app` does before the app starts
    app = IomAuditApp(database)
    out: dict[str, Any] = {}
    try:
        async with app.run_test(size=SIZE):
            await until(lambda: isinstance(app.screen, DashboardScreen) or (
                isinstance(app.screen, StartScreen) and bool(app.screen._inspections)),
                interval=POLL_S)
            if isinstance(app.screen, StartScreen):
                send(app, "enter")
            await until(lambda: _dashboard_shown(app, DashboardScreen), interval=POLL_S)
            if not at_once:
                await until(lambda: _dashboard_settled(app), timeout=300, interval=0.05)
            start = time.perf_counter()
            send(app, "m")
            # A slow figure is reported, not a failure: the dashboard's per-inspector
            # count (seconds at 100,000 cases) may run beside it, and on a busy machine.
            await until(lambda: _comparison_shown(app), timeout=SLOW_S, interval=POLL_S)
            out["comparison"] = time.perf_counter() - start
            screen: Any = app.screen
            out["questions"] = len(screen.comparison.rows)
            send(app, "escape")
            await until(lambda: isinstance(app.screen, DashboardScreen), interval=POLL_S)
            start = time.perf_counter()
            send(app, "m")
            await until(lambda: _comparison_shown(app), timeout=SLOW_S, interval=POLL_S)
            out["comparison_again"] = time.perf_counter() - start
    finally:
        database.dispose()
    return out


def _dashboard_settled(app: Any) -> bool:
    """The dashboard's counting is over and shown (its per-inspector rows in place)."""
    return not any(w.group == "dashboard" and w.is_running for w in app.workers) \
        and not app.screen.query("#dashboard-inspectors-pending")


def _comparison_shown(app: Any) -> bool:
    """The comparison screen shows its table: loading hidden, a row per question."""
    from textual.widgets import DataTable

    from tui.screens.comparison import ComparisonScreen

    screen = app.screen
    if not isinstance(screen, ComparisonScreen) or not screen.is_mounted \
            or screen.comparison is None:
        return False
    table = screen.query_one("#comparison-table", DataTable)
    return bool(not screen.query_one("#comparison-loading").display
                and table.row_count == len(screen.comparison.rows))


def _dashboard_shown(app: Any, dashboard: type) -> bool:
    """The dashboard is up and its progress loaded (its loading indicator hidden)."""
    if not isinstance(app.screen, dashboard):
        return False
    screen: Any = app.screen
    if not screen.is_mounted:
        return False
    loading = next((w for w in screen.children if w.id == "dashboard-loading"), None)
    return loading is not None and not loading.display


async def _open_case(app: Any, pilot: Any, recorder: Recorder) -> tuple[Any, float]:
    """Open the first case of the list: its screen, and the seconds from `enter` until
    it is ready for keys.

    Ready: the case screen is the top screen (or under the drafts dialog it offers), its
    case is read, its loading gate is open, its question panel and list show the current
    question, and everything the screen had queued by then is processed, so that a key
    sent now is handled at once rather than behind the screen's setup (its footer, layout
    and first paint). The key is sent as `send` does, without the Pilot's idle wait (that
    wait guesses "idle" from the process's CPU time, so it ended the clock early or late
    depending on the machine's load).
    """
    from tui.screens.case import CaseScreen
    from tui.screens.case_list import CaseListScreen

    await pilot.press("l")
    await until(lambda: isinstance(app.screen, CaseListScreen))
    await app.workers.wait_for_complete()
    await until(lambda: app.screen.total > 0)
    await pilot.pause()
    recorder.start("case")
    start = time.perf_counter()
    send(app, "enter")
    await until(lambda: _case_shown(app, CaseScreen))
    await pilot._wait_for_screen()  # the screen's queue, as it stood when it showed
    ready = time.perf_counter() - start
    recorder.stop("case")
    await pilot.pause()
    while not isinstance(app.screen, CaseScreen):  # a dialog on top (drafts): dismiss it
        await pilot.press("escape")
    screen = app.screen
    await _reopen(screen)
    return screen, ready


def _case_shown(app: Any, case_screen: type) -> bool:
    """A case screen is open, read and taking keys, and shows its current question."""
    from textual.widgets import Static

    from tui.widgets.question_tree import QuestionTree

    screen: Any = next((s for s in reversed(app.screen_stack) if isinstance(s, case_screen)),
                       None)
    if screen is None or screen.view is None or screen.loading_keys or not screen.is_mounted:
        return False
    if screen is not app.screen and not app.screen.is_modal:
        return False
    qid = screen.current
    tree = screen.query_one(QuestionTree)
    return bool(qid in str(screen.query_one("#q-where", Static).content)
                and tree.highlighted == tree.get_option_index(qid))


async def _reopen(screen: Any) -> None:
    """Make the case the benchmark inspector's own and reopen it if signed off, before
    measuring (unmeasured): a case allocated to someone else opens read only, and the
    first answer of a signed-off one would wait for a reason (`audit.lifecycle`)."""
    import sqlalchemy as sa

    from audit import allocation, cases, lifecycle
    from audit.permissions import Actor

    if screen.view is not None and screen.read_only:
        db = screen.ws.db
        with db.engine.connect() as conn:
            lead = conn.execute(sa.text("SELECT name FROM inspector WHERE role = 'lead' "
                                        "ORDER BY id LIMIT 1")).scalar_one()
        allocation.allocate_ids(db, screen.ws.inspection_id, [screen.case_id],
                                to=screen.ws.actor.name, actor=Actor(lead))
        screen.reload()
        await until(lambda: screen.view is not None and not screen.read_only)
    if screen.view is None or screen.view.status not in lifecycle.SIGNED_OFF:
        return
    cases.set_status(screen.ws.db, screen.case_id, lifecycle.IN_PROGRESS,
                     actor=screen.ws.actor, expected_version=screen.version,
                     reason="benchmark: key latency measured on this case")
    screen.reload()


async def _keys(app: Any, pilot: Any, repeats: int, recorder: Recorder) -> dict[str, Any]:
    """Alternate `j` (measured) and an answer key (measured) `repeats` times each."""
    from textual.widgets import Static

    screen, case_ready = await _open_case(app, pilot, recorder)
    where = screen.query_one("#q-where", Static)
    first = screen.current
    nexts: list[float] = []
    answers: list[float] = []
    last: tuple[str, str] = ("", "")
    while len(nexts) < repeats:
        target = screen._step(screen.current, 1)
        if target is None:  # the end of the question set: back to the start, unmeasured
            screen.goto(first)
            await pilot.pause()
            continue
        recorder.start("next")
        t0 = time.perf_counter()
        send(app, "j")
        await until(partial(_shows, screen, where, target))
        nexts.append(time.perf_counter() - t0)
        recorder.stop("next")
        await pilot.pause()
        qid = screen.current
        value = "no" if screen.values.get(qid) == "yes" else "yes"
        recorder.start("answer")
        t0 = time.perf_counter()
        send(app, value[0])
        await until(partial(_saved, screen, qid, value))
        answers.append(time.perf_counter() - t0)
        recorder.stop("answer")
        last = (qid, value)
        await pilot.pause()
    return {"next_question": nexts, "record_answer": answers, "case_id": screen.case_id,
            "last_answer": last, "case_ready": case_ready}


def _shows(screen: Any, where: Any, qid: str) -> bool:
    """`qid` is the current question and the question panel shows it."""
    return bool(screen.current == qid and qid in str(where.content))


def _saved(screen: Any, qid: str, value: str) -> bool:
    """The answer is stored (the screen updates after the commit) and acknowledged."""
    return bool(screen.values.get(qid) == value
                and screen.last_saved.startswith(f"{qid} = {value}"))


def _stored(db_path: Path, case_id: int, answer: tuple[str, str]) -> bool:
    """Whether the last answer given is in the database (read by another connection)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT value FROM answer WHERE case_id = ? AND question_id = ? "
                           "AND rater = 'primary'", (case_id, answer[0])).fetchone()
    return row is not None and row[0] == answer[1]
