"""`python -m benchmarks.run` (`make bench`): measure every speed target, write BENCHMARKS.md.

Everything it needs is built in the work directory (default `.bench/`): the N-case demo
database, the import CSV files (reused while N is unchanged), a fresh database per
import run, the report and exports. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import markdown, pg, steps
from benchmarks.figures import Figure
from benchmarks.machine import load_average, snapshot
from benchmarks.measure import StepFailed
from benchmarks.profiling import profile, summarise

ROOT = Path(__file__).resolve().parents[1]
MIN_CASES = 3_247  # `demo --cases` refuses fewer (Figure 5.2's core sample)
STEPS = ("demo", "import", "varied", "compare", "models", "outputs", "app", "suite")
PG_STEPS = ("demo", "import", "varied", "compare", "models", "outputs")
MILLION = 1_000_000
MIN_MILLION_CASES = 100  # `--million --cases N`, to try the flag at a small scale
MIN_IMPORT_CASES = 100  # `--import-cases N`: the import files at a small scale, to try them
OUT = {"sqlite": ROOT / "BENCHMARKS.md", "postgresql": ROOT / "BENCHMARKS-postgresql.md"}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command-line options."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--cases", type=int, default=None, help="cases in the benchmark "
                   f"database and the import files (default 100000, at least {MIN_CASES}; "
                   f"with --million, default {MILLION})")
    p.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite",
                   help="the database the figures are measured on (default sqlite)")
    p.add_argument("--server", default=pg.DEFAULT_SERVER, help="PostgreSQL: the server's "
                   "URL; the scratch databases iom_bench and iom_bench_import (iom_bench_million "
                   "with --million) are made there")
    p.add_argument("--pg-prefix", default=pg.DEMO_DB, help="PostgreSQL: name of the scratch "
                   "databases (PREFIX, PREFIX_import, PREFIX_million; default %(default)s)")
    p.add_argument("--million", action="store_true", help="PostgreSQL at 1,000,000 cases "
                   "(40M answers): the importer loads a tenth, the server copies it 9 "
                   "times; import and compare only; takes many minutes")
    p.add_argument("--keep-databases", action="store_true",
                   help="PostgreSQL: leave the scratch databases for a look afterwards")
    p.add_argument("--runs", type=int, default=3, help="runs per figure; the median is "
                   "reported (default 3; one-off builds run once)")
    p.add_argument("--import-cases", type=int, default=None, help="cases in the import "
                   "files of the import and varied steps (default: --cases; at least "
                   f"{MIN_IMPORT_CASES}; not with --million, which imports a tenth of --cases)")
    p.add_argument("--import-runs", type=int, default=None, help="runs of each import step "
                   "(default: --runs; PostgreSQL imports take minutes each)")
    p.add_argument("--repeats", type=int, default=20, help="key presses per app run")
    p.add_argument("--startup-runs", type=int, default=steps.STARTUP_RUNS, help="runs of "
                   "`--version`, `--help` and `info`, at least --runs (default %(default)s: "
                   "they take tenths of a second)")
    p.add_argument("--work", type=Path, default=ROOT / ".bench", help="work directory")
    p.add_argument("--out", type=Path, default=None, help="file to write (default "
                   "BENCHMARKS.md; BENCHMARKS-postgresql.md with --backend postgresql; "
                   "BENCHMARKS-postgresql-million.md with --million)")
    p.add_argument("--reuse-demo", action="store_true", help="reuse the work directory's "
                   "demo database when it has the same number of cases (not measured then)")
    p.add_argument("--suite-args", default="", help="the suite step: pytest paths to run "
                   "instead of the whole suite (space-separated; for trying the harness)")
    p.add_argument("--no-profile", action="store_true", help="do not profile missed targets")
    p.add_argument("--only", default=None, help="comma-separated steps to run "
                   f"({', '.join(STEPS)}; on PostgreSQL all but app, with --million import "
                   "and compare); the demo database must exist for the others")
    args = p.parse_args(argv)
    if args.million:
        args.backend = "postgresql"
    if args.cases is None:
        args.cases = MILLION if args.million else 100_000
    if args.out is None:
        args.out = (ROOT / "BENCHMARKS-postgresql-million.md" if args.million
                    else OUT[args.backend])
    if args.only is None:
        args.only = ",".join(("import", "compare") if args.million
                             else PG_STEPS if args.backend == "postgresql" else STEPS)
    return args


def measure(ctx: steps.Context, wanted: Sequence[str]) -> list[Figure]:
    """Run the chosen steps in order."""
    table = {"demo": steps.demo, "import": steps.imports, "varied": steps.varied_import,
             "compare": steps.compare,
             "models": steps.models, "outputs": steps.outputs, "app": steps.app,
             "suite": steps.suite}
    figures: list[Figure] = []
    for name in STEPS:
        if name in wanted:
            steps.log(f"step {name}")
            figures += table[name](ctx)
    return figures


def profile_missed(figures: Sequence[Figure], ctx: steps.Context) -> dict[str, str]:
    """A pyinstrument summary per missed figure (one run per distinct command)."""
    ran: dict[tuple[str, ...], Path | str] = {}  # command -> session file/folder, or error
    shown: dict[tuple[object, ...], str] = {}  # (command, phase) -> figure shown with it
    out: dict[str, str] = {}
    for f in figures:
        if f.met is not False or f.profile is None:
            continue
        command, what = tuple(f.profile), (tuple(f.profile), f.session)
        if what in shown:
            out[f.key] = f"(Same profile as \"{shown[what]}\": see above.)"
            continue
        if command not in ran:
            steps.log(f"profiling {f.key} ...")
            try:
                ran[command] = profile(f, ctx.env, ctx.work / "profiles")
            except StepFailed as exc:
                ran[command] = f"(profiling failed: {exc})"
        found = ran[command]
        if isinstance(found, str):
            out[f.key] = found
        else:
            out[f.key] = summarise(found / f"{f.session}.pyisession" if f.session else found)
        shown[what] = f.name
    return out


PACKAGES = ("audit", "cli", "tui", "stats", "question_sets", "benchmarks")


def compile_project() -> None:
    """Write the project's bytecode once before measuring, as a first run would: no
    measured command then pays for compiling the modules it imports."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, profile what misses, write the file; exit 0 (a miss is reported, not fatal)."""
    args = parse(argv)
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - set(STEPS if args.backend == "sqlite" else PG_STEPS)
    least = MIN_MILLION_CASES if args.million else MIN_CASES
    small_import = args.import_cases is not None and (
        args.million or args.import_cases < MIN_IMPORT_CASES)
    if unknown or args.cases < least or args.runs < 1 or args.repeats < 1 \
            or args.startup_runs < 1 or small_import:
        print(f"bad options: {', '.join(sorted(unknown)) or 'counts must be >= 1'} "
              f"(--cases at least {least:,}; --import-cases at least {MIN_IMPORT_CASES}, "
              "not with --million; the app step is SQLite-only)", file=sys.stderr)
        return 2
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    ctx = steps.Context(work, args.cases, args.runs, args.repeats, args.reuse_demo,
                        backend=args.backend, server=args.server, million=args.million,
                        prefix=args.pg_prefix, suite_args=tuple(args.suite_args.split()),
                        import_runs=args.import_runs, import_cases=args.import_cases,
                        startup_runs=args.startup_runs)
    compile_project()
    before = snapshot(ROOT)
    steps.log(f"{before.cpu}, {before.cores} cores; load {before.load}; commit "
              f"{before.commit}; work dir {work}")
    if ctx.postgres:
        before = dataclasses.replace(
            before, libraries=f"{before.libraries}, {pg.server_version(ctx.server)}")
    start = time.perf_counter()
    try:
        figures = measure(ctx, wanted)
        plans = steps.plans(ctx) if ctx.postgres and "compare" in wanted else {}
        after = load_average()
        steps.save_raw(work / "samples.json", figures)
        # Before the scratch databases go: the profiles run against them.
        profiles = {} if args.no_profile else profile_missed(figures, ctx)
    except StepFailed as exc:
        print(f"benchmark step failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if ctx.postgres and not args.keep_databases:
            for name in ctx.scratch:
                pg.drop(ctx.server, name)
    command = "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in (
        argv if argv is not None else sys.argv[1:]))
    text = markdown.render(figures, before, after, cases=args.cases, runs=args.runs,
                           seconds=time.perf_counter() - start, profiles=profiles,
                           command=command.strip(), backend=args.backend,
                           million=args.million, plans=plans,
                           import_cases=args.import_cases)
    markdown.write(args.out, text)
    missed = [f.key for f in figures if f.met is False]
    steps.log(f"wrote {args.out}; missed: {', '.join(missed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
