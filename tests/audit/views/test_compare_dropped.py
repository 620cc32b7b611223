"""Cases left out of a comparison are counted the same on the rows path and on the SQL
counts path (`dropped_missing_group` was always 0 on the latter), on both dialects."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from audit.store.engine import Database
from audit.store.models import Case
from audit.views.analysis import compare
from audit.views.frames import IOM_LEVELS, case_frame, group_sizes, unknown_group_count
from audit.views.tally import pattern_counts
from stats import compare_counts, compare_groups
from tests.audit.views.test_tally import _populate

QUESTIONS = ["2.1.1", "2.1.2", "2.2.1"]


def _count(db: Database, condition: sa.ColumnElement[bool]) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(Case)
                                .where(condition)).scalar_one())


def _rows(db: Database, ids: list[int]) -> pd.DataFrame:
    df = case_frame(db, ids, questions=QUESTIONS)
    df["iom"] = df["iom"].map({True: "iom", False: "non_iom"}, na_action="ignore")
    return df


@pytest.mark.parametrize("seed", [1, 2])
def test_unknown_iom_status_is_counted_on_both_paths(any_db: Database, seed: int) -> None:
    ids = _populate(any_db, seed, [("one", 300)])
    unknown = _count(any_db, Case.iom.is_(None))  # type: ignore[union-attr]
    assert unknown > 50  # a third of the cases, drawn at random
    by_counts = compare(any_db, by="iom", inspections=["one"], questions=QUESTIONS,
                        covariates=("case_type", "rosh", "provider"))
    by_rows = compare_groups(_rows(any_db, [ids["one"]]), "iom", QUESTIONS,
                             levels=IOM_LEVELS, covariates=("case_type", "rosh", "provider"))
    assert by_counts.dropped_missing_group == by_rows.dropped_missing_group == unknown
    assert by_counts.dropped_other_level == by_rows.dropped_other_level == 0
    for a, b in zip(by_counts.rows, by_rows.rows, strict=True):
        assert a.groups == b.groups and a.p_value == pytest.approx(b.p_value, rel=1e-12)
    assert by_counts.to_dict()["dropped_missing_group"] == unknown


def test_another_level_and_unknown_are_counted_on_both_paths(any_db: Database) -> None:
    ids = _populate(any_db, 3, [("one", 300)])
    insp = [ids["one"]]
    levels = ("low", "high")  # "medium" is another level; None is unknown
    medium = _count(any_db, Case.rosh == "medium")
    unknown = _count(any_db, Case.rosh.is_(None))  # type: ignore[union-attr]
    assert medium > 30 and unknown > 30
    counts = pattern_counts(any_db, insp, by="rosh", questions=QUESTIONS)
    by_counts = compare_counts(counts, "rosh", QUESTIONS, levels=levels,
                               group_sizes=group_sizes(any_db, insp, by="rosh").to_dict(),
                               missing_group=unknown_group_count(any_db, insp, by="rosh"),
                               independent_effect=False)
    by_rows = compare_groups(_rows(any_db, insp), "rosh", QUESTIONS, levels=levels,
                             independent_effect=False)
    assert by_counts.dropped_other_level == by_rows.dropped_other_level == medium
    assert by_counts.dropped_missing_group == by_rows.dropped_missing_group == unknown
    for a, b in zip(by_counts.rows, by_rows.rows, strict=True):
        assert a.groups == b.groups
