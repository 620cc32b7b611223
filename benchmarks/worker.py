"""In-process measurements, one per subprocess: `python -m benchmarks.worker NAME --db DB`.

Each worker imports what it needs and opens the database *before* its timers start
(the targets exclude interpreter start-up), measures, and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import floor


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def compare(location: str) -> dict[str, Any]:
    """The floor (raw GROUP BY) and `compare(by="iom", questions="all")`, same process.

    On PostgreSQL the floor runs on the server through psycopg (connection included).
    """
    from audit.store.engine import open_database
    from audit.views import analysis

    db = open_database(location)
    where = analysis.comparable(db, analysis.scope(db), "iom")
    qids = analysis.select_questions(where.question_set, "all")
    if db.location.is_sqlite:
        path = Path(location)
        simple, _ = floor.timed_query(path, floor.SIMPLE)
        sql, params = floor.joined_sql(where.inspection_ids, qids)
        joined, groups = floor.timed_query(path, sql, params)
    else:
        from benchmarks import pg

        simple, _ = pg.timed_query(location, floor.SIMPLE)
        sql, params = floor.joined_sql(where.inspection_ids, qids, mark="%s")
        joined, groups = pg.timed_query(location, sql, params)
    # As the command runs it by default: with the independent effect of IOM per question.
    ours, result = _timed(lambda: analysis.compare(db, by="iom", questions="all"))
    counts_only, _ = _timed(lambda: analysis.compare(db, by="iom", questions="all",
                                                     independent_effect=False))
    db.dispose()
    return {"floor_simple": simple, "floor_joined": joined, "compare": ours,
            "compare_counts_only": counts_only, "ratio": ours / joined,
            "questions": len(result.rows), "floor_groups": groups}


def models(location: str) -> dict[str, Any]:
    """The twelve key-question models: `independent_effects` on the frame compare builds."""
    from audit.store.engine import open_database
    from audit.views import analysis
    from audit.views.frames import IOM_LEVELS, add_group, case_frame
    from stats.regression import DEFAULT_COVARIATES, independent_effects

    db = open_database(location)
    where = analysis.comparable(db, analysis.scope(db), "iom")
    key = [q.id for q in where.question_set.questions if q.key]
    frame = case_frame(db, where.inspection_ids, questions=key,
                       fields=sorted({"iom", *DEFAULT_COVARIATES}))
    frame = add_group(frame, "iom", column="iom")
    fit, effects = _timed(lambda: independent_effects(frame, key, "iom", DEFAULT_COVARIATES,
                                                      IOM_LEVELS))
    db.dispose()
    statuses = sorted({e.status for e in effects.values()})
    return {"models": fit, "count": len(effects), "statuses": statuses}


def app_comparison(path: Path, *, at_once: bool) -> dict[str, Any]:
    """The floor (`SELECT question_id, value, count(*) ... GROUP BY 1, 2`), then the app's
    comparison view opened from the dashboard (`app_probe.probe_comparison`)."""
    from benchmarks.app_probe import probe_comparison

    simple, _ = floor.timed_query(path, floor.SIMPLE)
    return {"floor_simple": simple, **probe_comparison(path, at_once=at_once)}


def main(argv: list[str] | None = None) -> None:
    """Run one worker and print its JSON result."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("name", choices=["compare", "models", "app", "app_comparison"])
    parser.add_argument("--db", required=True, help="a SQLite file or a PostgreSQL URL "
                        "(the app worker: SQLite only)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--launched", type=float, default=None,
                        help="time.time() when the parent started this process")
    parser.add_argument("--at-once", action="store_true",
                        help="app_comparison: press m the moment the dashboard shows")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="app: save pyinstrument sessions of each measured phase here")
    args = parser.parse_args(argv)
    if args.name == "compare":
        out = compare(args.db)
    elif args.name == "models":
        out = models(args.db)
    elif args.name == "app_comparison":
        out = app_comparison(Path(args.db), at_once=args.at_once)
    else:
        from benchmarks.app_probe import probe

        out = probe(Path(args.db), repeats=args.repeats, launched=args.launched,
                    profile_dir=args.profile_dir)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
