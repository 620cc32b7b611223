"""Write BENCHMARKS.md: machine, the table of figures, and the missed targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks.figures import Figure
from benchmarks.machine import Machine
from benchmarks.plans import PLANS

# Before/after of each fixed miss, kept by hand: the run itself only knows the present.
HISTORY = Path(__file__).with_name("history.md")


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def render(figures: Sequence[Figure], before: Machine, after_load: str, *, cases: int,
           runs: int, seconds: float, profiles: Mapping[str, str], command: str) -> str:
    """The whole document."""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (`make bench`) on {before.date}, in {seconds / 60:.1f} min. "
        f"Database: the `demo --cases {cases}` set (SQLite). Each figure is the median of "
        f"{runs} run(s) unless its runs column says otherwise; every measured step runs in "
        "its own subprocess with `OPENBLAS_NUM_THREADS=1`, and its peak memory is that "
        "process's maximum resident set (`wait4`), the largest over the runs.",
        "",
        "| | |",
        "| --- | --- |",
        f"| Machine | {before.cpu}, {before.cores} cores, {before.memory_gb:.1f} GB |",
        f"| Load average (1/5/15 min) | at start {before.load}; at end {after_load} |",
        f"| Commit | `{before.commit}` |",
        f"| Python | {before.python} |",
        f"| Libraries | {before.libraries} |",
        "",
        "The machine is shared: other engineers' test runs may load it while this runs "
        "(see the load average; 2 means both cores busy). The compare/floor ratio is taken "
        "in the same process, one right after the other, so it is the figure that best "
        "survives a noisy machine.",
        "",
        "| Figure | Target | Median | Runs | Peak MB | Met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        stat = "p95: " if f.stat == "p95" else ""
        lines.append(f"| {f.name} | {f.target_text()} | {stat}{f.value_text()} | {f.runs} | "
                     f"{_mb(f.peak_mb)} | {f.met_text()} |")
    lines += ["", "Notes:", ""]
    lines += [f"- {f.name}: {f.note}." for f in figures if f.note]
    lines += ["", *_missed(figures, profiles)]
    if HISTORY.exists():
        lines += ["", HISTORY.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def _missed(figures: Sequence[Figure], profiles: Mapping[str, str]) -> list[str]:
    missed = [f for f in figures if f.met is False]
    lines = ["## Missed targets", ""]
    if not missed:
        return [*lines, "None: every target is met."]
    for f in missed:
        lines += [f"### {f.name}: {f.value_text()} (target {f.target_text()})", ""]
        plan = PLANS.get(f.key)
        if plan:
            lines += [plan.strip(), ""]
        profile = profiles.get(f.key)
        if profile and profile.startswith("("):
            lines += [profile, ""]
        elif profile:
            lines += ["Profile (pyinstrument, one run):", "", "```", profile, "```", ""]
        elif f.profile is not None:
            lines += ["(Not profiled in this run: see the profile of a related figure "
                      "above, or run without --no-profile.)", ""]
    return lines


def write(path: Path, text: str) -> None:
    """Write the file (atomically, so an interrupted run leaves the old one)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
