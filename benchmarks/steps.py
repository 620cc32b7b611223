"""The measured steps: demo build, import, compare and its floor, models, report, app.

Every step runs its measured work in subprocesses (`measure.run`), `runs` times unless
it is a one-off build, and returns its figures.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks import datagen, floor, pg
from benchmarks.figures import Figure, peak
from benchmarks.measure import Sample, child_env, cli, run, worker

INSPECTOR = "Bench Inspector"
MILLION_COPIES = 10  # --million: the importer's 100,000 cases, grown 10 times on the server
IMPORT_INSPECTION = "bench-import"
STARTUP_RUNS = 5  # runs of `--version`, `--help` and `info` (at least `runs`): tenths of a s


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Context:
    """Where the suite works and how much it measures."""

    work: Path
    cases: int
    runs: int
    repeats: int
    reuse_demo: bool = False
    backend: str = "sqlite"  # or "postgresql"
    server: str = pg.DEFAULT_SERVER  # PostgreSQL: the server's URL (any database on it)
    million: bool = False  # PostgreSQL: compare on the importer's database (40 answers/case)
    prefix: str = pg.DEMO_DB  # PostgreSQL: scratch databases PREFIX, PREFIX_import, ...
    suite_args: tuple[str, ...] = ()  # the suite step: pytest paths (default: all tests)
    import_runs: int | None = None  # runs of the import steps (default: `runs`)
    import_cases: int | None = None  # cases in the import files (default: see below)
    startup_runs: int = STARTUP_RUNS

    @property
    def imported_cases(self) -> int:
        """Cases the importer loads: `import_cases` when set, else `cases`; --million
        loads a tenth and grows it on the server."""
        if self.million:
            return self.cases // MILLION_COPIES
        return self.cases if self.import_cases is None else self.import_cases

    @property
    def n_imports(self) -> int:
        """How many times each import step runs (the million import once)."""
        return 1 if self.million else (self.import_runs or self.runs)

    @property
    def scratch(self) -> tuple[str, ...]:
        """PostgreSQL: the names of the scratch databases this run makes (and drops)."""
        if self.million:
            return (f"{self.prefix}_million",)
        return (self.prefix, f"{self.prefix}_import")

    @property
    def postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def sqlite_demo(self) -> Path:
        """The SQLite demo database (on PostgreSQL, the source of the COPY load)."""
        return self.work / "bench.db"

    @property
    def demo_db(self) -> str:
        """The database compare, report, exports and the app read."""
        if not self.postgres:
            return str(self.sqlite_demo)
        return self.import_db if self.million else pg.url_for(self.server, self.scratch[0])

    @property
    def import_db(self) -> str:
        if self.postgres:
            return pg.url_for(self.server, self.scratch[-1])
        return str(self.work / "import.db")

    @property
    def env(self) -> dict[str, str]:
        return child_env({"IOM_AUDIT_INSPECTOR": INSPECTOR,
                          "IOM_AUDIT_SETTINGS": str(self.work / "settings.json")})

    def cli(self, db: Path | str, *args: str, label: str = "") -> Sample:
        """Run `iom-audit --db DB ARGS` as a measured subprocess."""
        return run([*cli(), "--db", str(db), *args], env=self.env, cwd=self.work,
                   label=label or " ".join(args[:2]))

    def fresh(self, db: str) -> None:
        """An empty database at `db`: the SQLite files removed, or the scratch one recreated."""
        if self.postgres:
            pg.recreate(self.server, sa_name(db))
        else:
            remove_db(Path(db))


def sa_name(url: str) -> str:
    """The database name of a URL."""
    return str(sa.engine.make_url(url).database)


def remove_db(path: Path) -> None:
    """Delete a SQLite database with its WAL, shared-memory and backup files."""
    for p in path.parent.glob(path.name + "*"):
        p.unlink()


def demo(ctx: Context) -> list[Figure]:
    """Build the N-case demo database once (or reuse it with --reuse-demo).

    On PostgreSQL it is built on SQLite and copied in with COPY (`benchmarks.pg`); with
    --million there is no demo: compare reads the importer's database.
    """
    if ctx.million:
        return []
    figures = _sqlite_demo(ctx)
    if ctx.postgres:
        log("copying the demo database into PostgreSQL (COPY) ...")
        start = time.perf_counter()
        url = pg.recreate(ctx.server, ctx.scratch[0])
        # In a child process, as the import files are made: Linux carries a process's
        # peak RSS into the children it forks, and the copy would set every later step's
        # peak memory to its own (285 MB for `--version` in the first quiet run).
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            rows = pool.submit(pg.copy_from_sqlite, ctx.sqlite_demo, url).result()
        took = time.perf_counter() - start
        log(f"  copied {rows.get('answer', 0):,} answers in {took:.1f} s")
        figures.append(Figure("pg_copy", "Copy the demo database into PostgreSQL (COPY, "
                              f"{rows.get('answer', 0):,} answers, "
                              f"{rows.get('audit_event', 0):,} trail events)", [took],
                              "1 (one-off)", None,
                              note="migrate, COPY every table from the SQLite demo, "
                                   "VACUUM ANALYZE; the bench's own loader, not a user path"))
    return figures


def _sqlite_demo(ctx: Context) -> list[Figure]:
    stamp = ctx.work / "bench.db.cases"
    if ctx.reuse_demo and ctx.sqlite_demo.exists() and stamp.exists() \
            and stamp.read_text() == str(ctx.cases):
        log(f"reusing {ctx.sqlite_demo} ({ctx.cases:,} cases): demo build not measured")
        return []
    remove_db(ctx.sqlite_demo)
    stamp.unlink(missing_ok=True)
    log(f"building the {ctx.cases:,}-case demo database ...")
    s = ctx.cli(ctx.sqlite_demo, "demo", "--cases", str(ctx.cases))
    stamp.write_text(str(ctx.cases))
    log(f"  demo built in {s.seconds:.1f} s")
    name = f"Build the demo database (`demo --cases {ctx.cases}`)"
    if ctx.postgres:
        name += " on SQLite, the source of the copy"
    return [Figure("demo", name, [s.seconds], "1 (one-off)", s.peak_mb)]


def imports(ctx: Context) -> list[Figure]:
    """init + import cases + import ratings into a fresh database, `runs` times."""
    start = time.perf_counter()
    # In a child process: Linux carries a process's peak RSS into the children it forks
    # (and through exec), so generating 4,000,000 rows here would inflate every later
    # step's peak memory to this process's.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        files, built = pool.submit(datagen.ensure_files, ctx.work / "import-csv",
                                   ctx.imported_cases).result()
    made = time.perf_counter() - start
    how = f"generated in {made:.1f} s" if built else "reused"
    log(f"import CSVs: {files.n_cases:,} cases, {files.n_ratings:,} ratings ({how})")
    init, cases, ratings = [], [], []
    n_runs = ctx.n_imports  # the million import takes many minutes
    for k in range(n_runs):
        ctx.fresh(ctx.import_db)
        init.append(_init(ctx))
        cases.append(ctx.cli(ctx.import_db, "import", "cases", str(files.cases)))
        ratings.append(ctx.cli(ctx.import_db, "import", "ratings", str(files.ratings)))
        log(f"  import run {k + 1}/{n_runs}: cases {cases[-1].seconds:.1f} s, "
            f"ratings {ratings[-1].seconds:.1f} s")
    grown: list[Figure] = []
    if ctx.million:
        log(f"replicating the imported cases {MILLION_COPIES} times on the server ...")
        began = time.perf_counter()
        rows = pg.replicate(ctx.import_db, MILLION_COPIES)
        took = time.perf_counter() - began
        log(f"  {rows.get('case', 0):,} cases, {rows.get('answer', 0):,} answers "
            f"in {took:.0f} s")
        grown.append(Figure("million_copy", f"Grow the imported database {MILLION_COPIES} "
                            f"times on the server ({rows.get('case', 0):,} cases, "
                            f"{rows.get('answer', 0):,} answers)", [took], "1 (one-off)",
                            None, note="the bench's own loader (`benchmarks.pg.replicate`), "
                            "not a user path: INSERT ... SELECT of the cases and their "
                            "answers, `ix_answer_tally` built once after"))
    if ctx.postgres:
        # As autovacuum would after a bulk load: statistics and the visibility map that
        # index-only scans need (the --million compare reads this database).
        pg.vacuum(ctx.import_db)
    runs = f"{n_runs}"
    total = [c.seconds + r.seconds for c, r in zip(cases, ratings, strict=True)]

    def prepare() -> None:
        ctx.fresh(ctx.import_db)
        _init(ctx)
        ctx.cli(ctx.import_db, "import", "cases", str(files.cases))

    return grown + [
        Figure("init", "`init` (fresh database, iom-thematic-2019)", [s.seconds for s in init],
               runs, peak(*(s.peak_mb for s in init))),
        Figure("import_cases", f"`import cases` ({files.n_cases:,} rows)",
               [s.seconds for s in cases], runs, peak(*(s.peak_mb for s in cases))),
        Figure("import_ratings", f"`import ratings` ({files.n_ratings:,} rows)",
               [s.seconds for s in ratings], runs, peak(*(s.peak_mb for s in ratings))),
        Figure("import", "Import total (cases + ratings)", total, runs,
               peak(*(s.peak_mb for s in cases + ratings)),
               limit=IMPORT_LIMIT_PG if ctx.postgres else IMPORT_LIMIT,
               note="CLI wall time, interpreter start-up included",
               profile=[*_script(), "--db", str(ctx.import_db), "import", "ratings",
                        str(files.ratings)], prepare=prepare),
    ]


def varied_import(ctx: Context) -> list[Figure]:
    """The 2.7M-answer file with many covariate patterns (`datagen.ensure_varied_files`):
    every profile field varies, rules fire case by case, rows in no useful order."""
    if ctx.million:
        return []
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        files, built = pool.submit(datagen.ensure_varied_files, ctx.work / "import-varied",
                                   ctx.imported_cases).result()
    log(f"varied CSVs: {files.n_cases:,} cases, {files.n_ratings:,} ratings "
        f"({'generated' if built else 'reused'})")
    cases, ratings = [], []
    for k in range(ctx.n_imports):
        ctx.fresh(ctx.import_db)
        _init(ctx)
        cases.append(ctx.cli(ctx.import_db, "import", "cases", str(files.cases)))
        ratings.append(ctx.cli(ctx.import_db, "import", "ratings", str(files.ratings)))
        log(f"  varied import run {k + 1}/{ctx.n_imports}: cases {cases[-1].seconds:.1f} s, "
            f"ratings {ratings[-1].seconds:.1f} s")
    runs = str(ctx.n_imports)

    def prepare() -> None:
        ctx.fresh(ctx.import_db)
        _init(ctx)
        ctx.cli(ctx.import_db, "import", "cases", str(files.cases))

    return [
        Figure("import_varied_ratings", f"Varied file: `import ratings` ({files.n_ratings:,} "
               "answers, many covariate patterns, rows shuffled)",
               [s.seconds for s in ratings], runs, peak(*(s.peak_mb for s in ratings)),
               limit=IMPORT_LIMIT_PG if ctx.postgres else IMPORT_LIMIT,
               note="CLI wall time, interpreter start-up included; every profile field "
                    "varies, non-statutory and post-release rules and follow-ups fire case "
                    "by case, cases part-rated, 3% of rows with a note, rows shuffled",
               profile=[*_script(), "--db", str(ctx.import_db), "import", "ratings",
                        str(files.ratings)], prepare=prepare),
        Figure("import_varied_cases", f"Varied file: `import cases` ({files.n_cases:,} cases, "
               "every profile field set)", [s.seconds for s in cases], runs,
               peak(*(s.peak_mb for s in cases)),
               note="for information: 16 fields per case, each with its creation event"),
    ]


def _init(ctx: Context) -> Sample:
    return ctx.cli(ctx.import_db, "init", "--inspection", IMPORT_INSPECTION, "--kind", "core",
                   "--question-set", datagen.QUESTION_SET)


def _script() -> list[str]:
    """The console script as a file pyinstrument can run (argv after `python`)."""
    first = cli()
    return first if len(first) == 1 else ["-c", first[-1]]


def compare(ctx: Context) -> list[Figure]:
    """compare --by iom --questions all in-process, against the raw GROUP BY floor."""
    results, cli_runs = [], []
    for k in range(ctx.runs):
        s = run(worker("compare", "--db", str(ctx.demo_db)), env=ctx.env, label="compare")
        results.append((s, s.json()))
        # `--json FILE` refuses to overwrite (since 5a0b298): a fresh name each run, as
        # typed, without --force.
        (ctx.work / "c.json").unlink(missing_ok=True)
        cli_runs.append(ctx.cli(ctx.demo_db, "compare", "--by", "iom", "--questions", "all",
                                "--json", str(ctx.work / "c.json")))
        r = results[-1][1]
        log(f"  compare run {k + 1}/{ctx.runs}: ours {r['compare']:.2f} s, floor "
            f"{r['floor_joined']:.2f} s ({r['ratio']:.1f}x); CLI {cli_runs[-1].seconds:.1f} s")
    runs = str(ctx.runs)
    if ctx.postgres:
        return _compare_pg(ctx, results, cli_runs)
    mem = peak(*(s.peak_mb for s, _ in results))
    n_q = results[0][1]["questions"]
    prof = ["-m", "benchmarks.worker", "compare", "--db", str(ctx.demo_db)]
    return [
        Figure("compare_cli", f"`iom-audit compare --by iom --questions all --json FILE` end "
               f"to end ({n_q} questions)", [s.seconds for s in cli_runs], runs,
               peak(*(s.peak_mb for s in cli_runs)), limit=COMPARE_CLI_LIMIT,
               note="CLI wall time, interpreter start-up included (issue 19)",
               profile=[*_script(), "--db", str(ctx.demo_db), "compare", "--by", "iom",
                        "--questions", "all", "--json", str(ctx.work / "c.json"), "--force"]),
        Figure("compare_cli_ratio", "compare end to end / floor `GROUP BY 1, 2` (same run)",
               [s.seconds / r["floor_simple"] for s, (_, r) in zip(cli_runs, results,
                                                                  strict=True)],
               runs, None, limit=COMPARE_CLI_RATIO, unit="x",
               note="each run's CLI time over the floor measured just before it"),
        Figure("compare", f"`compare --by iom --questions all` in-process ({n_q} questions)",
               [r["compare"] for _, r in results], runs, mem,
               note="for information: `audit.views.analysis.compare(db, by='iom', "
                    "questions='all')` as the command runs it (with the independent effect "
                    "of IOM per question), first call after imports", profile=prof),
        Figure("compare_counts", "the same without the independent effect "
               "(`independent_effect=False`)", [r["compare_counts_only"] for _, r in results],
               runs, mem, note="for information: counts and significance tests only"),
        Figure("floor", "Floor: SQLite GROUP BY joined to case (same filters)",
               [r["floor_joined"] for _, r in results], runs, mem),
        Figure("floor_simple", "Floor: `SELECT question_id, value, count(*) FROM answer "
               "GROUP BY 1, 2`", [r["floor_simple"] for _, r in results], runs, mem),
        Figure("compare_ratio", "compare in-process / joined floor (same run)",
               [r["ratio"] for _, r in results], runs, None, unit="x",
               note="for information"),
    ]


def _compare_pg(ctx: Context, results: list[tuple[Sample, dict[str, Any]]],
                cli_runs: list[Sample]) -> list[Figure]:
    """The PostgreSQL figures: the command as typed against the server's GROUP BY floor."""
    runs, n_q = str(ctx.runs), results[0][1]["questions"]
    mem = peak(*(s.peak_mb for s, _ in results))
    simple = [r["floor_simple"] for _, r in results]
    end_to_end = [s.seconds for s in cli_runs]
    limit = 15.0 if ctx.million else 3.0  # issue 19: < 3 s at 100,000 cases, < 15 s at 1M
    answers = pg.answer_count(ctx.demo_db)
    return [
        Figure("compare_cli", f"`iom-audit compare --by iom --questions all --json FILE` end "
               f"to end ({n_q} questions, {answers:,} answers)", end_to_end, runs,
               peak(*(s.peak_mb for s in cli_runs)), limit=limit,
               note="CLI wall time, interpreter start-up and connection included",
               profile=[*_script(), "--db", ctx.demo_db, "compare", "--by", "iom",
                        "--questions", "all", "--json", str(ctx.work / "c.json"), "--force"]),
        Figure("floor_simple", "Floor: `SELECT question_id, value, count(*) FROM answer "
               "GROUP BY 1, 2` on the server", simple, runs, None,
               note="psycopg, a fresh connection, every row fetched"),
        Figure("compare_cli_ratio", "compare end to end / floor (same run)",
               [s.seconds / f for s, f in zip(cli_runs, simple, strict=True)], runs, None,
               unit="x", note="for information: the SQLite target of < 1.5x, applied here"),
        Figure("compare", f"`compare --by iom --questions all` in-process ({n_q} questions)",
               [r["compare"] for _, r in results], runs, mem,
               note="as in the SQLite table: the work after imports and connection"),
        Figure("floor", "Floor: GROUP BY joined to case (same filters) on the server",
               [r["floor_joined"] for _, r in results], runs, mem),
        Figure("compare_ratio", "compare in-process / joined floor (same run)",
               [r["ratio"] for _, r in results], runs, None, unit="x"),
    ]


def models(ctx: Context) -> list[Figure]:
    """The twelve key-question regressions, `stats.regression.independent_effects`."""
    samples = []
    for k in range(ctx.runs):
        s = run(worker("models", "--db", str(ctx.demo_db)), env=ctx.env, label="models")
        samples.append((s, s.json()))
        log(f"  models run {k + 1}/{ctx.runs}: {samples[-1][1]['models']:.2f} s")
    first = samples[0][1]
    return [Figure("models", f"Independent-effect models ({first['count']} key questions)",
                   [r["models"] for _, r in samples], str(ctx.runs),
                   peak(*(s.peak_mb for s, _ in samples)), limit=5,
                   note="`independent_effects` on the frame compare reads (read excluded); "
                        f"statuses: {', '.join(first['statuses'])}",
                   profile=["-m", "benchmarks.worker", "models", "--db", str(ctx.demo_db)])]


EXPORT_MEMORY_MB = 300  # issue 17: every format streams, whatever the number of cases
# Issue 19's targets (2-core machine, 100,000 cases).
IMPORT_LIMIT, IMPORT_LIMIT_PG = 25.0, 60.0
COMPARE_CLI_LIMIT, COMPARE_CLI_RATIO = 3.5, 1.5
REPORT_LIMIT = 4.0
CASE_READY_LIMIT = 0.3
STARTUP_LIMIT, INFO_LIMIT = 0.3, 1.2


def outputs(ctx: Context) -> list[Figure]:
    """report --out X.pdf and `export` in every researcher format: time and peak memory."""
    out = ctx.work / "out"
    jobs = {
        "report": (["report", "--out", str(out / "report.pdf")], "Full `report` PDF",
                   REPORT_LIMIT),
        "report_docx": (["report", "--out", str(out / "report.pdf"), "--docx",
                         str(out / "report.docx")],
                        "Full `report` as PDF and Word (`--docx`)", REPORT_LIMIT),
        **{f"export_{fmt}": (["export", "--format", fmt, "--out", str(out / fmt)],
                             f"`export --format {fmt}`", None)
           for fmt in ("csv", "parquet", "stata", "spss")},
        # The long layout has a row per answer (26 per case here): memory must not grow
        # with them. One run each: the row loop of pyreadstat takes a minute or more.
        **{f"export_{fmt}_long": (
            ["export", "--format", fmt, "--long", "--out", str(out / fmt)],
            f"the long layout, `export --format {fmt} --long`", None)
           for fmt in ("stata", "spss")},
    }
    figures = startup(ctx)
    for key, (args, name, limit) in jobs.items():
        samples = []
        for k in range(1 if key.endswith("_long") else ctx.runs):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            samples.append(ctx.cli(ctx.demo_db, *args))
            log(f"  {key} run {k + 1}: {samples[-1].seconds:.1f} s, "
                f"{samples[-1].peak_mb:.0f} MB")
        figures.append(Figure(key, name, [s.seconds for s in samples], str(len(samples)),
                              peak(*(s.peak_mb for s in samples)), limit=limit,
                              note="CLI wall time, interpreter start-up included",
                              profile=[*_script(), "--db", str(ctx.demo_db), *args]))
        if key.startswith("export_"):
            figures.append(Figure(
                f"{key}_memory", f"Peak memory of {name}", [s.peak_mb for s in samples],
                str(len(samples)), peak(*(s.peak_mb for s in samples)),
                limit=EXPORT_MEMORY_MB,
                unit="MB", stat="p95",
                note="max RSS of the CLI process (getrusage of the child), imports included"))
    return figures


def startup(ctx: Context) -> list[Figure]:
    """`--version`, `--help` and `info`: the commands a person types first, as typed."""
    figures = []
    for key, args, name, limit in (
            ("cli_version", ["--version"], "`iom-audit --version`", STARTUP_LIMIT),
            ("cli_help", ["--help"], "`iom-audit --help`", STARTUP_LIMIT),
            ("cli_info", ["info"], "`iom-audit info`", INFO_LIMIT)):
        runs = max(ctx.runs, ctx.startup_runs)
        samples = [ctx.cli(ctx.demo_db, *args) for _ in range(runs)]
        log(f"  {key}: {', '.join(f'{s.seconds:.2f}' for s in samples)} s")
        figures.append(Figure(key, name, [s.seconds for s in samples], str(len(samples)),
                              peak(*(s.peak_mb for s in samples)), limit=limit,
                              note="CLI wall time, interpreter start-up included",
                              profile=[*_script(), "--db", str(ctx.demo_db), *args]))
    return figures


def app(ctx: Context) -> list[Figure]:
    """The app in-process with the Pilot: ready time, `j` and answer latencies."""
    results = []
    for k in range(ctx.runs):
        s = run(worker("app", "--db", str(ctx.demo_db), "--repeats", str(ctx.repeats),
                       "--launched", repr(time.time())), env=ctx.env, label="app")
        r = s.json()
        if not r["verified"]:
            raise RuntimeError("the app's last answer was not found in the database")
        results.append((s, r))
        log(f"  app run {k + 1}/{ctx.runs}: ready {r['ready']:.2f} s")
    views = comparison_view(ctx)
    mem = peak(*(s.peak_mb for s, _ in results))
    runs = str(ctx.runs)
    presses = f"{ctx.runs} x {ctx.repeats} presses"
    nexts = [v for _, r in results for v in r["next_question"]]
    answers = [v for _, r in results for v in r["record_answer"]]
    commits = [v for _, r in results for v in r["commit_floor"]]
    prof = ["-m", "benchmarks.worker", "app", "--db", str(ctx.demo_db), "--repeats",
            str(ctx.repeats)]
    return [
        Figure("app_ready", "App ready (run_test start to dashboard shown)",
               [r["ready"] for _, r in results], runs, mem, limit=1.5,
               note="database opened, app built, start screen confirmed (two inspections), "
                    "dashboard's progress loaded", profile=prof, session="ready"),
        Figure("app_case_ready", "App: case opened and ready for keys (`enter` in the list)",
               [r["case_ready"] for _, r in results], runs, mem, limit=CASE_READY_LIMIT,
               note="from `enter` on the case list until the case is read, its screen "
                    "shows the question and takes keys, its setup processed (issue 19)",
               profile=prof, session="case"),
        Figure("app_ready_launch", "App ready, counted from process launch",
               [r["ready_since_launch"] for _, r in results], runs, mem,
               note="for information: adds interpreter start-up and imports"),
        Figure("app_next", "Next question (`j`), median", nexts, presses, mem, limit=50,
               unit="ms", profile=prof, session="next"),
        Figure("app_next_p95", "Next question (`j`), p95", nexts, presses, mem, limit=50,
               unit="ms", stat="p95", profile=prof, session="next"),
        Figure("app_answer", "Record answer (`y`/`n`, stored), median", answers, presses, mem,
               limit=50, unit="ms", profile=prof, session="answer"),
        Figure("app_answer_p95", "Record answer (`y`/`n`, stored), p95", answers, presses,
               mem, limit=50, unit="ms", stat="p95", profile=prof, session="answer"),
        Figure("commit_floor", "Floor: one-row SQLite commit (WAL, synchronous=FULL), median",
               commits, f"{ctx.runs} x {len(results[0][1]['commit_floor'])} commits", None,
               unit="ms", note="raw sqlite3 INSERT + COMMIT on a scratch file in the work "
                               "directory: what the disk allows an acknowledged answer"),
        Figure("commit_floor_p95", "Floor: one-row SQLite commit, p95", commits,
               f"{ctx.runs} x {len(results[0][1]['commit_floor'])} commits", None, unit="ms",
               stat="p95"),
        *views,
    ]


def comparison_view(ctx: Context) -> list[Figure]:
    """The app's comparison view at scale, opened from a settled dashboard and the moment
    the dashboard shows, each in its own app session, with the floor in the same process."""
    settled: list[tuple[Sample, dict[str, Any]]] = []
    at_once: list[tuple[Sample, dict[str, Any]]] = []
    for k in range(ctx.runs):
        for wanted, args in ((settled, ()), (at_once, ("--at-once",))):
            s = run(worker("app_comparison", "--db", str(ctx.demo_db), *args), env=ctx.env,
                    label="app comparison")
            wanted.append((s, s.json()))
        log(f"  comparison view run {k + 1}/{ctx.runs}: {settled[-1][1]['comparison']:.2f} s "
            f"(at once {at_once[-1][1]['comparison']:.2f} s, again "
            f"{settled[-1][1]['comparison_again']:.2f} s; floor "
            f"{settled[-1][1]['floor_simple']:.2f} s)")
    runs = str(ctx.runs)
    mem = peak(*(s.peak_mb for s, _ in settled + at_once))
    n_q = settled[0][1]["questions"]
    return [
        Figure("app_comparison", f"App: comparison view shown, all {n_q} questions (`m` on "
               "the settled dashboard)", [r["comparison"] for _, r in settled], runs, mem,
               limit=1.5, note="from the key to the table shown (every yes/no question, "
               "IOM vs non-IOM, every inspection with both groups), counted in the app's "
               "worker through compare's counting path; the dashboard's per-inspector counts "
               "shown first, as a user who reads it meets the view"),
        Figure("app_comparison_at_once", "the same, `m` the moment the dashboard shows",
               [r["comparison"] for _, r in at_once], runs, mem,
               note="for information: the app's background import of the statistics "
                    "libraries and the dashboard's per-inspector counting may still run"),
        Figure("app_comparison_again", "the same again (`esc`, `m`: the app's cache)",
               [r["comparison_again"] for _, r in settled], runs, mem,
               note="for information: unchanged data is not counted again"),
        Figure("app_comparison_floor", "Floor for the view: `SELECT question_id, value, "
               "count(*) FROM answer GROUP BY 1, 2` (same processes)",
               [r["floor_simple"] for _, r in settled], runs, None),
    ]


SUITE_LIMIT = 240.0  # issue 19: `make test` on 2 cores < 4 min


def suite(ctx: Context) -> list[Figure]:
    """`make test`'s pytest command, as the Makefile runs it (CI=true: PostgreSQL tests
    must run), once: the wall time of the whole suite with its three workers."""
    root = Path(__file__).resolve().parents[1]
    env = {**ctx.env, "CI": "true", "PYTHONDONTWRITEBYTECODE": ""}
    env.pop("IOM_AUDIT_INSPECTOR", None)
    env.pop("IOM_AUDIT_SETTINGS", None)
    argv = [sys.executable, "-m", "pytest", "-q", "-n", "3", "--dist", "loadgroup",
            "--no-loadscope-reorder", "-p", "no:cacheprovider", "--durations=20",
            *ctx.suite_args]
    log(f"running the test suite ({' '.join(ctx.suite_args) or 'all of it'}) ...")
    s = run(argv, env=env, cwd=root, label="test suite")
    tail = [line for line in s.stdout.strip().splitlines() if " in " in line][-1:]
    log(f"  suite: {s.seconds:.0f} s ({tail[0] if tail else 'no summary'})")
    what = "the whole suite" if not ctx.suite_args else " ".join(ctx.suite_args)
    return [Figure("suite", f"`make test` ({what}, 3 workers, PostgreSQL included)",
                   [s.seconds], "1 (one-off)", None, limit=SUITE_LIMIT,
                   note="pytest as the Makefile runs it, CI=true, wall time; "
                        f"{tail[0].strip('= ') if tail else ''}",
                   detail=_slowest(s.stdout))]


def _slowest(output: str) -> str:
    """pytest's `--durations` block: the slowest tests, where a miss is looked for."""
    lines = output.splitlines()
    start = next((k for k, line in enumerate(lines) if "slowest" in line), None)
    if start is None:
        return ""
    block: list[str] = []
    for line in lines[start:]:
        if block and (not line.strip() or line.startswith("=")):
            break
        block.append(line)
    return "\n".join(block)


def save_raw(path: Path, figures: list[Figure]) -> None:
    """Every sample, for later comparison (JSON beside the work files)."""
    path.write_text(json.dumps({f.key: {"values": f.values, "peak_mb": f.peak_mb}
                                for f in figures}, indent=1))


def plans(ctx: Context) -> dict[str, str]:
    """PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)` of the tally's statement and the floors.

    Run after the measured steps on the database compare read, with compare's own
    arguments (the IOM comparison with the independent effect's covariates).
    """
    from audit.store.engine import open_database
    from audit.views import analysis
    from audit.views.frames import group_expression
    from audit.views.tally import case_keys, int_array, server_tally_sql
    from stats.regression import DEFAULT_COVARIATES

    db = open_database(ctx.demo_db)
    try:
        where = analysis.comparable(db, analysis.scope(db), "iom")
        qids = analysis.select_questions(where.question_set, "all")
        keys = ["iom", *DEFAULT_COVARIATES]
        cases = case_keys(db, where.inspection_ids, {k: group_expression(k) for k in keys})
        cases = cases[cases["iom"].notna()].sort_index()
        pattern = cases.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
        tally_sql = str(server_tally_sql().compile(dialect=db.engine.dialect))
    finally:
        db.dispose()
    params = {"inspection_ids": list(where.inspection_ids),
              "case_ids": int_array(cases.index.to_numpy()), "patterns": int_array(pattern),
              "rater": "primary", "questions": list(qids)}
    joined, joined_params = floor.joined_sql(where.inspection_ids, qids, mark="%s")
    return {
        "The tally (`audit.views.tally`, PostgreSQL path: pattern numbers joined on the "
        f"server, GROUP BY question, value, pattern; {len(cases):,} cases, "
        f"{int(pattern.max()) + 1 if len(pattern) else 0:,} patterns)":
            pg.explain(ctx.demo_db, tally_sql, params),
        "Floor: GROUP BY joined to case (same filters)":
            pg.explain(ctx.demo_db, joined, joined_params),
        "Floor: `SELECT question_id, value, count(*) FROM answer GROUP BY 1, 2`":
            pg.explain(ctx.demo_db, pg.SIMPLE),
    }
