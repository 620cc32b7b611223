"""Attack: a primary rater's own "QA" counts in the reliability table (issue 15, "Blind
QA is neither independent nor blind": "That pair then counts in the reliability table").

Self-pairs stored before this version refused them (written here the way a bulk load
did) are left out of Cohen's kappa and agreement, and the table's note gives their
number. The remaining pairs are checked against statsmodels' `cohens_kappa`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import cohens_kappa

from audit import cases
from audit.imports.stage_answers import upsert_answers
from audit.permissions import Actor
from audit.report.build import compile_report
from audit.report.model import ReportTable
from audit.store.engine import Database
from tests.helpers import KEY_QUESTIONS, rate_qa
from tests.tui.conftest import build_db, case_id

REPORTER = Actor("Rae Reporter")  # nobody is a lead yet: the first user acts as one
PRIMARY = ("Pat Primary", "Sam Primary")
HONEST = range(0, 8)  # QA by someone independent
SELF_PAIRS = {8: "judge", 9: "trail", 10: "judge"}  # how each self-pair came about
N_SELF_PAIRS = len(SELF_PAIRS)


def _answers(rng: np.random.Generator) -> dict[str, str]:
    return {q: str(rng.choice(["yes", "no"])) for q in KEY_QUESTIONS}


def _bulk(db: Database, rows: list[dict[str, str]], who: str) -> None:
    """Answers written the way a bulk load (the demo builder, a ratings file) writes them:
    what a database from before this version may hold."""
    with db.write() as conn:
        upsert_answers(conn, 1, pd.DataFrame(rows), who=who, question_set_version="1.0")


def _ratings(db: Database) -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    rng = np.random.default_rng(15)
    primary: dict[int, dict[str, str]] = {}
    qa: dict[int, dict[str, str]] = {}
    for i in range(12):
        cid = case_id(db, f"C{i:04d}")
        primary[cid] = _answers(rng)
        version = cases.load_case(db, cid, actor=REPORTER).version
        for qid, value in primary[cid].items():
            version = cases.record_answer(db, cid, qid, value, actor=Actor(PRIMARY[i % 2]),
                                          expected_version=version).version
    for i in HONEST:
        cid = case_id(db, f"C{i:04d}")
        # An honest second rating: mostly the same, one answer in four flipped.
        qa[cid] = {q: (v if rng.random() > 0.25 else {"yes": "no", "no": "yes"}[v])
                   for q, v in primary[cid].items()}
        rate_qa(db, cid, f"Quinn QA {i % 3}", qa[cid])
    for i, how in SELF_PAIRS.items():
        cid = case_id(db, f"C{i:04d}")
        ref = f"C{i:04d}"
        if how == "judge":  # the primary rater's own "QA": agrees with himself throughout
            rater = PRIMARY[i % 2]
        else:  # Dee changed a primary answer (by a file she imported), then did the QA
            rater = "Dee Double"
            primary[cid]["2.1.1"] = {"yes": "no", "no": "yes"}[primary[cid]["2.1.1"]]
            _bulk(db, [{"case_ref": ref, "question_id": "2.1.1", "rater": "primary",
                        "value": primary[cid]["2.1.1"], "inspector": PRIMARY[i % 2]}],
                  who=rater)
        qa[cid] = dict(primary[cid])
        _bulk(db, [{"case_ref": ref, "question_id": q, "rater": "qa", "value": v,
                    "inspector": rater} for q, v in qa[cid].items()], who="an old import")
    return primary, qa


@pytest.fixture(params=["sqlite", "postgres"])
def rated(request: pytest.FixtureRequest, tmp_path: Path
          ) -> Iterator[tuple[Database, dict[int, dict[str, str]], dict[int, dict[str, str]]]]:
    where = (str(tmp_path / "rel.db") if request.param == "sqlite"
             else request.getfixturevalue("postgres_url"))
    db = build_db(where)
    primary, qa = _ratings(db)
    yield db, primary, qa
    db.dispose()


def _table(db: Database) -> ReportTable:
    return compile_report(db, actor=REPORTER, tables=["reliability"]).table("reliability")


def _kappa(primary: dict[int, dict[str, str]], qa: dict[int, dict[str, str]],
           case_ids: list[int], questions: tuple[str, ...]) -> float:
    first = [primary[c][q] for c in case_ids for q in questions]
    second = [qa[c][q] for c in case_ids for q in questions]
    table = pd.crosstab(pd.Series(first), pd.Series(second)).reindex(
        index=["yes", "no"], columns=["yes", "no"], fill_value=0)
    return float(cohens_kappa(table.to_numpy()).kappa)


def _alpha_and_ac1(primary: dict[int, dict[str, str]], qa: dict[int, dict[str, str]],
                   case_ids: list[int], questions: tuple[str, ...]) -> tuple[float, float]:
    """Krippendorff's alpha by the package, and Gwet's AC1 by hand (two categories)."""
    first = [primary[c][q] for c in case_ids for q in questions]
    second = [qa[c][q] for c in case_ids for q in questions]
    code = {"no": 0.0, "yes": 1.0}
    alpha = krippendorff.alpha(reliability_data=[[code[v] for v in first],
                                                 [code[v] for v in second]],
                               level_of_measurement="nominal")
    po = np.mean([a == b for a, b in zip(first, second, strict=True)])
    pi_yes = (first.count("yes") + second.count("yes")) / (2 * len(first))
    pe = 2 * pi_yes * (1 - pi_yes) / (2 - 1)
    return float(alpha), float((po - pe) / (1 - pe))


def test_self_pairs_are_left_out_of_reliability_and_counted_in_the_note(rated) -> None:  # type: ignore[no-untyped-def]
    db, primary, qa = rated
    table = _table(db)
    kept = sorted(case_id(db, f"C{i:04d}") for i in HONEST)
    self_pairs = sorted(case_id(db, f"C{i:04d}") for i in SELF_PAIRS)
    rows = {r["question_id"]: r for r in table.rows}
    overall = rows.pop("overall")

    assert table.base == {"Cases rated twice": len(kept)}
    assert f"{N_SELF_PAIRS} case(s) rated twice were left out as self-pairs" in " ".join(
        table.notes)
    assert all(r["pairs"] == len(kept) for r in rows.values())
    assert overall["pairs"] == len(kept) * len(KEY_QUESTIONS)
    # The kappa of the pairs left, computed independently.
    assert overall["kappa"] == pytest.approx(_kappa(primary, qa, kept, KEY_QUESTIONS),
                                             abs=1e-12)
    for qid, row in rows.items():
        if row["kappa"] is not None:
            assert row["kappa"] == pytest.approx(_kappa(primary, qa, kept, (qid,)), abs=1e-12)
    alpha, ac1 = _alpha_and_ac1(primary, qa, kept, KEY_QUESTIONS)
    assert overall["alpha"] == pytest.approx(alpha, abs=1e-12)
    assert overall["ac1"] == pytest.approx(ac1, abs=1e-12)
    # And the table would read otherwise had the self-pairs counted (the test can fail).
    inflated = _kappa(primary, qa, kept + self_pairs, KEY_QUESTIONS)
    assert inflated > overall["kappa"] + 0.01


def test_the_note_says_when_no_pair_was_left_out(tmp_path: Path) -> None:
    db = build_db(tmp_path / "clean.db")
    try:
        cid = case_id(db, "C0000")
        version = cases.load_case(db, cid, actor=REPORTER).version
        for qid in KEY_QUESTIONS:
            version = cases.record_answer(db, cid, qid, "yes", actor=Actor("Pat Primary"),
                                          expected_version=version).version
        rate_qa(db, cid, "Quinn QA")
        notes = " ".join(_table(db).notes)
        assert "No case was left out as a self-pair" in notes
    finally:
        db.dispose()


def test_only_self_pairs_give_no_table_at_all(tmp_path: Path) -> None:
    """Nothing left to count: the figure is left out (as every empty figure is), never
    printed from the self-pairs; the methods say why."""
    db = build_db(tmp_path / "selfish.db")
    try:
        _bulk(db, [{"case_ref": "C0000", "question_id": q, "rater": r, "value": "yes",
                    "inspector": "Pat Primary"} for q in KEY_QUESTIONS
                   for r in ("primary", "qa")], who="an old import")
        report = compile_report(db, actor=REPORTER, tables=["reliability"])
        assert not report.tables
        assert "never where the QA rater had also given or changed primary answers" in " ".join(
            report.meta.methods)
    finally:
        db.dispose()
