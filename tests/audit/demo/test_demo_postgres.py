"""The demo builds the same data on the PostgreSQL server as on SQLite."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.demo.build import build_demo
from audit.permissions import Actor
from audit.store.engine import Database
from tests.audit.demo.conftest import Built, read_tables

DROP = ["id", "case_id", "updated_at"]


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in DROP if c in frame])
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.mark.postgres
def test_same_data_on_postgres(demo: Built, postgres_db: Database) -> None:
    build_demo(postgres_db, actor=Actor("Demo Builder"))
    cases, answers = read_tables(postgres_db)
    case_keys = ["inspection", "case_ref"]
    answer_keys = ["inspection", "case_ref", "question_id", "rater"]
    pd.testing.assert_frame_equal(_sorted(cases, case_keys), _sorted(demo.cases, case_keys))
    pd.testing.assert_frame_equal(_sorted(answers, answer_keys),
                                  _sorted(demo.answers, answer_keys))
