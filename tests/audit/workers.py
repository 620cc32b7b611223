"""Code run in separate processes by the concurrency and crash tests.

Each function opens its own database (never one inherited from the parent) and is
started with multiprocessing's fork context, so it starts in milliseconds with every
module already imported: a kill can land anywhere in the real work, not in start-up.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from audit.cases import load_case, record_answer, save_note
from audit.errors import ConflictError
from audit.permissions import Actor
from audit.store.engine import open_database
from tests.helpers import FREE_QUESTIONS


def note_writer(db_url: str, case_ids: list[int], stop_at: float) -> None:
    """Save ever-changing notes until `stop_at` (a busy inspector while a backup runs)."""
    db = open_database(db_url, migrate=False)
    n = 0
    while time.time() < stop_at:
        case_id = case_ids[n % len(case_ids)]
        qid = FREE_QUESTIONS[n % len(FREE_QUESTIONS)]
        save_note(db, case_id, qid, f"note {n} " + "x" * 500, actor=Actor("Writer"),
                  expected_version=load_case(db, case_id, actor=Actor("Reader")).version)
        n += 1
    db.dispose()


def acknowledged_answers(db_url: str, case_ids: list[int], ack_fd: int, seed: int) -> None:
    """Record answers forever, each changing the stored value; acknowledge each commit.

    The acknowledgement is written only after record_answer returned, i.e. after its
    COMMIT (synchronous=FULL), exactly as the app tells a person "saved".
    """
    db = open_database(db_url, migrate=False)
    rng = random.Random(seed)
    versions = {c: load_case(db, c, actor=Actor("Reader")).version for c in case_ids}
    current = {(c, q): v for c in case_ids
               for q, v in load_case(db, c, actor=Actor("Reader")).values().items()}
    while True:
        case_id = rng.choice(case_ids)
        qid = rng.choice(FREE_QUESTIONS)
        value = "no" if current.get((case_id, qid)) == "yes" else "yes"
        versions[case_id] = record_answer(db, case_id, qid, value, actor=Actor("Acker"),
                                          expected_version=versions[case_id]).version
        current[(case_id, qid)] = value
        os.write(ack_fd, f"{case_id} {qid} {value}\n".encode())


def cli(argv: list[str], ready_fd: int) -> None:
    """Run the CLI as `iom-audit` would, after signalling that start-up is over."""
    from cli.app import run

    os.write(ready_fd, b"ready\n")
    os._exit(run(argv))


def contender(db_url: str, case_id: int, worker: int, rounds: int, result_q: Any,
              start_at: float) -> None:
    """Edit one shared note and one own answer of the same case, as the app would.

    Each round reads the case (its version and the note shown), waits a moment (the
    person typing) and saves with what it read. Reports successes and conflicts.
    """
    db = open_database(db_url, migrate=False)
    rng = random.Random(worker)
    own = FREE_QUESTIONS[worker + 1]  # the shared note is on FREE_QUESTIONS[0]
    log: dict[str, Any] = {"worker": worker, "saved": [], "conflicts": 0, "rebased": 0,
                           "own_saved": 0, "errors": []}
    while time.time() < start_at:
        time.sleep(0.001)
    for n in range(rounds):
        view = load_case(db, case_id, actor=Actor("Reader"))
        seen = view.answers.get("primary", {}).get("2.1.1")
        seen_note = seen.note if seen else None
        time.sleep(rng.uniform(0, 0.004))
        text = f"w{worker}-r{n}"
        try:
            change = save_note(db, case_id, "2.1.1", text, actor=Actor(f"W{worker}"),
                               expected_version=view.version, seen=seen_note)
            log["saved"].append([text, seen_note])
            log["rebased"] += change.rebased
        except ConflictError:
            log["conflicts"] += 1
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            log["errors"].append(f"{type(exc).__name__}: {exc}")
        # An edit of an item nobody else touches must go through even when stale.
        mine = load_case(db, case_id, actor=Actor("Reader"))
        value = "yes" if n % 2 else "no"
        time.sleep(rng.uniform(0, 0.002))
        try:
            record_answer(db, case_id, own, value, actor=Actor(f"W{worker}"),
                          expected_version=mine.version,
                          seen=mine.values().get(own))
            log["own_saved"] += 1
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            log["errors"].append(f"own {type(exc).__name__}: {exc}")
    db.dispose()
    result_q.put(log)
