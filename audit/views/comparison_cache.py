"""Comparisons kept while the data they counted has not changed, for a screen opened
again and again (the app's comparison view), and what such a screen loads ahead.

Light on purpose (SQLAlchemy only): the app holds a cache from its start, and the
statistics stack (pandas, numpy, scipy.special) is imported by `preload_comparison` in a
background thread, or by the first comparison, never by this module.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col

from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection
from audit.views.background import in_background

if TYPE_CHECKING:  # annotations only: importing stats here would load pandas
    from stats.results import Comparison


@dataclass(frozen=True)
class DataVersion:
    """What a comparison's counts depend on, read cheaply: `stamp` changes whenever a
    case or an answer does (every edit of a case or of its answers bumps the case's
    version; a new case or answer raises the largest id; a purge lowers the count), and
    `cases` is the number of cases in the scope asked about."""

    stamp: tuple[int, ...]
    cases: int


def data_version(db: Database, inspections: Sequence[str] | None = None) -> DataVersion:
    """The current `DataVersion` of the database (one pass over the case table)."""
    whole = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(col(Case.version)), 0),
                      sa.func.coalesce(sa.func.max(col(Case.id)), 0)).select_from(Case)
    last_answer = sa.select(sa.func.coalesce(sa.func.max(col(Answer.id)), 0))
    with db.engine.connect() as conn:
        stamp = (*(int(v or 0) for v in conn.execute(whole).one()),
                 int(conn.execute(last_answer).scalar_one() or 0))
        cases = stamp[0]
        if inspections:
            cases = int(conn.execute(
                sa.select(sa.func.count()).select_from(Case)
                .join(Inspection, col(Case.inspection_id) == Inspection.id)
                .where(col(Inspection.name).in_(list(inspections)))).scalar_one())
    return DataVersion(stamp, cases)


class ComparisonCache:
    """The last few comparisons (`audit.views.analysis.compare`), each with the
    `DataVersion` it was counted at; a changed version counts again.

    Thread-safe, and one computation per set of options at a time: a second caller of
    the same comparison (the view closed and opened again while counting) waits for the
    first one's result instead of counting beside it.
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], Comparison]] = \
            OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}

    def compare(self, db: Database, version: DataVersion, *, fresh: bool = False,
                **options: Any) -> Comparison:
        """`analysis.compare(db, **options)`, from the cache when counted at `version`
        (unless `fresh`). Options are keywords, hashable (sequences as tuples)."""
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                           for k, v in options.items()))
        with self._lock:
            busy = self._computing.setdefault(key, threading.Lock())
        with busy:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit[0] == version.stamp and not fresh:
                    self._entries.move_to_end(key)
                    return hit[1]
            from audit.views.analysis import compare

            result = compare(db, **options)
            with self._lock:
                self._entries[key] = (version.stamp, result)
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            return result


def preload_comparison() -> None:
    """Import what the comparison view computes with (pandas, numpy, scipy.special, the
    counting path) and read the question sets, so that the first comparison does not
    wait for them. Meant for a background thread at the app's start; a failure here is
    ignored (the comparison itself reports it when it runs)."""
    try:
        # analysis itself is light (it starts its read before the statistics load): the
        # counting path and the statistics are the two after it.
        import audit.views.analysis  # noqa: F401
        import audit.views.tally  # noqa: F401  (pandas, numpy)
        import stats.aggregate  # noqa: F401  (scipy.special, the tests)
        from question_sets.loader import list_sets

        list_sets()
    except Exception:  # noqa: BLE001  (see the docstring)
        return


def preload_in_background() -> threading.Thread:
    """`preload_comparison` in a daemon thread (it never holds up the app's exit)."""
    return in_background(preload_comparison, "preload the comparison")
