"""The machine's floor: raw GROUP BY queries over the answers (sqlite3 module here;
PostgreSQL's through psycopg in `benchmarks.pg`).

`joined` is the least work that yields the comparison's counts: answers of the compared
cases counted per question, IOM status and answer, in one GROUP BY joined to the case
table. `simple` counts answers per question and value over the whole table.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

SIMPLE = "SELECT question_id, value, count(*) FROM answer GROUP BY 1, 2"


def joined_sql(inspection_ids: Sequence[int], questions: Sequence[str],
               mark: str = "?") -> tuple[str, list]:
    """The GROUP BY joined to case for the group, with compare's filters.

    `mark` is the driver's placeholder (`?` for sqlite3, `%s` for psycopg).
    """
    marks_i = ", ".join([mark] * len(inspection_ids))
    marks_q = ", ".join([mark] * len(questions))
    sql = ('SELECT a.question_id, c.iom, a.value, count(*) FROM answer AS a '
           'JOIN "case" AS c ON a.case_id = c.id '
           f"WHERE c.inspection_id IN ({marks_i}) AND a.rater = 'primary' "
           f"AND a.question_id IN ({marks_q}) AND a.value IS NOT NULL "
           "GROUP BY 1, 2, 3")
    return sql, [*inspection_ids, *questions]


def timed_query(path: Path, sql: str, params: Sequence[object] = ()) -> tuple[float, int]:
    """Seconds to run one query to the last row on a fresh read-only connection."""
    start = time.perf_counter()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(sql, list(params)).fetchall()
    finally:
        conn.close()
    return time.perf_counter() - start, len(rows)
