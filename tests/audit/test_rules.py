"""`audit.rules` is the one judge of applicability: for one case and for whole frames alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import rules
from question_sets import QuestionSet, load_file, load_set
from question_sets.profile import PROFILE

THEMATIC = load_set("iom-thematic-2019")
CORE = load_set("hmip-adult-2018")
# A chain: c depends on b, which depends on a, which depends on the case. A hidden answer
# must read as missing further down the chain.
CHAIN_YAML = """\
id: chain-test
version: "1.0"
title: Chained rules
sections:
  - id: s
    title: S
    questions:
      - {id: a, text: A?, type: yes_no, applies_when: "case.domestic_abuse"}
      - {id: b, text: B?, type: yes_no, applies_when: "answers['a'] == 'yes'"}
      - id: c
        text: C?
        type: yes_no
        applies_when: "answers['b'] == 'yes' or case.case_type == 'community'"
      - {id: d, text: D?, type: yes_no}
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> QuestionSet:
    path = tmp_path_factory.mktemp("sets") / "chain-test-1.0.yaml"
    path.write_text(CHAIN_YAML)
    return load_file(path)


def _codes(field: str) -> list[object]:
    spec = PROFILE[field]
    return [True, False, None] if spec.kind == "bool" else [*spec.codes, None]


def test_rule_case_carries_the_site_and_status() -> None:
    case = rules.rule_case({"case_type": "community"}, "Leeds", "in_progress")
    assert case == {"case_type": "community", "site": "Leeds", "status": "in_progress"}


def test_a_note_without_an_answer_on_a_hidden_question_is_hidden_too() -> None:
    community = rules.rule_case({"case_type": "community"}, None, "in_progress")
    # iom.recalled asks about licence recalls: not for community cases.
    hidden = rules.inapplicable_answers(THEMATIC, community,
                                        {"iom.recalled": None, "2.1.1": "yes"})
    assert hidden == ["iom.recalled"]


def test_missing_required_skips_what_does_not_apply() -> None:
    community = rules.rule_case({"case_type": "community"}, None, "in_progress")
    missing = rules.missing_required(THEMATIC, community, {})
    assert "iom.recalled" not in missing and "2.1.1" in missing
    post = rules.rule_case({"case_type": "post_release"}, None, "in_progress")
    assert "iom.recalled" in rules.missing_required(THEMATIC, post, {})
    # Answering can make follow-ups apply (a factor linked: was it delivered?): answer
    # until nothing required is left, which takes a few rounds at most.
    answered: dict[str, str | None] = {}
    for _ in range(5):
        missing = rules.missing_required(THEMATIC, community, answered)
        answered |= {q: next(iter(THEMATIC.question(q).codes), "x") for q in missing}
    assert missing == []
    assert "factor.attitudes.delivered" in answered  # a follow-up that came to apply


def test_only_judges_what_is_asked_and_agrees_with_judging_everything() -> None:
    n = 4
    cases = {"case_type": np.array(["community", "post_release", None, "non_statutory"],
                                   dtype=object)}
    answers = {"iom.deselected": np.array(["yes", "no", "yes", None], dtype=object)}
    everything = rules.applicability(THEMATIC, n, cases, answers)
    one = rules.applicability(THEMATIC, n, cases, answers, only=["iom.exit_strategy"])
    assert set(one) < set(everything)
    assert "iom.exit_strategy" in one
    assert (one["iom.exit_strategy"] == everything["iom.exit_strategy"]).all()


@settings(max_examples=60, deadline=None)
@given(data=st.data(), set_name=st.sampled_from(["thematic", "core", "chain"]))
def test_frames_and_single_cases_reach_the_same_verdict(data: st.DataObject, set_name: str,
                                                        chain: QuestionSet) -> None:
    """`inapplicable` (imports) and `applicable_mask` (demo) equal `applicable` (the app)."""
    qs = {"thematic": THEMATIC, "core": CORE, "chain": chain}[set_name]
    fields = sorted(rules.rule_case_fields(qs) - {"site", "status"})
    ruled = sorted(rules.rule_questions(qs))
    n = data.draw(st.integers(1, 12))
    profiles = pd.DataFrame(
        {f: [data.draw(st.sampled_from(_codes(f))) for _ in range(n)] for f in fields},
        index=range(n), dtype=object)
    answers = {q: [data.draw(st.sampled_from([*(qs.question(q).codes or {"yes": ""}), None]))
                   for _ in range(n)] for q in ruled}
    single = []
    for i in range(n):
        case = {f: profiles.at[i, f] for f in fields}
        given_ = {q: answers[q][i] for q in ruled if answers[q][i] is not None}
        single.append(rules.applicable(qs, case, given_))
    # One (case, rater) group per case, as the importer builds them.
    long = pd.DataFrame([(i, "primary", q, answers[q][i]) for i in range(n) for q in ruled
                         if answers[q][i] is not None],
                        columns=["case_id", "rater", "question_id", "value"])
    found = rules.inapplicable(qs, long, profiles)
    got = {(int(c), q) for c, q in zip(found["case_id"], found["question_id"], strict=True)}
    expected = {(i, q) for i in range(n) for q in ruled
                if answers[q][i] is not None and not single[i][q]}
    assert got == expected
    wide = {q: np.array(answers[q], dtype=object) for q in ruled}
    for q in ruled:
        mask = rules.applicable_mask(qs, q, profiles, wide)
        assert mask.tolist() == [single[i][q] for i in range(n)], q
