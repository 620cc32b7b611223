"""`audit.views.tally` gives exactly what a SQL GROUP BY joined to the cases gives, on both
dialects."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from audit.inspections import create_inspection, get_or_create_site
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Site
from audit.views import answer_lists
from audit.views import tally as tally_module
from audit.views.frames import fetch_frame, group_expression
from audit.views.tally import (
    _SEEK_SHARE,
    case_keys,
    case_patterns,
    group_patterns,
    pattern_counts,
    share_case_grouping,
    shared_answer_scan,
    tally,
    tally_patterns,
)

QUESTIONS = ("2.1.1", "2.1.2", "2.2.1", "iom.explained", "outcome.frequency")
VALUES = ("yes", "no", "na", "partly", None)


def _populate(db: Database, seed: int, inspections: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Inspections of random cases (some profile fields unknown) and random answers."""
    rng = random.Random(seed)
    ids = {}
    with db.write_session() as session:
        for name, n_cases in inspections:
            insp = create_inspection(session, name)
            sites = [get_or_create_site(session, insp, s)[0] for s in ("Leeds", "Hull")]
            ids[name] = insp.id
            cases = [Case(inspection_id=insp.id, case_ref=f"{name}-{i}",
                          site_id=rng.choice([*(s.id for s in sites), None]),
                          iom=rng.choice([True, False, None]),
                          case_type=rng.choice(["post_release", "community", None]),
                          rosh=rng.choice(["low", "medium", "high", None]),
                          provider=rng.choice(["nps", "crc"]))
                     for i in range(n_cases)]
            session.add_all(cases)
            session.flush()
            rows: list[dict[str, Any]] = []
            for case in cases:
                for qid in QUESTIONS:
                    for rater in ("primary", "qa"):
                        if rng.random() < 0.7 and (rater == "primary" or rng.random() < 0.2):
                            rows.append({"case_id": case.id, "question_id": qid,
                                         "question_set_version": "1", "rater": rater,
                                         "value": rng.choice(VALUES),
                                         "note": "n" if rng.random() < 0.1 else None})
            if rows:
                session.connection().execute(sa.insert(Answer.__table__), rows)  # type: ignore[attr-defined]
    return ids


def _reference(db: Database, inspection_ids: Sequence[int], *, by: str,
               questions: Sequence[str], covariates: Sequence[str] = (),
               rater: str = "primary") -> pd.DataFrame:
    """The plain joined GROUP BY that `pattern_counts` replaces."""
    level = group_expression(by).label("level")
    covs = [group_expression(c).label(f"cov_{i}") for i, c in enumerate(covariates)]
    keys = [Answer.question_id, level, *covs, Answer.value]
    stmt = (sa.select(*keys, sa.func.count()).select_from(Answer)
            .join(Case, Answer.case_id == Case.id)
            .join(Inspection, Case.inspection_id == Inspection.id)
            .outerjoin(Site, Case.site_id == Site.id)
            .where(Case.inspection_id.in_(inspection_ids),  # type: ignore[attr-defined]
                   Answer.rater == rater,
                   Answer.question_id.in_(list(questions)),  # type: ignore[attr-defined]
                   Answer.value.is_not(None))  # type: ignore[union-attr]
            .group_by(*keys))
    with db.engine.connect() as conn:
        frame = fetch_frame(conn, stmt, ["question_id", by, *covariates, "value", "count"])
    return frame[frame[by].notna()].reset_index(drop=True)


def _canonical(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return sorted((tuple(None if pd.isna(v) else v for v in row)
                   for row in frame.itertuples(index=False)), key=repr)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pattern_counts_equal_the_joined_group_by(any_db: Database, seed: int) -> None:
    ids = _populate(any_db, seed, [("big", 700), ("small", 8), ("other", 100)])
    cases = {"big": 700, "small": 8, "other": 100}
    for chosen in (["big"], ["small"], ["big", "small"], ["small", "other"]):
        # "small" alone falls under the seek threshold, "big" over it: both paths run.
        share = sum(cases[c] for c in chosen) / sum(cases.values())
        assert (share < _SEEK_SHARE) == (chosen == ["small"])
        insp = [ids[c] for c in chosen]
        for by, covariates, rater in [("iom", (), "primary"),
                                      ("iom", ("case_type", "rosh", "provider"), "primary"),
                                      ("site", ("iom",), "qa"),
                                      ("provider", ("case_type",), "primary")]:
            got = pattern_counts(any_db, insp, by=by, questions=QUESTIONS,
                                 covariates=covariates, rater=rater)
            want = _reference(any_db, insp, by=by, questions=QUESTIONS,
                              covariates=covariates, rater=rater)
            assert list(got.columns) == list(want.columns)
            assert _canonical(got) == _canonical(want), (chosen, by, covariates, rater)
            assert got["count"].dtype == "int64"


def test_sqlite_and_postgres_give_the_same_frame(sqlite_db: Database,
                                                 postgres_db: Database) -> None:
    """Row for row and in the same order, not only the same counts: PostgreSQL counts on
    the server (GROUP BY over the pattern numbers), SQLite in numpy."""
    frames = []
    for db in (sqlite_db, postgres_db):
        ids = _populate(db, 7, [("big", 400), ("other", 60)])
        frames.append([pattern_counts(db, [ids["big"]], by=by, questions=QUESTIONS,
                                      covariates=covariates, rater=rater)
                       for by, covariates, rater in [
                           ("iom", ("case_type", "rosh", "provider"), "primary"),
                           ("site", ("iom",), "qa"), ("provider", (), "primary")]])
    for lite, pg in zip(*frames, strict=True):
        assert len(lite) > 10
        pd.testing.assert_frame_equal(lite, pg)


def test_keys_may_be_none_and_cases_may_be_a_subset(any_db: Database) -> None:
    ids = _populate(any_db, 9, [("one", 50)])
    keys = case_keys(any_db, [ids["one"]], {"iom": Case.iom},  # type: ignore[dict-item]
                     where=[Case.case_ref.in_(["one-1", "one-2", "one-3"])])  # type: ignore[attr-defined]
    assert len(keys) == 3
    got = tally(any_db, keys, QUESTIONS, inspection_ids=[ids["one"]])
    with any_db.engine.connect() as conn:
        want = conn.execute(sa.text(
            "SELECT count(*) FROM answer JOIN \"case\" c ON c.id = answer.case_id "
            "WHERE c.case_ref IN ('one-1', 'one-2', 'one-3') AND rater = 'primary' "
            "AND value IS NOT NULL")).scalar_one()
    assert got["count"].sum() == want


def test_no_keys_counts_per_question_and_value(any_db: Database) -> None:
    ids = _populate(any_db, 4, [("one", 30)])
    keys = case_keys(any_db, [ids["one"]], {})
    got = tally(any_db, keys, QUESTIONS, inspection_ids=[ids["one"]])
    assert list(got.columns) == ["question_id", "value", "count"]
    with any_db.engine.connect() as conn:
        want = dict(((q, v), n) for q, v, n in conn.execute(sa.text(
            "SELECT question_id, value, count(*) FROM answer WHERE rater = 'primary' "
            "AND value IS NOT NULL GROUP BY 1, 2")))
    assert {(q, v): n for q, v, n in got.itertuples(index=False)} == want


def test_nothing_to_count(any_db: Database) -> None:
    ids = _populate(any_db, 5, [("one", 5)])
    keys = case_keys(any_db, [ids["one"]], {"iom": group_expression("iom")})
    assert tally(any_db, keys, [], inspection_ids=[ids["one"]]).empty
    none = tally(any_db, keys.iloc[:0], QUESTIONS, inspection_ids=[ids["one"]])
    assert list(none.columns) == ["question_id", "iom", "value", "count"] and none.empty


def test_prefetched_lists_count_as_those_read_on_the_spot(sqlite_db: Database) -> None:
    """`compare` starts the answer lists in a thread before it imports the statistics
    stack (`answer_lists.prefetch`); the tally of those lists is the tally read after."""
    ids = _populate(sqlite_db, 4, [("big", 700), ("small", 8), ("other", 100)])
    for chosen in (["big"], ["small"], ["small", "other"]):  # "small": the seek plan
        insp = [ids[c] for c in chosen]
        for rater in ("primary", "final"):
            grouped = group_patterns(sqlite_db, insp, by="iom", covariates=("case_type",))
            listed = answer_lists.prefetch(sqlite_db, QUESTIONS, insp, rater)
            assert listed is not None
            got = tally_patterns(sqlite_db, grouped.patterns, QUESTIONS, inspection_ids=insp,
                                 rater=rater, prefetched=listed)
            want = tally_patterns(sqlite_db, grouped.patterns, QUESTIONS, inspection_ids=insp,
                                  rater=rater)
            pd.testing.assert_frame_equal(got, want)


def test_a_prefetch_of_other_lists_is_refused(sqlite_db: Database) -> None:
    ids = _populate(sqlite_db, 5, [("big", 50), ("other", 50)])
    grouped = group_patterns(sqlite_db, [ids["big"]], by="iom")
    for questions, insp, rater in [(QUESTIONS[:2], [ids["big"]], "primary"),
                                   (QUESTIONS, [ids["other"]], "primary"),
                                   (QUESTIONS, [ids["big"]], "qa")]:
        listed = answer_lists.prefetch(sqlite_db, questions, insp, rater)
        with pytest.raises(ValueError, match="prefetched"):
            tally_patterns(sqlite_db, grouped.patterns, QUESTIONS, inspection_ids=[ids["big"]],
                           rater="primary", prefetched=listed)


def test_a_failed_prefetch_raises_where_its_lists_are_used(sqlite_db: Database) -> None:
    ids = _populate(sqlite_db, 6, [("big", 20)])
    with sqlite_db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE answer")
    listed = answer_lists.prefetch(sqlite_db, QUESTIONS, [ids["big"]], "primary")
    assert listed is not None
    with pytest.raises(sa.exc.OperationalError):
        listed.lists()


def test_the_comparison_names_the_statistics_default_covariates() -> None:
    # analysis names them without importing stats.results (pandas) at its own import.
    from audit.views import analysis
    from stats.results import DEFAULT_COVARIATES

    assert analysis.DEFAULT_COVARIATES == DEFAULT_COVARIATES


def test_a_reports_shared_grouping_gives_what_each_grouping_gives(sqlite_db: Database) -> None:
    """`share_case_grouping` groups once by every field a report's tables group by; each
    `case_patterns` of some of those fields and inspections, regrouped from it, is the one
    the database gives: the same keys frame (values, order, dtypes) and the same ids."""
    ids = _populate(sqlite_db, 8, [("big", 300), ("other", 80)])
    both = [ids["big"], ids["other"]]
    requests = [([ids["big"]], ("iom", "case_type", "rosh", "provider")),
                (both, ("provider", "case_type", "rosh")),
                (both, ("inspection", "site", "provider")),
                ([ids["other"]], ("site",))]
    wanted = [case_patterns(sqlite_db, insp, {f: group_expression(f) for f in fields})
              for insp, fields in requests]
    with shared_answer_scan(sqlite_db):
        share_case_grouping(both, ("iom", "case_type", "rosh", "provider", "inspection",
                                   "site"))
        got = [case_patterns(sqlite_db, insp, {f: group_expression(f) for f in fields})
               for insp, fields in requests]
        shared = tally_module._SHARED_SCAN.get()
        assert shared is not None and shared.grouping is not None
        assert shared.grouping.rows is not None  # served from it, not asked again
    for mine, theirs in zip(got, wanted, strict=True):
        pd.testing.assert_frame_equal(mine.keys, theirs.keys)
        assert [list(i) for i in mine.ids] == [list(i) for i in theirs.ids]


def test_a_comparison_inside_a_report_counts_from_the_shared_scan(sqlite_db: Database) -> None:
    """Inside a report's block, `compare` lists no answers of its own (the shared scan
    does) and gives the comparison it gives outside one."""
    from audit.views.analysis import compare

    _populate(sqlite_db, 10, [("big", 300)])
    questions = list(QUESTIONS[:3])
    alone = compare(sqlite_db, by="iom", questions=questions, independent_effect=False)
    with shared_answer_scan(sqlite_db):
        assert answer_lists.prefetch(sqlite_db, questions, [1], "final") is None
        inside = compare(sqlite_db, by="iom", questions=questions, independent_effect=False)
    assert inside == alone


def test_tallies_from_a_reports_shared_grouping_equal_their_own(
        any_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL counts the announced questions once per pattern of the shared grouping;
    every tally of some of them over cases grouped from it is the frame its own query
    gives (SQLite lists answers instead, and must give the same)."""
    ids = _populate(any_db, 11, [("big", 300), ("other", 80)])
    both = [ids["big"], ids["other"]]
    requests = [([ids["big"]], "iom", ("case_type", "rosh", "provider"), QUESTIONS),
                (both, "provider", ("case_type", "rosh"), QUESTIONS),
                (both, "site", ("inspection",), QUESTIONS[:2])]
    for rater in ("primary", "final"):
        alone = [pattern_counts(any_db, insp, by=by, questions=qs, covariates=cov,
                                rater=rater) for insp, by, cov, qs in requests]
        with shared_answer_scan(any_db):
            share_case_grouping(both, ("iom", "case_type", "rosh", "provider", "inspection",
                                       "site"), questions=QUESTIONS, rater=rater)
            grouping = tally_module._SHARED_SCAN.get().grouping  # type: ignore[union-attr]
            assert grouping is not None
            grouping.ready.wait()
            asked: list[int] = []
            own = tally_module._counted_on_server
            monkeypatch.setattr(tally_module, "_counted_on_server",
                                lambda *a, asked=asked, own=own: asked.append(1) or own(*a))
            inside = [pattern_counts(any_db, insp, by=by, questions=qs, covariates=cov,
                                     rater=rater) for insp, by, cov, qs in requests]
            shared = tally_module._SHARED_SCAN.get()
            assert shared is not None and shared.grouping is not None
            monkeypatch.undo()
            if any_db.engine.dialect.name != "sqlite":
                assert shared.grouping.counted is not None  # counted once, on the server
                assert not asked  # and every tally summed from it
        for mine, theirs in zip(inside, alone, strict=True):
            assert len(theirs) > 10
            pd.testing.assert_frame_equal(mine, theirs)
