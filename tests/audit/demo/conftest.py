"""Shared fixtures: the default demo, built once per test session, read back as frames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from audit.demo import published
from audit.demo.build import DemoSummary, build_demo
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Inspector, Site
from tests.databases import fresh_sqlite


@dataclass(frozen=True)
class Built:
    """A demo database, what build_demo reported, and its tables as frames."""

    path: Path
    summary: DemoSummary
    cases: pd.DataFrame
    answers: pd.DataFrame


def read_tables(database: Database) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cases (with inspection and site names) and answers (with case ref and inspector).

    Read through the table definitions, so booleans and dates come back typed.
    """
    case, site, inspection = Case.__table__, Site.__table__, Inspection.__table__  # type: ignore[attr-defined]
    answer, inspector = Answer.__table__, Inspector.__table__  # type: ignore[attr-defined]
    cases_stmt = (sa.select(inspection.c.name.label("inspection"), site.c.name.label("site"),
                            *(c for c in case.c if c.name != "site_id"))
                  .join(inspection, inspection.c.id == case.c.inspection_id)
                  .outerjoin(site, site.c.id == case.c.site_id).order_by(case.c.id))
    answers_stmt = (sa.select(inspection.c.name.label("inspection"), case.c.case_ref,
                              answer.c.case_id, answer.c.question_id, answer.c.value,
                              answer.c.rater, answer.c.note, answer.c.question_set_version,
                              inspector.c.name.label("inspector"), answer.c.id)
                    .join(case, case.c.id == answer.c.case_id)
                    .join(inspection, inspection.c.id == case.c.inspection_id)
                    .outerjoin(inspector, inspector.c.id == answer.c.inspector_id)
                    .order_by(answer.c.id))
    with database.engine.connect() as conn:
        cases = pd.DataFrame(conn.execute(cases_stmt).mappings().all(), dtype=object)
        answers = pd.DataFrame(conn.execute(answers_stmt).mappings().all(), dtype=object)
    return cases, answers


def build(path: Path, **options: object) -> Built:
    database = fresh_sqlite(path)
    try:
        summary = build_demo(database, actor=Actor("Demo Builder"), **options)  # type: ignore[arg-type]
        cases, answers = read_tables(database)
    finally:
        database.dispose()
    return Built(path, summary, cases, answers)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The default demo (seed 2019, 3,247 core cases)."""
    yield build(tmp_path_factory.mktemp("demo") / "demo.db")


@pytest.fixture(scope="session")
def thematic(demo: Built) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The thematic inspection's cases and the answers its published tables count: the
    moderated final record (the moderated answer where there is one, else the primary
    answer), worked out here from the raw rows, one row per case and question."""
    cases = demo.cases[demo.cases["inspection"] == "iom-thematic-2019"]
    answers = demo.answers[demo.answers["inspection"] == "iom-thematic-2019"]
    return cases, final_record_of(answers)


def final_record_of(answers: pd.DataFrame) -> pd.DataFrame:
    """Primary answers, each replaced by the moderated answer to the same case and
    question where one has a value (plain pandas, not the product's code)."""
    primary = answers[answers["rater"] == "primary"]
    moderated = answers[(answers["rater"] == "moderated") & answers["value"].notna()]
    by = ["case_id", "question_id"]
    merged = primary.merge(moderated[[*by, "value"]], on=by, how="outer",
                           suffixes=("", "_moderated"))
    merged["value"] = merged["value_moderated"].where(merged["value_moderated"].notna(),
                                                      merged["value"])
    return merged.drop(columns=["value_moderated"])


def reference(name: str) -> pd.DataFrame:
    """A published figure, as shipped with the package (`audit.demo.published`)."""
    return pd.read_csv(published.FOLDER / name)
