"""The table registry: one entry per table, the ids and order of the report, and skipping."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit.errors import UsageError
from audit.inspections import question_set_of
from audit.permissions import Actor
from audit.report import build
from audit.report.build import TABLE_IDS, compile_report
from audit.report.registry import REGISTRY, TableEntry
from audit.store.engine import Database, open_database
from audit.store.models import Inspection
from cli.app import run
from question_sets import QuestionSet
from tests.databases import default_demo

BUILDER = Actor("Demo Builder")  # the demo makes whoever builds it a lead
# Spelt out, not derived: the message users see must not change with the code behind it.
UNKNOWN = ("Error: unknown table(s) bogus, nope; choose from lead_agency, iom_registration, "
           "factors_linked, partner_info, plan_reoffending, factors_delivered, index_offence, "
           "risk_of_harm, keeping_safe, iom_module, outcomes, iom_comparison, "
           "lead_agency_comparison, profile, standard_ratings, rating_gaps, reliability")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_database(str(default_demo(tmp_path_factory.mktemp("demo") / "demo.db",
                                        BUILDER.name)))
    yield db
    db.dispose()


def _without(monkeypatch: pytest.MonkeyPatch, *dropped: str) -> None:
    """Make compile_report see question sets lacking the `dropped` questions."""
    def trimmed(inspection: Inspection) -> QuestionSet:
        qs = question_set_of(inspection)
        return dataclasses.replace(qs, sections=tuple(
            dataclasses.replace(s, questions=tuple(q for q in s.questions if q.id not in dropped))
            for s in qs.sections))

    monkeypatch.setattr(build, "question_set_of", trimmed)


def test_every_entry_has_its_own_id_and_figure() -> None:
    ids = [e.id for e in REGISTRY]
    figures = [e.figure for e in REGISTRY]
    assert len(set(ids)) == len(ids)
    assert len(set(figures)) == len(figures)
    assert all(e.figure and e.caption and e.section for e in REGISTRY)


def test_table_ids_follow_the_registry(demo_db: Database) -> None:
    assert tuple(e.id for e in REGISTRY) == TABLE_IDS
    # The default report holds the tables in registry order, titled by their entries.
    report = compile_report(demo_db, actor=BUILDER)
    assert [t.id for t in report.tables] == list(TABLE_IDS)
    for table, entry in zip(report.tables, REGISTRY, strict=True):
        assert (table.figure, table.caption, table.section) == (
            entry.figure, entry.caption, entry.section)


@pytest.mark.parametrize("dropped, skipped", [
    ("iom.explained", {"iom_registration"}),  # also an IOM module question: 4.10 stays
    ("outcome.frequency", {"outcomes"}),
    ("2.2.2", {"plan_reoffending", "keeping_safe"}),  # Figure 4.5's question and one of 4.9's
])
def test_a_missing_question_skips_the_tables_needing_it_and_only_them(
        demo_db: Database, monkeypatch: pytest.MonkeyPatch, dropped: str,
        skipped: set[str]) -> None:
    _without(monkeypatch, dropped)
    report = compile_report(demo_db, actor=BUILDER)
    assert [t.id for t in report.tables] == [i for i in TABLE_IDS if i not in skipped]


@pytest.mark.parametrize("entry", [e for e in REGISTRY if e.needs], ids=lambda e: e.id)
def test_every_need_is_checked(demo_db: Database, monkeypatch: pytest.MonkeyPatch,
                               entry: TableEntry) -> None:
    # Built from the whole question set, so that its absence below means something.
    assert compile_report(demo_db, actor=BUILDER, tables=[entry.id]).tables
    for question in entry.needs:
        _without(monkeypatch, question)
        assert compile_report(demo_db, actor=BUILDER, tables=[entry.id]).tables == ()


def test_an_unknown_table_id_is_refused(demo_db: Database) -> None:
    with pytest.raises(UsageError) as refused:
        compile_report(demo_db, actor=BUILDER, tables=["bogus", "profile", "nope"])
    assert f"Error: {refused.value}" == UNKNOWN


def test_an_unknown_table_id_is_refused_on_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "x.db")
    assert run(["--db", db, "init"]) == 0
    capsys.readouterr()
    assert run(["--db", db, "tables", "--json", "-", "--tables", "bogus,profile,nope"]) == 1
    assert capsys.readouterr().err.strip() == UNKNOWN
