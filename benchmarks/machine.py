"""What the figures were measured on: machine, load, commit, Python and libraries."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "SQLAlchemy", "sqlmodel", "textual",
             "reportlab", "pyarrow", "pyreadstat")


@dataclass(frozen=True)
class Machine:
    """A snapshot of the environment the suite ran in."""

    cpu: str
    cores: int
    memory_gb: float
    load: str
    date: str
    commit: str
    python: str
    libraries: str


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gb() -> float:
    """Total memory in GB from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def load_average() -> str:
    """The 1, 5 and 15-minute load averages."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def git_commit(root: Path) -> str:
    """`git rev-parse --short HEAD`, with +dirty when the tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def versions() -> str:
    """Key library versions, and SQLite's."""
    found = []
    for name in LIBRARIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join([*found, f"SQLite {sqlite3.sqlite_version}"])


def snapshot(root: Path) -> Machine:
    """The machine now."""
    return Machine(cpu_model(), os.cpu_count() or 0, memory_gb(), load_average(),
                   datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), git_commit(root),
                   f"{platform.python_implementation()} {platform.python_version()}",
                   versions())
