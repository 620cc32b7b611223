"""The report on the demo: every table present, reliability and ratings filled in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.demo.build import build_demo
from audit.permissions import Actor
from audit.report.build import TABLE_IDS, compile_report
from audit.report.tables import rating_for
from audit.store.engine import Database
from tests.databases import fresh_sqlite

BUILDER = Actor("Demo Builder")  # the demo makes whoever builds it a lead


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = fresh_sqlite(tmp_path_factory.mktemp("demo") / "demo.db")
    build_demo(db, actor=BUILDER)
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
                                                             (80, 65, 50))


@pytest.mark.parametrize("pct, rating", [(80, "Outstanding"), (79.9, "Good"), (65, "Good"),
                                         (64.9, "Requires improvement"),
                                         (50, "Requires improvement"), (49.9, "Inadequate"),
                                         (None, None)])
def test_rating_bands(pct: float | None, rating: str | None) -> None:
    assert rating_for(pct, (80, 65, 50)) == rating


def test_bands_are_configurable(demo_db: Database, tmp_path: Path) -> None:
    strict = compile_report(demo_db, actor=BUILDER, tables=["standard_ratings"], bands=(95, 90, 85))
    ratings = {v for r in strict.table("standard_ratings").rows
               for k, v in r.items() if k.endswith("_rating") and v}
    assert ratings == {"Inadequate"}
