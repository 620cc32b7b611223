"""What we know about each missed target: the diagnosis and the plan (kept by hand).

The harness prints the plan of a figure under "Missed targets" whenever that figure
misses, beside the fresh profile. Update the text when the code changes. The before and
after of each fixed miss is in `benchmarks/history.md`.
"""

from __future__ import annotations

PLANS: dict[str, str] = {
    "import": """
**Where the time goes** (`import ratings`, 4,000,000 rows, 71 s sampled in the run of
c39fe45): writing dominates. `AnswerStaging.merge` 27.5 s (the `INSERT ... SELECT` into
`answer` and the 4,000,000 `audit_event` rows: 21.4 s), `AnswerStaging.add` 15.5 s (of
which `executemany` into the temporary staging table 11.2 s), the final commit 4.5 s;
checking is the rest (`_check_rules` 6.2 s, `_remember` 6.2 s of which `Series.map` 3.9 s,
`_parse_ratings` 4.6 s). Every row is written three times (staging table, `answer` with
its three indexes, `audit_event` with its two).

**Plan** (owner of `audit/imports/`):
1. When the (case, question, rater) keys cannot exist yet (first import into cases with
   no stored answers of that rater: one `EXISTS` query), skip the staging and diff tables
   and insert each validated chunk straight into `answer` (saves the 11-17 s staging write
   and the diff `CREATE TABLE ... AS`).
2. Write the creation events with one `INSERT ... SELECT` from `answer` per chunk, and
   consider one summary event per file for *created* answers (file digest, row count,
   inspector) instead of 4,000,000 rows; that is a contract change of the audit trail
   (docs/import-export.md), to agree with the safety owner first.
3. For a bulk load into an empty inspection, drop and recreate `ix_answer_question` and
   the audit-event indexes around the insert (building an index once is several times
   cheaper than maintaining it row by row), and set `PRAGMA cache_size=-262144` and
   `temp_store=MEMORY` on the import connection.
4. Map `case_ref` to ids and validate with numpy on `pd.factorize` codes instead of
   `Series.map` over Arrow strings (`_remember`, `_case_ids`: 4-8 s).
Expected: 1 + 3 + 4 should take the ratings import to roughly 35-45 s here; 2 is needed for a
safe margin under 60 s on a loaded machine.""",
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
    "compare_ratio": """
See the `compare` entry. The floor is the plain joined `GROUP BY` that `compare` no longer
runs; a ratio near or above 1 means the tally has lost its index-ordered read.""",
    "report": """
**Where the time goes**: every table reads through `audit.views.tally` (one index-ordered scan
per table, small samples by seeking their cases); statsmodels/scipy imports ~2 s and the
PDF ~1 s. A miss means a table went back to a joined `GROUP BY` or to `case_frame` over the
whole national set: profile `iom-audit report --out x.pdf` and look under `compile_report`.""",
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
   at load average 8 (other engineers' suites on both cores).""",
    "compare_cli": """
**Where the time goes** (PostgreSQL): interpreter start-up and imports (pandas, scipy,
statsmodels, SQLAlchemy: the lazy-import work of issue 19 item 1, shared with SQLite), then
one tally on the server (`audit.views.tally._counted_on_server`: the answers joined to a
hash of the cases' pattern numbers and counted by question, value and pattern; its plan is
under "Query plans" below, beside the floors'), then the statistics as on SQLite. The
server part is the joined floor plus the hash of the pattern list; compare the in-process
figure and the floors in the table to see which part grew.""",
}
