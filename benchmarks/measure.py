"""Run one measured step in its own subprocess: wall time, peak memory, output."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class StepFailed(RuntimeError):
    """A measured command exited with an error."""


@dataclass(frozen=True)
class Sample:
    """One run of a subprocess: wall seconds, its peak resident memory, its stdout."""

    seconds: float
    peak_mb: float
    stdout: str

    def json(self) -> dict[str, Any]:
        """The stdout of a worker, parsed (workers print one JSON object)."""
        return json.loads(self.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every measured subprocess: one BLAS thread, plus `extra`."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])  # so `-m benchmarks.worker` resolves
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    for var in THREAD_VARS:
        env[var] = "1"
    # A user's installed copy has its bytecode written after the first run; a shell that
    # forbids writing it would have every measured command compile the project again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


def run(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None,
        label: str = "") -> Sample:
    """Run `argv`, wait for it with wait4 (this child's own rusage), return the sample.

    stderr is captured and only shown when the command fails.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=dict(env), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = _drain(proc)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise StepFailed(f"{label or argv[0]} exited with {proc.returncode}:\n"
                         f"$ {' '.join(argv)}\n{err[-4000:]}")
    return Sample(seconds, usage.ru_maxrss / 1024.0, out)


def _drain(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Read stdout and stderr to the end without reaping the process (wait4 does that)."""
    import threading

    chunks: dict[str, str] = {}

    def read(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    threads = [threading.Thread(target=read, args=(n, s))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return chunks.get("out", ""), chunks.get("err", "")


def python() -> str:
    """The interpreter running the suite (the project's venv under `make bench`)."""
    return sys.executable


def cli() -> list[str]:
    """The `iom-audit` console script beside this interpreter (else the same via -c)."""
    script = Path(sys.executable).parent / "iom-audit"
    if script.exists():
        return [str(script)]
    return [python(), "-c", "from cli.main import main; main()"]


def worker(name: str, *args: str) -> list[str]:
    """A worker of `benchmarks.worker` that measures in-process and prints JSON."""
    return [python(), "-m", "benchmarks.worker", name, *args]


def middle(values: Sequence[float]) -> float:
    """The median (of K runs)."""
    return float(median(values))


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(0.95 * len(ordered))))
    return float(ordered[rank - 1])
