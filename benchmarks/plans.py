"""What we know about each missed target: the diagnosis and the plan (kept by hand).

The harness prints the plan of a figure under "Missed targets" whenever that figure
misses, beside the fresh profile. Update the text when the code changes. The before and
after of each fixed miss is in `benchmarks/history.md`.
"""

from __future__ import annotations

PLANS: dict[str, str] = {
    "import": """
**Where the time goes** (`import ratings`, pyinstrument on 540,000 and 800,000 rows, issue
19): writing the trail. Every answer has its own audit event, chained by SHA-256 to the
one before: `chain_bulk.BulkEvents.write` is about 55-60% of the command (SQLite inserting
the event rows with their three indexes, and the chain function hashing each row in
Python, about a quarter of that), the answers' own `INSERT ... SELECT` 20-25%, the index
build after it 4%, parsing and checks the rest. Plan items 1, 3 and 4 of the first run are
done (no staging diff for new answers, indexes built once after a bulk insert, categorical
codes); the answers and events are now written case by case, which halved a shuffled
file's paging (system time 6.8 s to 1.7 s at 540,000 rows).

**What is left** is the trail's design, not the importer: one event per answer costs a
row of about 200 bytes and a hash each. Under 25 s needs either a summary event per file
for *created* answers (file digest, row count, inspector; the answers themselves stay
verifiable against the digest), a contract change of the audit trail to agree with the
safety owner first (docs/security.md), or the chain hashed on a second core beside
SQLite's insert.""",
    "import_varied_ratings": """
**Why the varied file costs more per answer than the friendly one**: every profile field
varies, rules and follow-ups fire case by case, 3% of rows carry a note (each note its own
event and digest: the chain's value cache only helps values that repeat), and the rows
come in no useful order. In file order the answers' unique index and the trail's case index
were written at random pages; they are now written case by case (`_in_order`). What
remains is the per-answer trail, as for `import` above.""",
    "compare": """
**Where the time goes**: `compare` is one tally (`audit.views.tally.pattern_counts`): a read of
the cases' profile (100,000 rows) and one `group_concat` per question and value in the
order of `ix_answer_tally`, then numpy counts and the statistics (the independent-effect
fits on covariate-pattern counts). A miss now means one of these grew: check in the profile
whether `answer_lists.read_lists` still reads the index without a sort (`EXPLAIN QUERY PLAN`:
`USING COVERING INDEX ix_answer_tally`, no `TEMP B-TREE`), and whether
`compare_counts` or `case_keys` dominate. End to end, the read runs in a thread
(`answer_lists.prefetch`) while the statistics stack imports, so the command's time is the
interpreter's own work (start-up, imports, fits): see `python -X importtime`.""",
    "compare_cli": """
**Where the time goes** (the command as typed): interpreter start-up and imports (pandas,
SQLAlchemy and sqlmodel, scipy.stats through statsmodels: about a second of work only the
interpreter can do), the answer lists read by SQLite (`audit.views.answer_lists`, started
in a thread as soon as the questions are known, so it runs beside the imports), then numpy
counts, chi-square p-values (`scipy.special`) and the independent-effect fits
(statsmodels, imported in the background while SQLite groups the cases). The process
freezes its heap before exiting (the exit's cycle collections walked every object the
libraries made). What remains above the floor is the imports: statsmodels' GLM needs
scipy.stats.""",
    "compare_cli_ratio": """
See `compare_cli`. The floor is one `GROUP BY` in a process that has imported only
sqlite3; the command must also import pandas, SQLAlchemy and statsmodels, about a second of
interpreter work that no thread can share. **Why more threads or a second process would
not close the gap** (measured in issue 19): the command uses 2.7-3.0 s of CPU (user) for
its 1.6 s of wall time, so on two cores it cannot finish in under about 1.4 s however the
work is spread, against a target of 1.5x a 0.92 s floor (1.38 s). Fitting the models in a
forked process was weighed: the fork would import statsmodels beside SQLite's read on the
same second core. Under target needs less CPU: fewer or lighter imports (scipy.stats
through statsmodels' GLM is the largest) or a cheaper read than the answer lists.""",
    "compare_ratio": """
See the `compare` entry. The floor is the plain joined `GROUP BY` that `compare` no longer
runs; a ratio near or above 1 means the tally has lost its index-ordered read.""",
    "report": """
**Where the time goes** (pyinstrument, issue 19): imports about a third (pandas,
SQLAlchemy, scipy; statsmodels and the PDF/Word writers import in the background while
tables are compiled), the tables' scans, complementary suppression (the attack linear
programs, `scipy.optimize.linprog`/`milp`; a program solved once is not solved again) and
reportlab's two layout passes (with `rl-accel`). Done: each question's answers are read
once per report (`tally.shared_answer_scan`, the key and factor questions on the second
core, the comparisons counting from it); the cases are grouped once for both comparisons
and the ratings (`tally.share_case_grouping`; on PostgreSQL the key questions are counted once
per pattern on the server); young objects are collected after 10,000 allocations
(`COLLECT_AFTER`). What is left is mostly layout and the programs: profile
`iom-audit report --out x.pdf` and look under `compile_report` and `write_pdf`;
suppression split across processes was tried and lost the programs' cache.""",
    "report_docx": """
As the PDF report, plus python-docx building the Word tables (rows listed once per table,
not walked per cell) and the charts drawn as PNG for Word. The Word document is written in
a forked copy of the process (`audit.views.background.beside`, Linux and the main thread
only) while the PDF is written, so what is left is the PDF's path plus the fork's wait.""",
    "app_case_ready": """
**Where the time goes** (pyinstrument `case` phase of `benchmarks.worker app`): showing
the case screen for the first time: Textual styles, lays out and paints its widgets. The
profile is one read-only widget (`ProfileSummary`); its form (fifteen controls, once half
of this figure) is built only when `p`, a click or the focus enters it. The footer's keys
are styled once as they mount, and the case list's footer no longer rebuilds after the
`enter` (`tui/widgets/key_footer.py`). What is left is spread: the question tree and panel,
the footer's keys, the first paint. Reading the case runs in a worker (60-90 ms) and is
not on the critical path. **Plan** if it misses again: draw the footer's keys as one
widget; reuse one case screen from one case to the next.""",
    "app_ready": """
**Where the time goes**: the start screen, then the dashboard's first stage (sites and
totals from the `case` table). Per-inspector counts come from a second worker and are not
part of this figure. A miss means the first stage has started to read answers: profile
`python -m benchmarks.worker app --db .bench/bench.db --profile-dir DIR`.""",
    "app_next": """
Moving to the next question is pure UI work (`CaseScreen.goto` -> `QuestionPanel.show`,
`QuestionTree.move_cursor`); profile the `next` phase with
`python -m benchmarks.worker app --db .bench/bench.db --profile-dir DIR`.""",
    "app_answer": """
Recording an answer is one write transaction (`audit.cases.record_answer`): it loads the
case's answers as ORM objects twice (`_Edit.answers`, then `_enforce_rules` for three
raters); plain column reads instead of ORM instances would halve it. Compare with the
one-row commit floor in the table.""",
    "models": """
The models are fitted on covariate-pattern counts (`stats.regression.Design`); a miss means
the design is being rebuilt per question or the fit falls back to IRLS — profile
`python -m benchmarks.worker models --db .bench/bench.db`.""",
    "app_comparison": """
**Where the time goes**: the view counts in a thread worker with
`audit.views.analysis.compare(questions="all", independent_effect=False)`, the counting
path of `iom-audit compare`: the cases grouped by IOM status in one `GROUP BY` listing
their ids (`tally.case_patterns`), one index-ordered `group_concat` per question and value
(`answer_lists.read_lists`), numpy counts, chi-square p-values from `scipy.special`; then the
screen adds a row per question and the bars. Compare with the `compare_counts` figure
above (the same work without the app) and the floor: if the view is far above both, the
time is in the screen (`ComparisonScreen.show`) or in imports the background preload
(`audit.views.comparison_cache.preload_comparison`) no longer covers (check with
`python -X importtime`); a worker profile: pyinstrument inside `ComparisonScreen.compute`.""",
}
PLANS["suite"] = """
**Where the time goes**: the slowest tests are listed below (pytest `--durations`). The
suite is about 1,580 tests on three workers and CPU-bound: the work of all of them over two
cores sets the wall time, more than any one unit. Done in issue 19: the demo built once per
session and copied (`tests.databases.built_once`); set-ups that rate cases answer by
answer through the use cases built once per backend and copied per test (`prepare`: a file
copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL; the lifecycle, queries,
red-team week, QA independence and reconciliation files); statsmodels' `multipletests` as
a reference without its `gc.collect()` per call (20 s of CPU in one property test); the
bench harness's demo built once for its three parts; the app's collector settings
(`settle_heap`: the app-kill loop from 78 s to 45 s of CPU) and the case screen's
read-only profile. **Plan**: the same `prepare` for the app-session files (My cases, rating
keys, lifecycle in the app, snapshots), which still build and rate per test; the bench
harness at a smaller scale than the published core sample (its 78 s of CPU on both
backends); the Word report of `test_report_docx` built once per session."""
PLANS["app_next_p95"] = PLANS["app_next"]
PLANS["app_answer_p95"] = PLANS["app_answer"]

# PostgreSQL's own diagnoses (`--backend postgresql`): used before PLANS for its figures.
PG_PLANS: dict[str, str] = {
    "import": """
**Where the time goes** (PostgreSQL, `import ratings`, 4,000,000 rows): sampling
`pg_stat_activity` every 3 s during the first run showed the server in two statements of
`audit.imports.stage_answers` for nearly all of it: the `INSERT INTO audit_event` of the
creation events (38 samples: about 2 minutes) and the `INSERT INTO answer ... SELECT` from
the staged rows (24 samples, with `WALWrite`/`WALInitWrite` waits); the staging `COPY`
itself was never caught. On PostgreSQL the events take the trail's bulk path
(`audit.store.chain_bulk`): sealed into the hash chain on the server by `iom_audit_seal()`
(one SHA-256 per event, each over the previous hash: strictly sequential, one core) and
checked by a statement trigger over all 4,000,000; the answers' insert maintains three indexes
row by row (`answer_pkey`, `uq_answer`, `ix_answer_tally`, together 1.8 times the heap)
and checks two foreign keys per row. The SQLite path drops and rebuilds the secondary
index around a bulk insert into a near-empty table (`_indexes_built_after`); the
PostgreSQL path does not.

**Plan** (owners of `audit/imports/` and of the trail):
1. Do on PostgreSQL what SQLite does: drop `ix_answer_tally` before a bulk insert into a
   near-empty `answer` and `CREATE INDEX` it after, inside the import's transaction (DDL is
   transactional there too), with `SET LOCAL maintenance_work_mem` raised for the build.
2. Measure the events' part alone (`EXPLAIN ANALYZE` on a copy; `auto_explain` with
   `log_nested_statements` shows the statements inside `iom_audit_seal()`): if the chain's
   PL/pgSQL aggregate dominates, chain in the client with hashlib as the SQLite path does
   and let the server check, not compute, the links.
3. Remeasure with `make bench BACKEND=postgresql` on a quiet machine: this figure was taken
   at load average 8 (other engineers' suites on both cores).

**Measured since** (issue 19, 800,000 ratings, pyinstrument on the client, load average
7-8): the answers' `INSERT ... SELECT` 32.6 s, the chain's sealing move of the events
(`chain._move_pending`: the PL/pgSQL step per event) 22.3 s, writing the pending events
2.6 s, the rest (staging COPY, checks, parsing) under 5 s. On a copy of the same 800,000
rows, the answers' insert alone took 18.0 s with its indexes and two foreign keys, 11.1 s
without the foreign keys, and 4.9 s without `ix_answer_tally` either, plus 3.0 s to build
that index and 0.4 s to add both foreign keys afterwards (validated in one join): item 1,
extended to the foreign keys, would take the answers' part from 18 s to about 8 s. It
needs the table's owner (the documented application role is not) and holds an
exclusive lock on `answer` until the import commits, so it is for a first load only.""",
    "compare_cli": """
**Where the time goes** (PostgreSQL): interpreter start-up and imports (pandas, scipy,
statsmodels, SQLAlchemy: the lazy-import work of issue 19 item 1, shared with SQLite), then
one tally on the server (`audit.views.tally._counted_on_server`: the answers joined to a
hash of the cases' pattern numbers and counted by question, value and pattern; its plan is
under "Query plans" below, beside the floors'), then the statistics as on SQLite. The
server part is the joined floor plus the hash of the pattern list; compare the in-process
figure and the floors in the table to see which part grew.""",
}
