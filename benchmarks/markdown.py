"""Write BENCHMARKS.md: machine, the table of figures, and the missed targets.

The PostgreSQL run (`--backend postgresql`) writes its own file, BENCHMARKS-postgresql.md
(and BENCHMARKS-postgresql-million.md with `--million`), with the query plans at the end;
BENCHMARKS.md links to them, so neither run overwrites the other's figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmarks.figures import Figure
from benchmarks.machine import Machine
from benchmarks.plans import PG_PLANS, PLANS

# Before/after of each fixed miss, kept by hand: the run itself only knows the present.
HISTORY = Path(__file__).with_name("history.md")
PG_FILES = ("BENCHMARKS-postgresql.md", "BENCHMARKS-postgresql-million.md")


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def render(figures: Sequence[Figure], before: Machine, after_load: str, *, cases: int,
           runs: int, seconds: float, profiles: Mapping[str, str], command: str,
           backend: str = "sqlite", million: bool = False,
           plans: Mapping[str, str] | None = None, import_cases: int | None = None) -> str:
    """The whole document."""
    postgres = backend == "postgresql"
    if million:
        title, make, data = ("Benchmarks: PostgreSQL, --million", "", (
            f"Database: PostgreSQL, {cases:,} cases: a tenth imported by `iom-audit import` "
            "(`benchmarks/datagen.py`, 40 answers per case) into a scratch database, copied "
            "nine times on the server (`benchmarks.pg.replicate`: the cases and answers, not "
            "the trail, which compare does not read), then `VACUUM ANALYZE`."))
    elif postgres:
        title, make, data = ("Benchmarks: PostgreSQL", " BACKEND=postgresql", (
            f"Database: the `demo --cases {cases}` set, built on SQLite and copied into a "
            "scratch PostgreSQL database with COPY (`benchmarks/pg.py`), so both backends "
            "count the same answers; the import figures are the importer as a user runs it."))
    else:
        title, make, data = ("Benchmarks", "", f"Database: the `demo --cases {cases}` set "
                             "(SQLite). PostgreSQL figures: "
                             + ", ".join(f"[{n}]({n})" for n in PG_FILES)
                             + " (`make bench BACKEND=postgresql`).")
    if import_cases is not None and import_cases != cases:
        data += f" The import files hold {import_cases:,} cases (`--import-cases`)."
    lines = [
        f"# {title}",
        "",
        f"Written by `{command}` (`make bench{make}`) on {before.date}, in "
        f"{seconds / 60:.1f} min. {data} Each figure is the median of "
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
    lines += ["", *_missed(figures, profiles, {**PLANS, **PG_PLANS} if postgres else PLANS)]
    if plans:
        lines += ["", "## Query plans (`EXPLAIN (ANALYZE, BUFFERS)`, after the run)", ""]
        for name, plan in plans.items():
            lines += [f"### {name}", "", "```", plan.strip(), "```", ""]
    if postgres:
        lines += ["", "Before and after of the PostgreSQL tally (EXPLAIN): benchmarks/history.md."]
    if HISTORY.exists() and not postgres:
        lines += ["", HISTORY.read_text(encoding="utf-8").strip()]
    return "\n".join(lines) + "\n"


def _missed(figures: Sequence[Figure], profiles: Mapping[str, str],
            plans: Mapping[str, str]) -> list[str]:
    missed = [f for f in figures if f.met is False]
    lines = ["## Missed targets", ""]
    if not missed:
        return [*lines, "None: every target is met."]
    for f in missed:
        lines += [f"### {f.name}: {f.value_text()} (target {f.target_text()})", ""]
        plan = plans.get(f.key)
        if plan:
            lines += [plan.strip(), ""]
        if f.detail:
            lines += ["```", f.detail.strip(), "```", ""]
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
