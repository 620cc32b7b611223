"""The demo obeys every rule of its question sets, for every case and every rater."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.demo.core import build_core_chunk, core_chunks
from audit.rules import applicable_mask
from question_sets import load_set
from question_sets.profile import PROFILE
from tests.audit.demo.conftest import Built

SETS = {"iom-thematic-2019": "iom-thematic-2019", "core-2018-19": "hmip-adult-2018"}


def _violations(cases: pd.DataFrame, answers: pd.DataFrame, set_id: str) -> list[str]:
    qs = load_set(set_id)
    profiles = {row["id"]: {f: row[f] for f in PROFILE} | {"site": row["site"],
                                                           "status": row["status"]}
                for row in cases.to_dict("records")}
    problems = []
    for (case_id, rater), group in answers.groupby(["case_id", "rater"]):
        given = dict(zip(group["question_id"], group["value"], strict=True))
        applies = qs.applicable(profiles[case_id], given)
        for qid, value in given.items():
            if qid not in qs:
                problems.append(f"{case_id}/{rater}: unknown question {qid}")
            elif not applies[qid]:
                problems.append(f"{case_id}/{rater}: {qid} answered but does not apply")
            elif value is not None and qs.check_answer(qid, value):
                problems.append(f"{case_id}/{rater}: {qid}: {qs.check_answer(qid, value)}")
    return problems


@pytest.mark.parametrize("inspection", list(SETS))
def test_every_answer_applies_and_is_valid(demo: Built, inspection: str) -> None:
    cases = demo.cases[demo.cases["inspection"] == inspection]
    answers = demo.answers[demo.answers["inspection"] == inspection]
    assert len(answers) > 0
    assert _violations(cases, answers, SETS[inspection]) == []


def test_the_checker_itself_catches_a_broken_answer(demo: Built) -> None:
    """A deliberately broken copy is caught: the rule test above can fail."""
    cases = demo.cases[demo.cases["inspection"] == "iom-thematic-2019"]
    answers = demo.answers[demo.answers["inspection"] == "iom-thematic-2019"].copy()
    nonstat = cases.loc[cases["case_type"] == "non_statutory", "id"].iloc[0]
    broken = pd.DataFrame([{"case_id": nonstat, "question_id": "iom.plan_requirements",
                            "value": "yes", "rater": "primary"},
                           {"case_id": nonstat, "question_id": "iom.complied",
                            "value": "maybe", "rater": "qa"}])
    problems = _violations(cases, pd.concat([answers, broken]), "iom-thematic-2019")
    assert len(problems) == 2


def test_complete_thematic_cases_answer_every_required_question(demo: Built) -> None:
    qs = load_set("iom-thematic-2019")
    cases = demo.cases[demo.cases["inspection"] == "iom-thematic-2019"]
    primary = demo.answers[demo.answers["rater"] == "primary"]
    by_case = {cid: dict(zip(g["question_id"], g["value"], strict=True))
               for cid, g in primary.groupby("case_id")}
    for row in cases.to_dict("records"):
        given = by_case.get(row["id"], {})
        applies = qs.applicable({f: row[f] for f in PROFILE}, given)
        missing = [q.id for q in qs.questions
                   if q.required and applies[q.id] and q.id not in given]
        if row["status"] in ("complete", "qa_checked", "moderated"):
            assert missing == [], row["case_ref"]
        else:
            assert row["status"] == "in_progress" and missing, row["case_ref"]


def test_vectorised_applicability_matches_the_question_set() -> None:
    qs = load_set("hmip-adult-2018")
    chunk = core_chunks(3_247, chunk_cases=600)[0]
    cases, answers = build_core_chunk(7, qs, chunk)
    wide = {q: answers.loc[answers["question_id"] == q].set_index("case_ref")["value"]
            .reindex(cases["case_ref"]).to_numpy(dtype=object) for q in answers["question_id"]
            .unique()}
    wide = {q: np.where(pd.isna(v), None, v) for q, v in wide.items()}
    for q in qs.questions:
        mask = applicable_mask(qs, q.id, cases, wide)
        expected = [qs.applicable(case, {k: v[i] for k, v in wide.items() if v[i] is not None}
                                  )[q.id] for i, case in enumerate(cases.to_dict("records"))]
        assert mask.tolist() == expected, q.id
