"""Reconciling a double rating (`audit.cases.moderate`, `mark_moderated`; rules in
`audit.qa_rules`): the moderator accepts a side or gives a third answer with a comment,
then a lead marks the case moderated. Agreement statistics keep to the two independent
ratings whatever the moderator decides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit import cases
from audit.errors import PermissionDenied, UsageError
from audit.imports.stage_answers import upsert_answers
from audit.permissions import Actor
from audit.report.build import compile_report
from audit.store.engine import Database
from audit.views.qa import side_by_side
from tests.databases import Prepare
from tests.helpers import KEY_QUESTIONS, answers, rate_qa, set_role
from tests.security.lifecycle_setup import INSPECTOR, LEAD, events, people, sign_off, status
from tests.tui.conftest import build_db, case_id, fill_inspection

QA_RATER = "Quinn QA"
DISAGREE = {"2.1.1": "no", "2.2.3": "no", "2.3.3": "no"}  # the primary said yes throughout
THIRD = ("case C0000, 2.3.3: the moderated answer na is neither rating's (primary yes, QA "
         "no): give a comment saying why")
MODERATION_REFUSAL = (f"{INSPECTOR.name} gave or changed primary answers of case C0000: its "
                      "moderated answers must come from someone else")


def double_rated(where: str) -> Database:
    """C0000 rated by Ivy (yes to every key question), QA-checked, its blind QA by Quinn
    disagreeing on three questions."""
    db = build_db(where)
    rate_twice(db)
    return db


def rate_twice(db: Database) -> None:
    """`double_rated`'s ratings, on `build_db`'s cases."""
    people(db)
    set_role(db, QA_RATER, "inspector")
    cid = case_id(db, "C0000")
    sign_off(db, cid, "complete", "qa_checked")
    rate_qa(db, cid, QA_RATER, DISAGREE)


def _double_rated(db: Database) -> None:
    fill_inspection(db)
    rate_twice(db)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, prepare: Prepare) -> Database:
    """A copy of `double_rated`'s database (made once through the use cases)."""
    return prepare(request.param, "double-rated", _double_rated)[0]


def _version(db: Database, cid: int) -> int:
    return cases.load_case(db, cid, actor=LEAD).version


def _moderate(db: Database, cid: int, qid: str, value: str | None,
              comment: str | None = None, actor: Actor = LEAD) -> cases.Change:
    return cases.moderate(db, cid, qid, value, comment=comment, actor=actor,
                          expected_version=_version(db, cid))


def _moderated(db: Database, cid: int) -> dict[str, tuple[str | None, str | None]]:
    view = cases.load_case(db, cid, actor=LEAD)
    return {q: (a.value, a.note) for q, a in view.answers.get("moderated", {}).items()}


def test_accept_a_side_or_give_a_third_answer_with_a_comment(db: Database) -> None:
    cid = case_id(db, "C0000")
    view = side_by_side(db, cid, actor=LEAD)
    assert [r.question_id for r in view.disagreements()] == ["2.1.1", "2.2.3", "2.3.3"]
    assert (view.reconciled, view.all_reconciled, view.refusal) == (0, False, None)

    _moderate(db, cid, "2.1.1", "yes")  # accepts the primary answer
    _moderate(db, cid, "2.2.3", "no")  # accepts the QA answer
    for empty in (None, "", "   \n "):
        with pytest.raises(UsageError) as refused:
            _moderate(db, cid, "2.3.3", "na", empty)
        assert str(refused.value) == THIRD
    assert "2.3.3" not in _moderated(db, cid)
    _moderate(db, cid, "2.3.3", "na", "  no contact with others in the period  ")
    assert _moderated(db, cid) == {"2.1.1": ("yes", None), "2.2.3": ("no", None),
                                   "2.3.3": ("na", "no contact with others in the period")}
    view = side_by_side(db, cid, actor=LEAD)
    rows = {r.question_id: r for r in view.disagreements()}
    assert [rows[q].decision for q in ("2.1.1", "2.2.3", "2.3.3")] == ["primary", "qa", "third"]
    assert (view.reconciled, view.all_reconciled, view.may_mark_moderated) == (3, True, True)
    # The answer and its comment in one change each, in the trail.
    trail = [(e["entity"], e["key"], e["new_value"]) for e in events(db, cid)[-2:]]
    assert trail == [("answer", "C0000/2.3.3/moderated", "na"),
                     ("note", "C0000/2.3.3/moderated", "no contact with others in the period")]

    # Taking a side again drops the comment; clearing leaves nothing behind.
    _moderate(db, cid, "2.3.3", "yes")
    assert _moderated(db, cid)["2.3.3"] == ("yes", None)
    _moderate(db, cid, "2.3.3", None, "a comment on nothing")
    assert "2.3.3" not in _moderated(db, cid)


def test_the_case_is_marked_moderated_once_every_disagreement_is_reconciled(
        db: Database) -> None:
    cid = case_id(db, "C0000")
    _moderate(db, cid, "2.1.1", "yes")
    with pytest.raises(UsageError, match=r"^case C0000: 1 of 3 disagreement\(s\) reconciled; "
                                         r"reconcile 2.2.3, 2.3.3 before marking it "
                                         r"moderated$"):
        cases.mark_moderated(db, cid, actor=LEAD, expected_version=_version(db, cid))
    _moderate(db, cid, "2.2.3", "no")
    _moderate(db, cid, "2.3.3", "na", "no contact")
    with pytest.raises(PermissionDenied, match="only the lead role may mark cases moderated"):
        cases.mark_moderated(db, cid, actor=Actor(QA_RATER), expected_version=_version(db, cid))
    assert status(db, cid) == "qa_checked"
    cases.mark_moderated(db, cid, actor=LEAD, expected_version=_version(db, cid))
    assert status(db, cid) == "moderated"
    assert side_by_side(db, cid, actor=LEAD).may_mark_moderated is False
    # A change of mind reopens it to QA-checked, with a reason (the lifecycle's rule).
    with pytest.raises(UsageError, match="which needs a reason"):
        _moderate(db, cid, "2.3.3", "no")
    cases.moderate(db, cid, "2.3.3", "no", comment=None, actor=LEAD,
                   expected_version=_version(db, cid), reason="second look at the file")
    assert status(db, cid) == "qa_checked"


def test_the_primary_rater_cannot_moderate_their_own_case(db: Database) -> None:
    """Hostile: Ivy gave the primary rating. Made a lead, she tries to settle the
    disagreements her way, to give a third answer, and to mark the case moderated."""
    cid = case_id(db, "C0000")
    set_role(db, INSPECTOR.name, "lead")
    before, trail = answers(db), len(events(db, cid))
    assert side_by_side(db, cid, actor=INSPECTOR).refusal == MODERATION_REFUSAL
    for qid, value, comment in (("2.1.1", "yes", None), ("2.2.3", "yes", None),
                                ("2.3.3", "na", "it was fine")):
        with pytest.raises(PermissionDenied) as refused:
            _moderate(db, cid, qid, value, comment, actor=INSPECTOR)
        assert str(refused.value) == MODERATION_REFUSAL
    # Someone else reconciles; Ivy still cannot be the one to mark the case moderated.
    for qid in DISAGREE:
        _moderate(db, cid, qid, "yes")
    with pytest.raises(PermissionDenied) as refused:
        cases.mark_moderated(db, cid, actor=INSPECTOR, expected_version=_version(db, cid))
    assert str(refused.value) == MODERATION_REFUSAL
    assert status(db, cid) == "qa_checked"
    assert {k: v for k, v in answers(db).items() if k[2] != "moderated"} == {
        k: v for k, v in before.items() if k[2] != "moderated"}
    assert len(events(db, cid)) == trail + 3  # the three moderated answers, nothing of hers


def test_nothing_is_reconciled_before_the_blind_qa_is_complete(tmp_path: Path) -> None:
    db = build_db(tmp_path / "r.db")
    try:
        people(db)
        cid = case_id(db, "C0000")
        sign_off(db, cid, "complete", "qa_checked")
        rate_qa(db, cid, QA_RATER, {"2.1.1": "no"}, questions=KEY_QUESTIONS[:3])
        before = answers(db)
        with pytest.raises(UsageError, match="once the blind QA rating is complete"):
            _moderate(db, cid, "2.1.1", "yes")
        with pytest.raises(UsageError, match="once the blind QA rating is complete"):
            cases.mark_moderated(db, cid, actor=LEAD, expected_version=_version(db, cid))
        assert answers(db) == before
    finally:
        db.dispose()


# ------------------------------------------------------------------ agreement statistics

def _bulk(db: Database, rows: list[dict[str, str]], who: str) -> None:
    with db.write() as conn:
        upsert_answers(conn, 1, pd.DataFrame(rows), who=who, question_set_version="1.0")


def _reliability(db: Database) -> list[dict[str, object]]:
    table = compile_report(db, actor=LEAD, tables=["reliability"]).table("reliability")
    return [{k: v for k, v in row.items() if k != "reasons"} for row in table.rows]


def test_agreement_uses_the_two_independent_ratings_never_the_moderated_one(
        tmp_path: Path) -> None:
    """Kappa compares primary with blind QA: however a disagreement is moderated (the QA
    side, a third answer), the reliability table does not move; a changed QA answer does
    move it (the test can fail)."""
    db = build_db(tmp_path / "k.db")
    try:
        people(db)
        rng = np.random.default_rng(18)
        rows, qa_rows, disagreements = [], [], []
        for i in range(10):
            ref = f"C{i:04d}"
            for qid in KEY_QUESTIONS:
                first = str(rng.choice(["yes", "no"]))
                second = first if rng.random() > 0.2 else {"yes": "no", "no": "yes"}[first]
                rows.append({"case_ref": ref, "question_id": qid, "rater": "primary",
                             "value": first, "inspector": "Pat Primary"})
                qa_rows.append({"case_ref": ref, "question_id": qid, "rater": "qa",
                                "value": second, "inspector": QA_RATER})
                if first != second:
                    disagreements.append((ref, qid, second))
        _bulk(db, rows, who="a ratings import")
        _bulk(db, qa_rows, who="a QA import")
        assert len(disagreements) >= 5
        before = _reliability(db)
        kappa = next(r["kappa"] for r in before if r["question_id"] == "overall")
        for n, (ref, qid, second) in enumerate(disagreements):
            cid = case_id(db, ref)
            if n % 2:
                _moderate(db, cid, qid, second)  # sides with QA
            elif qid in ("2.2.3", "2.3.3", "2.4.1", "2.4.2", "2.4.3"):
                _moderate(db, cid, qid, "na", "neither applied")  # a third answer
            else:
                _moderate(db, cid, qid, {"yes": "no", "no": "yes"}[second])  # the primary
        assert _reliability(db) == before
        ref, qid, second = disagreements[0]
        rate_qa(db, case_id(db, ref), QA_RATER, {qid: {"yes": "no", "no": "yes"}[second]},
                questions=(qid,))
        after = next(r["kappa"] for r in _reliability(db) if r["question_id"] == "overall")
        assert after != kappa
    finally:
        db.dispose()


def test_report_methods_say_what_is_counted(tmp_path: Path) -> None:
    db = double_rated(str(tmp_path / "m.db"))
    try:
        methods = " ".join(compile_report(db, actor=LEAD).meta.methods)
    finally:
        db.dispose()
    assert ("Answers counted in the tables are the moderated final record: for a case rated "
            "twice (primary and blind quality-assurance rating) whose disagreements were "
            "reconciled, the moderated answer; otherwise the primary rating.") in methods
    assert ("Agreement statistics (the inter-rater reliability table) compare the two "
            "independent ratings, primary against blind QA, never the moderated answers")\
        in methods
    assert "Answers counted are the primary ratings" not in methods
