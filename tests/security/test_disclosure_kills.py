"""A killed export leaves no file under a final name; any final file has its event.

Why (issue 15): "Export files are written before the export event. ... a SIGKILL ...
leaves identifiable files on disk with no record."

The exporting process is forked with every module imported (tests/audit/workers.py
explains why), then killed with SIGKILL: at random moments over several seeds, and at
each step of the disclosure on purpose (the process kills itself there).

The random moments need an export that takes a while (the demo); the steps are points
of the disclosure after every file is written, the same whatever the amount of data,
so those tests export a small database (two exports each, of seconds on the demo).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pyreadstat
import pytest

# Imported here, before any fork: the export imports them on first use (about 1.3 s of
# CPU), which every forked child, the timing run included, paid again until this
# process had exported once.
import audit.exports.exporters  # noqa: F401
import audit.store.staging  # noqa: F401
from cli.app import run
from tests.databases import Prepare, cli_demo
from tests.security.disclosure_kit import SAMPLE, events, leftovers, sample_inspection

FINAL = ("answers.dta", "codebook.csv")
SEEDS = range(6)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database (3,307 cases, 85,000 answers): an export takes a while."""
    return cli_demo(tmp_path_factory.mktemp("kills") / "demo.db")


def _export(db: Path, out: Path, *extra: str) -> int:
    return run(["--db", str(db), "export", "--format", "stata", "--long", "--out", str(out),
                *extra])


def _child(db: str, out: str, sabotage: str | None) -> None:
    """Run the export in a forked process; optionally kill it at one step."""
    if sabotage is not None:
        _arm(sabotage)
    os._exit(_export(Path(db), Path(out)))


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(step: str) -> None:
    """Make this process SIGKILL itself at `step` of the disclosure."""
    from audit.exports import exporters
    from audit.store import staging

    if step == "while-writing":
        real_codebook = exporters.write_codebook

        def codebook_then_die(variables: object, path: Path) -> None:
            real_codebook(variables, path)  # type: ignore[arg-type]
            _die()

        exporters.write_codebook = codebook_then_die
    elif step == "inside-the-event":
        real_record = exporters.trail.record_many

        def record_then_die(conn: object, rows: object) -> int:
            real_record(conn, rows)  # type: ignore[arg-type]
            _die()
            return 0

        exporters.trail.record_many = record_then_die  # type: ignore[assignment]
    elif step in ("after-the-event", "between-renames"):
        real_place = staging.Staging.place
        calls = [0]
        die_at = 1 if step == "after-the-event" else 2

        def place_or_die(self: staging.Staging, name: str, *, force: bool) -> Path:
            calls[0] += 1
            if calls[0] == die_at:
                _die()
            return real_place(self, name, force=force)

        staging.Staging.place = place_or_die  # type: ignore[method-assign]


def _fork(target: Callable[..., None], *args: object) -> multiprocessing.process.BaseProcess:
    proc = multiprocessing.get_context("fork").Process(target=target, args=args)
    proc.start()
    return proc


def _check(db: Path, out: Path) -> tuple[bool, list[str]]:
    """The invariant after a kill: (event recorded, final files present)."""
    key = f"stata:{out}"
    recorded = [e for e in events(db, "export") if e[1] == key]
    present = [n for n in FINAL if (out / n).exists()]
    if present:
        assert recorded, f"{present} under final names with no export event"
    if "answers.dta" in present:
        frame, _ = pyreadstat.read_dta(str(out / "answers.dta"))  # complete, not torn
        assert f"rows={len(frame)};" in recorded[0][3]
    assert len(recorded) <= 1
    return bool(recorded), present


@pytest.fixture(scope="module")
def export_seconds(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> float:
    """How long one whole export takes here, measured once for the file.

    Once, not once per seed: the kills are spread over 0.2-1.05 of this time, so a change
    of load only moves some of them earlier or later in the export (every outcome is
    checked alike), and an export more per seed was over a third of the test's time."""
    started = time.monotonic()
    proc = _fork(_child, str(demo_db), str(tmp_path_factory.mktemp("timing")), None)
    proc.join(120)
    assert proc.exitcode == 0
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_at_a_random_moment(demo_db: Path, export_seconds: float, tmp_path: Path,
                                    seed: int) -> None:
    took = export_seconds
    rng = random.Random(seed)
    out = tmp_path / "out"
    proc = _fork(_child, str(demo_db), str(out), None)
    proc.join(rng.uniform(0.2, 1.05) * took)  # the kill's moment, or sooner if it ended
    assert proc.pid is not None
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    _check(demo_db, out)
    # The next run of the same command removes what the killed one left.
    assert _export(demo_db, out, "--force") == 0
    assert leftovers(out) == [] and all((out / n).exists() for n in FINAL)


@pytest.mark.parametrize(("step", "recorded", "present"), [
    ("while-writing", False, []),
    ("inside-the-event", False, []),
    ("after-the-event", True, []),
    ("between-renames", True, ["answers.dta"]),
])
def test_sigkill_at_each_step(prepare: Prepare, tmp_path: Path, step: str, recorded: bool,
                              present: list[str]) -> None:
    db = prepare("sqlite", SAMPLE, sample_inspection)[0]
    path = db.location.path
    assert path is not None
    db.dispose()  # the export opens its own, in the child and here
    out = tmp_path / "out"
    proc = _fork(_child, str(path), str(out), step)
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL
    assert _check(path, out) == (recorded, present)
    if not present:
        assert leftovers(out), "the killed run's staging folder is expected here"
    assert _export(path, out, "--force") == 0
    assert leftovers(out) == []
