"""Crash safety: SIGKILL at random moments never corrupts, half-imports or loses a save.

Processes are forked from the test (every module already imported), so the random kill
(0-300 ms after the work starts) lands in the real work: reading the file, staging,
merging, committing, or just after.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import random
import select
import shutil
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

import audit.imports.cases  # noqa: F401
import audit.imports.ratings  # noqa: F401
import cli.imports  # noqa: F401 - imported before forking, as a running CLI has it
from audit.cases import record_answer
from audit.permissions import Actor
from tests.audit import workers
from tests.databases import fresh_sqlite
from tests.helpers import FREE_QUESTIONS, integrity, make_inspection

IMPORT_KILLS = 70
ACK_KILLS = 40
CASES = 400
IMPORTED = FREE_QUESTIONS[:8]  # the file rates these; the others hold earlier saves
EARLIER = FREE_QUESTIONS[8:]
FORK = multiprocessing.get_context("fork")


def _checkpointed_copy(db_path: Path, target: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copyfile(db_path, target)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A database with CASES cases and some acknowledged answers; a ratings file for it."""
    folder = tmp_path_factory.mktemp("crash")
    path = folder / "template.db"
    db = fresh_sqlite(path)
    ids = make_inspection(db, cases=CASES)
    earlier = {}
    for case_id in ids[:40]:
        v = 1
        for qid in EARLIER:
            v = record_answer(db, case_id, qid, "yes", actor=Actor("Earlier"),
                              expected_version=v).version
            earlier[(case_id, qid)] = "yes"
    db.dispose()
    ratings = folder / "ratings.csv"
    with open(ratings, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["case_ref", "question_id", "answer", "note"])
        for i in range(1, CASES + 1):
            for qid in IMPORTED:
                out.writerow([f"C-{i:04d}", qid, "yes" if (i + len(qid)) % 3 else "no",
                              f"imported note {i}"])
    _checkpointed_copy(path, folder / "clean.db")
    return folder / "clean.db", ratings, earlier


def _run_import(clean: Path, ratings: Path, db: Path, delay: float | None) -> int | None:
    """Fork the CLI importing `ratings` into a copy of `clean`; SIGKILL it after `delay`."""
    shutil.copyfile(clean, db)
    ready_r, ready_w = os.pipe()
    argv = ["--db", str(db), "import", "ratings", str(ratings), "--inspector", "Importer"]
    proc = FORK.Process(target=workers.cli, args=(argv, ready_w))
    proc.start()
    os.close(ready_w)
    assert os.read(ready_r, 16) == b"ready\n"
    os.close(ready_r)
    if delay is not None:
        # Waiting on the child, not sleeping: the kill lands at the same moment, and an
        # import that ends before it (a third of them) is not waited for to the end of
        # the delay.
        proc.join(delay)
        if proc.is_alive():
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
    proc.join(60)
    return proc.exitcode


def _import_seconds(clean: Path, ratings: Path, folder: Path) -> float:
    """How long one whole import takes here and now (machines and loads differ)."""
    started = time.monotonic()
    assert _run_import(clean, ratings, folder / "timing.db", None) == 0
    return time.monotonic() - started


def _import_state(path: Path) -> tuple[int, int, dict[tuple[int, str], str]]:
    conn = sqlite3.connect(path)
    try:
        marks = ", ".join("?" * len(IMPORTED))
        imported = conn.execute(f"SELECT COUNT(*) FROM answer WHERE question_id IN ({marks})",
                                IMPORTED).fetchone()[0]
        events = conn.execute("SELECT COUNT(*) FROM audit_event WHERE entity = 'answer' "
                              f"AND field IN ({marks})", IMPORTED).fetchone()[0]
        kept = {(c, q): v for c, q, v in conn.execute(
            f"SELECT case_id, question_id, value FROM answer WHERE question_id NOT IN ({marks})",
            IMPORTED)}
    finally:
        conn.close()
    return imported, events, kept


@pytest.mark.slow
def test_killing_the_importer_never_leaves_a_partial_import(template, tmp_path: Path) -> None:
    clean, ratings, earlier = template
    rng = random.Random(20240915)
    outcomes: Counter[str] = Counter()
    # Kill within 0-300 ms of the start, stretched if the import itself takes longer
    # here, so that the kills fall before, during and after the commit.
    window = max(0.3, 1.25 * _import_seconds(clean, ratings, tmp_path))
    for i in range(IMPORT_KILLS):
        db = tmp_path / f"kill{i}.db"
        exitcode = _run_import(clean, ratings, db, rng.uniform(0, window))
        assert integrity(db) == "ok", f"iteration {i}"
        imported, events, kept = _import_state(db)
        assert imported in (0, CASES * len(IMPORTED)), f"partial import at iteration {i}"
        assert (events == 0) == (imported == 0), f"trail and data disagree at iteration {i}"
        assert kept == earlier, f"an acknowledged answer was lost at iteration {i}"
        outcomes["complete" if imported else "none"] += 1
        outcomes["killed" if exitcode == -signal.SIGKILL else "finished"] += 1
        db.unlink()
        for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            extra.unlink(missing_ok=True)
    print(f"import kills: {IMPORT_KILLS} iterations in a {window:.2f} s window, "
          f"{dict(outcomes)}")
    # The random moments covered both sides of the commit.
    assert outcomes["none"] > 0 and outcomes["complete"] > 0 and outcomes["killed"] > 0


def _acked(fd: int) -> list[tuple[int, str, str]]:
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    lines = data.decode().split("\n")
    # A line cut by the kill was never a complete acknowledgement.
    return [(int(c), q, v) for c, q, v in (line.split() for line in lines[:-1])]


@pytest.mark.slow
def test_killing_a_rater_never_loses_an_acknowledged_answer(template, tmp_path: Path) -> None:
    clean, _, _ = template
    rng = random.Random(7)
    total_acks = 0
    for i in range(ACK_KILLS):
        db = tmp_path / f"ack{i}.db"
        shutil.copyfile(clean, db)
        ack_r, ack_w = os.pipe()
        proc = FORK.Process(target=workers.acknowledged_answers,
                            args=(str(db), list(range(1, 11)), ack_w, i))
        proc.start()
        os.close(ack_w)
        # Count the random moment from the first acknowledged save, not from the start:
        # on a loaded machine the child may take longer than the window just to begin.
        select.select([ack_r], [], [], 20)
        time.sleep(rng.uniform(0.0, 0.25))
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(10)
        acks = _acked(ack_r)
        os.close(ack_r)
        total_acks += len(acks)
        assert integrity(db) == "ok", f"iteration {i}"
        conn = sqlite3.connect(db)
        refs = dict(conn.execute('SELECT id, case_ref FROM "case"'))
        events = conn.execute("SELECT key, new_value FROM audit_event WHERE who = 'Acker' AND "
                              "entity = 'answer' ORDER BY id").fetchall()
        stored = {(c, q): v for c, q, v in conn.execute(
            "SELECT case_id, question_id, value FROM answer")}
        conn.close()
        # The k-th acknowledged save is the k-th event: none missing, none reordered.
        expected = [(f"{refs[c]}/{q}/primary", v) for c, q, v in acks]
        assert events[:len(acks)] == expected, f"iteration {i}"
        assert len(events) <= len(acks) + 1  # at most the one committed as it was killed
        last = {}
        for key, value in events:
            ref, qid, _ = key.split("/")
            last[(ref, qid)] = value
        by_ref = {(refs[c], q): v for (c, q), v in stored.items() if (refs[c], q) in last}
        assert by_ref == last, f"stored answers differ from the trail at iteration {i}"
        db.unlink()
        for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
            extra.unlink(missing_ok=True)
    print(f"rater kills: {ACK_KILLS} iterations, {total_acks} acknowledged answers, none lost")
    assert total_acks > ACK_KILLS  # the rater was really saving when killed
