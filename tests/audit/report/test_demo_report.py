"""The report on the demo: every table present, reliability and ratings filled in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.errors import UsageError
from audit.permissions import Actor
from audit.rating_rules import rating_for
from audit.report.build import TABLE_IDS, compile_report
from audit.store.engine import Database, open_database
from question_sets.model import DEFAULT_RATINGS
from tests.databases import default_demo

BUILDER = Actor("Demo Builder")  # the demo makes whoever builds it a lead


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_database(str(default_demo(tmp_path_factory.mktemp("demo") / "demo.db",
                                        BUILDER.name)))
    yield db
    db.dispose()


def test_every_table_is_built_from_the_demo(demo_db: Database) -> None:
    report = compile_report(demo_db, actor=BUILDER)
    assert [t.id for t in report.tables] == list(TABLE_IDS)


def test_reliability_counts_pairs_agreement_and_overall(demo_db: Database) -> None:
    table = compile_report(demo_db, actor=BUILDER, tables=["reliability"]).table("reliability")
    rows = {r["question_id"]: r for r in table.rows}
    overall = rows.pop("overall")
    assert all(r["pairs"] == 10 for r in rows.values())
    assert overall["pairs"] == sum(r["pairs"] for r in rows.values())
    assert 0.6 <= overall["kappa"] <= 0.9 and 80 <= overall["agreement"] <= 95
    for r in table.rows:
        if r["kappa_low"] is not None:
            assert -1.0 <= r["kappa_low"] <= r["kappa"] <= r["kappa_high"] <= 1.0


def test_ratings_are_per_inspection_and_follow_the_lowest_key_question(
        demo_db: Database) -> None:
    table = compile_report(demo_db, actor=BUILDER,
                           tables=["standard_ratings"]).table("standard_ratings")
    headings = [r["unit"] for r in table.rows if "inspection" not in r]
    assert headings == ["core-2018-19: by site", "core-2018-19: by lead agency",
                        "iom-thematic-2019: by site", "iom-thematic-2019: by lead agency"]
    sheffield = next(r for r in table.rows if r["unit"] == "Sheffield")
    for standard in ("2.1", "2.2", "2.3", "2.4"):
        assert sheffield[f"{standard}_rating"] == rating_for(sheffield[f"{standard}_pct"],
                                                             DEFAULT_RATINGS)


# Judged on the whole percentage printed (half up): 79.5 prints "80%" and is Outstanding.
@pytest.mark.parametrize("pct, rating", [(80, "Outstanding"), (79.5, "Outstanding"),
                                         (79.49, "Good"), (65, "Good"), (64.5, "Good"),
                                         (64.49, "Requires improvement"),
                                         (50, "Requires improvement"), (49.49, "Inadequate"),
                                         (None, None)])
def test_rating_bands(pct: float | None, rating: str | None) -> None:
    assert rating_for(pct, DEFAULT_RATINGS) == rating


def test_bands_are_configurable(demo_db: Database, tmp_path: Path) -> None:
    strict = compile_report(demo_db, actor=BUILDER, tables=["standard_ratings"], bands=(95, 90, 85))
    ratings = {v for r in strict.table("standard_ratings").rows
               for k, v in r.items() if k.endswith("_rating") and v}
    assert ratings == {"Inadequate"}


def test_bands_must_match_the_question_set(demo_db: Database) -> None:
    with pytest.raises(UsageError, match="3 percentages, one each for Outstanding, Good, "
                                         "Requires improvement"):
        compile_report(demo_db, actor=BUILDER, tables=["standard_ratings"], bands=(90, 80))
    with pytest.raises(UsageError, match="falling percentages between 0 and 100"):
        compile_report(demo_db, actor=BUILDER, tables=["standard_ratings"], bands=(50, 65, 80))


def test_the_methods_page_states_the_rule_and_the_model(demo_db: Database) -> None:
    methods = " ".join(compile_report(demo_db, actor=BUILDER,
                                      tables=["standard_ratings"]).meta.methods)
    assert "80% or more Outstanding" in methods and "whole percentage as printed" in methods
    assert "case type, risk of serious harm, likelihood of reoffending and lead agency" \
        in methods
