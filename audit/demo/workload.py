"""The demo's allocation: each case to the inspector who rates it, with a due date.

So that "My cases" has something to show: a case is allocated to the person who gave its
primary answers, due a few weeks around the day the demo is built. Signed-off cases were
due in the past (and are done); cases in progress are due from two weeks ago (overdue) to
two weeks ahead. Dates are drawn from the seed and counted from the build day, so two
builds on the same day are the same. Written through `audit.allocation.apply`, with its
trail events; no case's status or count changes.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit import allocation, lifecycle
from audit.store.models import Case, Inspector, table_of

SIGNED_OFF_DUE = (-60, -1)  # days from the build day (inclusive)
TO_RATE_DUE = (-14, 14)


def workload(cases: pd.DataFrame, answers: pd.DataFrame, rng: np.random.Generator,
             today: date) -> pd.DataFrame:
    """case_ref, inspector and due date of each case with primary answers."""
    primary = answers.loc[answers["rater"] == "primary", ["case_ref", "inspector"]]
    rated = primary.drop_duplicates("case_ref")
    frame = cases[["case_ref", "status"]].merge(rated, on="case_ref")
    done = frame["status"].isin(lifecycle.SIGNED_OFF).to_numpy()
    low = np.where(done, SIGNED_OFF_DUE[0], TO_RATE_DUE[0])
    high = np.where(done, SIGNED_OFF_DUE[1], TO_RATE_DUE[1])
    days = rng.integers(low, high + 1)
    due = np.array([today + timedelta(days=int(d)) for d in days], dtype=object)
    return pd.DataFrame({"case_ref": frame["case_ref"], "inspector": frame["inspector"],
                         "due": due}, dtype=object)


def allocate_demo(conn: sa.Connection, inspection_id: int, planned: pd.DataFrame,
                  who: str) -> int:
    """Write a workload frame's allocations; how many cases were allocated."""
    if planned.empty:
        return 0
    case, person = table_of(Case).c, table_of(Inspector).c
    people = {str(n): int(i) for n, i in conn.execute(sa.select(person.name, person.id))}
    refs = planned["case_ref"].tolist()
    ids: dict[str, int] = {}
    for start in range(0, len(refs), 5_000):
        ids.update({str(r): int(i) for r, i in conn.execute(
            sa.select(case.case_ref, case.id).where(case.inspection_id == inspection_id,
                                                    case.case_ref.in_(refs[start:start + 5_000])))})
    plan = [allocation.Planned(ids[ref], people[name], due, True)
            for ref, name, due in zip(refs, planned["inspector"], planned["due"], strict=True)]
    return allocation.apply(conn, inspection_id, plan, who)[0]
