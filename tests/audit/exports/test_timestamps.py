"""Exported timestamps read as SQLite stores them equal `datetime.isoformat()` in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.exports.exporters import iso_utc

moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1))


@given(st.lists(st.one_of(st.none(), moments), max_size=20))
# deadline=None as in every other property test here: pandas' first calls can pass
# Hypothesis' default 200 ms on a loaded machine, a flaky failure that says nothing
# about the values this checks. Health checks all on (generation is ~1 ms).
@settings(deadline=None)
def test_iso_utc_matches_isoformat(values: list[datetime | None]) -> None:
    # SQLite hands back SQLAlchemy's storage text; PostgreSQL aware datetimes.
    stored = [None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f") for v in values]
    aware = [None if v is None else v.replace(tzinfo=UTC) for v in values]
    want = [None if v is None else v.isoformat() for v in aware]
    assert list(iso_utc(pd.Series(stored, dtype=object))) == want
    assert list(iso_utc(pd.Series(aware, dtype=object))) == want
