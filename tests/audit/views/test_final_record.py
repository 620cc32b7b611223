"""The moderated final record (`audit.final_record`): what the published tables count.

Counted on SQLite (numpy) and PostgreSQL (on the server) as the primary tally corrected by
the moderated answers; checked here against plain pandas on the raw answer rows: per case
and question, the moderated answer where one has a value, else the primary answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
import sqlalchemy as sa

from audit import final_record
from audit.exports.codebook import variable_name
from audit.exports.exporters import export
from audit.inspections import create_inspection, get_or_create_site
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Answer, Case
from audit.views.analysis import compare, page_behind
from audit.views.samples import REPORT_RATER, Sample, answer_counts
from audit.views.tally import _SEEK_SHARE, pattern_counts

QUESTIONS = ("2.1.1", "2.1.2", "2.2.1", "iom.explained")
VALUES = ("yes", "no", "na", None)
LEAD = Actor("Lee Lead")  # nobody registered: the single user acts as the lead


def _populate(db: Database, seed: int, sizes: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Random cases, primary answers and, on about one case in six, moderated answers:
    some replacing a primary answer, some where the primary rater gave none or only a
    note, some note-only (no value: not part of the final record)."""
    rng = random.Random(seed)
    ids: dict[str, int] = {}
    with db.write_session() as session:
        for name, n in sizes:
            insp = create_inspection(session, name)
            sites = [get_or_create_site(session, insp, s)[0] for s in ("Leeds", "Hull")]
            assert insp.id is not None
            ids[name] = insp.id
            made = [Case(inspection_id=insp.id, case_ref=f"{name}-{i}",
                         site_id=rng.choice([*(s.id for s in sites), None]),
                         iom=rng.choice([True, False, None]),
                         case_type=rng.choice(["post_release", "community", None]),
                         provider=rng.choice(["nps", "crc"])) for i in range(n)]
            session.add_all(made)
            session.flush()
            rows: list[dict[str, Any]] = []
            for case in made:
                moderated = rng.random() < 1 / 6
                for qid in QUESTIONS:
                    if rng.random() < 0.8:
                        rows.append({"case_id": case.id, "question_id": qid, "rater": "primary",
                                     "question_set_version": "1", "value": rng.choice(VALUES),
                                     "note": "n" if rng.random() < 0.1 else None})
                    if moderated and rng.random() < 0.6:
                        rows.append({"case_id": case.id, "question_id": qid,
                                     "rater": "moderated", "question_set_version": "1",
                                     "value": rng.choice(VALUES),
                                     "note": "why" if rng.random() < 0.5 else None})
            session.connection().execute(sa.insert(Answer.__table__), rows)  # type: ignore[attr-defined]
    return ids


def _raw(db: Database) -> tuple[pd.DataFrame, pd.DataFrame]:
    with db.engine.connect() as conn:
        cases = pd.read_sql(sa.text('SELECT id AS case_id, inspection_id, iom, case_type, '
                                    'provider FROM "case"'), conn)
        answers = pd.read_sql(sa.text("SELECT case_id, question_id, rater, value FROM answer"),
                              conn)
    return cases, answers


def _level(iom: object) -> str | None:
    """IOM status as the comparison groups it (SQLite gives 1/0, PostgreSQL booleans)."""
    if iom is None or iom != iom:
        return None
    return "iom" if bool(iom) else "non_iom"


def _pandas_final(db: Database, inspection_ids: Sequence[int], by: str,
                  covariates: Sequence[str]) -> list[tuple[Any, ...]]:
    """The final record counted per question, group, covariates and value, in pandas."""
    cases, answers = _raw(db)
    primary = answers[(answers["rater"] == "primary") & answers["value"].notna()]
    moderated = answers[(answers["rater"] == "moderated") & answers["value"].notna()]
    key = ["case_id", "question_id"]
    final = pd.concat([moderated, primary]).drop_duplicates(key, keep="first")
    cases = cases[cases["inspection_id"].isin(list(inspection_ids))].copy()
    cases["iom"] = cases["iom"].map(_level)
    merged = final.merge(cases, on="case_id")
    merged = merged[merged[by].notna()]
    counted = merged.groupby(["question_id", by, *covariates, "value"], dropna=False).size()
    return sorted(((*cast(tuple[Any, ...], k), int(n)) for k, n in counted.items()),
                  key=repr)


def _canonical(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return sorted((tuple(None if pd.isna(v) else v for v in row)
                   for row in frame.itertuples(index=False)), key=repr)


def _nan_free(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(None if (isinstance(v, float) and v != v) else v for v in r)
                   for r in rows), key=repr)


@pytest.mark.parametrize("seed", [1, 2])
def test_final_record_counts_equal_pandas_on_the_raw_rows(any_db: Database, seed: int) -> None:
    ids = _populate(any_db, seed, [("big", 600), ("small", 6), ("other", 120)])
    for chosen in (["big"], ["small"], ["big", "other"]):
        # "small" alone falls under the seek threshold: both SQLite paths run.
        insp = [ids[c] for c in chosen]
        for by, covariates in (("iom", ()), ("iom", ("case_type", "provider")),
                               ("provider", ("iom",))):
            got = pattern_counts(any_db, insp, by=by, questions=QUESTIONS,
                                 covariates=covariates, rater=final_record.FINAL)
            want = _pandas_final(any_db, insp, by, covariates)
            assert _canonical(got) == _nan_free(want), (chosen, by, covariates)
            assert got["count"].dtype == "int64"
            primary = pattern_counts(any_db, insp, by=by, questions=QUESTIONS,
                                     covariates=covariates)
            if "big" in chosen:  # the moderated answers moved counts: the check can fail
                assert _canonical(got) != _canonical(primary), (chosen, by, covariates)
    assert _SEEK_SHARE > 6 / 726


def test_sqlite_and_postgres_count_the_same_final_record(sqlite_db: Database,
                                                        postgres_db: Database) -> None:
    frames = []
    for db in (sqlite_db, postgres_db):
        ids = _populate(db, 9, [("big", 300), ("other", 50)])
        frames.append([pattern_counts(db, [ids["big"]], by=by, questions=QUESTIONS,
                                      covariates=covariates, rater=final_record.FINAL)
                       for by, covariates in (("iom", ("case_type", "provider")),
                                              ("provider", ()))])
    for lite, pg in zip(*frames, strict=True):
        assert len(lite) > 10
        pd.testing.assert_frame_equal(lite, pg)


def test_the_report_and_compare_count_the_final_record(any_db: Database) -> None:
    ids = _populate(any_db, 4, [("big", 400)])
    assert REPORT_RATER == final_record.FINAL == final_record.COUNTED
    counts = answer_counts(any_db, Sample("s", "S", (ids["big"],)), QUESTIONS)
    cases, answers = _raw(any_db)
    primary = answers[(answers["rater"] == "primary") & answers["value"].notna()]
    moderated = answers[(answers["rater"] == "moderated") & answers["value"].notna()]
    final = pd.concat([moderated, primary]).drop_duplicates(["case_id", "question_id"])
    want = final.groupby(["question_id", "value"]).size()
    assert {(q, v): int(n) for q, v, n in counts.itertuples(index=False)} == {
        k: int(n) for k, n in want.items()}
    # The comparison's cells, and the cases behind one, count the same answers.
    result = compare(any_db, by="iom", inspections=["big"], questions=list(QUESTIONS),
                     independent_effect=False)
    row = next(r for r in result.rows if r.question_id == "2.1.1")
    groups = cases.assign(level=cases["iom"].map(_level))
    yes = final[(final["question_id"] == "2.1.1") & (final["value"] == "yes")].merge(
        groups, on="case_id")
    iom_yes = int((yes["level"] == "iom").sum())
    assert row.groups["iom"].yes == iom_yes
    behind = page_behind(any_db, actor=LEAD, question_id="2.1.1", level="iom",
                         answer="yes", inspections=["big"], limit=1_000)
    assert behind.total == iom_yes and len(behind.cases) == iom_yes
    assert {c.value for c in behind.cases} == {"yes"}


def test_export_rater_final_fills_the_wide_layout_with_the_final_record(
        sqlite_db: Database, tmp_path: Path) -> None:
    _populate(sqlite_db, 5, [("big", 80)])
    export(sqlite_db, tmp_path / "out", actor=LEAD, rater="final")
    wide = pd.read_csv(tmp_path / "out" / "cases.csv", dtype=str, keep_default_na=False)
    cases, answers = _raw(sqlite_db)
    with sqlite_db.engine.connect() as conn:
        refs = pd.read_sql(sa.text('SELECT id AS case_id, case_ref FROM "case"'), conn)
    primary = answers[(answers["rater"] == "primary") & answers["value"].notna()]
    moderated = answers[(answers["rater"] == "moderated") & answers["value"].notna()]
    final = pd.concat([moderated, primary]).drop_duplicates(["case_id", "question_id"])
    final = final.merge(refs, on="case_id")
    got = wide.set_index("case_ref")
    for ref, qid, value in zip(final["case_ref"], final["question_id"], final["value"],
                               strict=True):
        assert got.loc[str(ref), variable_name(str(qid))] == value
    assert (final["rater"] == "moderated").sum() > 5
    book = pd.read_csv(tmp_path / "out" / "codebook.csv", dtype=str, keep_default_na=False)
    question_rows = book[book["question_id"] == "2.1.1"]
    assert question_rows["rating"].tolist() == [f"final: {final_record.FINAL_LABEL}"]
    assert (book[book["question_id"] == ""]["rating"] == "").all()  # case columns


def test_export_refuses_an_unknown_rater(sqlite_db: Database, tmp_path: Path) -> None:
    from audit.errors import UsageError

    with pytest.raises(UsageError, match="--rater must be one of primary, qa, moderated, "
                                         "final, not 'finale'"):
        export(sqlite_db, tmp_path / "out", actor=LEAD, rater="finale")
    assert not (tmp_path / "out").exists()
