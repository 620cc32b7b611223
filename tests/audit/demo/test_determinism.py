"""The same seed gives the same data; another seed gives other data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from audit.demo.core import build_core_chunk, core_chunks
from audit.demo.thematic import build_thematic_frames
from audit.store.engine import open_database
from cli.app import run
from question_sets import load_set
from tests.audit.demo.conftest import Built, read_tables

TIMESTAMPS = ["updated_at"]


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in TIMESTAMPS if c in frame]).reset_index(drop=True)


def test_same_seed_same_tables_through_the_cli(demo: Built, tmp_path: Path,
                                               capsys: object) -> None:
    path = tmp_path / "again.db"
    assert run(["--db", str(path), "demo"]) == 0
    database = open_database(str(path))
    cases, answers = read_tables(database)
    database.dispose()
    pd.testing.assert_frame_equal(_comparable(cases), _comparable(demo.cases))
    pd.testing.assert_frame_equal(_comparable(answers), _comparable(demo.answers))


def test_another_seed_differs() -> None:
    qs = load_set("iom-thematic-2019")
    cases_a, answers_a = build_thematic_frames(1, qs)
    cases_b, answers_b = build_thematic_frames(2, qs)
    assert not cases_a.equals(cases_b)
    assert not answers_a.equals(answers_b)
    core = load_set("hmip-adult-2018")
    chunk = core_chunks(3_247)[0]
    assert not build_core_chunk(1, core, chunk)[0].equals(build_core_chunk(2, core, chunk)[0])
    again = build_thematic_frames(1, qs)
    assert again[0].equals(cases_a) and again[1].equals(answers_a)
