"""What we know about each missed target: the diagnosis and the plan (kept by hand).

The harness prints the plan of a figure under "Missed targets" whenever that figure
misses, beside the fresh profile. Update the text when the code changes. Written from
the profiles of the full-scale run of 2026-11-23 (commit 26645f5, 2-core shared VM).
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

**Plan** (owner of `audit/bulk.py`, `audit/importers.py`):
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
**Where the time goes**: `compare` is now one SQL `GROUP BY` (`audit.frames.pattern_counts`)
plus statistics that take milliseconds, so it runs at the floor (1.0-1.8x in the runs
so far). The floor itself
(the same counts by a bare `GROUP BY` joined to `case`, through the sqlite3 module) takes
7-9 s on this machine: SQLite sorts the 2.5 million answer rows in a temporary B-tree, and
the 1.1 GB file does not stay in the page cache (the VM reclaims cache; other engineers'
runs share the disk). So the 3 s target is below what this SQLite layout allows here; no
Python-side change can meet it.

**Plan**: lower the floor itself (owner of `audit/models.py` / migrations, `audit/frames.py`):
1. A covering index `answer(rater, question_id, case_id, value)` lets SQLite read the
   answers without touching the table pages (one narrow index, about a third of the table);
   measure the floor with and without it.
2. Or avoid SQLite's sorter: group per question (`WHERE question_id = ?`, 47 queries on
   the `ix_answer_question` index, each a small sort) or count in C: a bare scan of the
   answers (`SELECT sum(length(value)) FROM answer`) takes 0.4-0.5 s here, against 3-9 s
   for the sorted `GROUP BY`; fetching all 2.5 million rows into Python took ~4 s, so
   the counting must stay in SQL. Measure both before choosing.
3. Whatever wins becomes the new floor query in `benchmarks/floor.py`, so the ratio stays
   honest.""",
    "compare_ratio": """
See the `compare` entry: the comparison is one `GROUP BY`, so its ratio to the floor can
only slip when the statistics (`stats.aggregate`) or the frame building grow; profile
`python -m benchmarks.worker compare --db .bench/bench.db` with pyinstrument.""",
    "report": """
**Where the time goes** (31 s sampled): `compile_report` 24 s, of which three tables read
the national dataset: `reliability` 9.4 s — `_reliability` in `audit/report/build.py` reads
the *primary* answers of all 100,000 cases (`case_frame`) and only then keeps the ten
QA-rated ones; `standard_ratings` 8.0 s — `_unit_counts` runs two `GROUP BY`s over every
answer (per site, then per provider); `iom_comparison` 5.7 s — `compare` (its floor-bound
`GROUP BY`, see the compare entry). Imports of statsmodels/scipy 3.5 s; the PDF itself
(`write_pdf`) only 1.7 s.

**Plan** (owner of `audit/report/build.py`):
1. `_reliability`: read the primary answers only for the cases that have QA answers
   (`Answer.case_id.in_(qa.index)`, or a join on the QA rows): -9 s.
2. `_unit_counts`: one `GROUP BY site, provider, question_id, value` and the two
   marginal tables summed in pandas: -3 to -4 s.
3. Share one `pattern_counts` read between `iom_comparison` and `standard_ratings`
   (both count primary answers of the same key questions).
Expected ~15-18 s here after 1 + 2; the rest follows the compare floor work.""",
    "app_ready": """
**Where the time goes**: the start screen is up in ~0.5 s; after `enter` the dashboard's
`overview` (`audit/progress.py`) takes ~1.2 s in its worker thread, of which
`inspector_progress` 0.9 s: a `SELECT DISTINCT inspector_id, case_id` over *all* primary
answers of every inspection (2.5 million rows, temporary B-tree) before filtering by
inspection. Opening the database costs 0.4 s of imports (`audit.migrate` imports alembic
to check the schema revision); textual's own layout of the start screen and dashboard ~0.5 s.

**Plan** (owners of `audit/progress.py`, `tui/screens/dashboard.py`, `audit/db.py`):
1. Dashboard in two stages: show the overall and per-site bars (`site_progress`, 0.08 s,
   the `case` table only) at once, and fill the per-inspector section from a second worker.
2. Filter the distinct pairs by inspection inside the subquery (join `case` first), and
   index `answer(case_id, rater, inspector_id)` so the distinct is an index-only scan.
3. Check the schema revision with one `SELECT version_num FROM alembic_version` and import
   alembic only when a migration is due (-0.4 s).
Expected ~0.9-1.1 s here.""",
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
}
PLANS["app_next_p95"] = PLANS["app_next"]
PLANS["app_answer_p95"] = PLANS["app_answer"]
