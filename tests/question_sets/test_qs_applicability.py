"""Which questions apply to real case profiles, and which answers are valid."""

import pytest

from question_sets import QuestionSet, load_set

# Cases like those of the thematic sample (seed 002, Annex 2 and chapter 4).
JOSHUA = {  # Waltham Forest: suspended sentence, domestic abuse, alcohol
    "iom": True, "provider": "crc", "case_type": "community", "rosh": "medium",
    "domestic_abuse": True, "child_safeguarding": True, "index_offence": "violence",
    "prev_convictions": "11_20", "site": "Waltham Forest",
}
KHALIL = {  # Cumbria: custody, high risk, released on licence
    "iom": True, "provider": "nps", "case_type": "post_release", "rosh": "high",
    "domestic_abuse": True, "child_safeguarding": False, "index_offence": "robbery",
}
NON_STATUTORY = {"iom": True, "provider": "police", "case_type": "non_statutory"}


@pytest.fixture(scope="module")
def thematic() -> QuestionSet:
    return load_set("iom-thematic-2019")


def applying(qs: QuestionSet, case: dict, answers: dict) -> set[str]:
    return {qid for qid, ok in qs.applicable(case, answers).items() if ok}


def test_every_question_gets_a_verdict(thematic: QuestionSet) -> None:
    verdicts = thematic.applicable({}, {})
    assert list(verdicts) == [q.id for q in thematic.questions]
    assert all(isinstance(v, bool) for v in verdicts.values())


def test_factor_delivered_applies_only_when_linked_is_yes(thematic: QuestionSet) -> None:
    answers = {"factor.drugs.linked": "yes", "factor.alcohol.linked": "no"}
    ok = applying(thematic, KHALIL, answers)
    delivered = {q for q in ok if q.endswith(".delivered")}
    assert delivered == {"factor.drugs.delivered"}
    assert {f"factor.{c}.linked" for c, _ in thematic.factors} <= ok
    assert applying(thematic, KHALIL, {}) & {q.id for q in thematic.questions
                                             if q.id.endswith(".delivered")} == set()


def test_non_statutory_rules(thematic: QuestionSet) -> None:
    rule_bound = {"iom.partner_info", "iom.partners", "iom.plan_requirements",
                  "iom.plan_roles", "iom.su_involved_review"}
    assert rule_bound <= applying(thematic, JOSHUA, {})
    assert rule_bound & applying(thematic, NON_STATUTORY, {}) == set()
    # Every key question applies to every case: "in relevant cases" is an 'na' answer.
    for case in (JOSHUA, KHALIL, NON_STATUTORY, {}):
        assert {q.id for q in thematic.key_questions} <= applying(thematic, case, {})


def test_recall_applies_only_to_post_release_cases(thematic: QuestionSet) -> None:
    assert thematic.applies("iom.recalled", KHALIL, {})
    assert not thematic.applies("iom.recalled", JOSHUA, {})
    assert not thematic.applies("iom.recalled", NON_STATUTORY, {})


def test_unknown_profile_values_read_as_none(thematic: QuestionSet) -> None:
    unknown = {"case_type": None, "domestic_abuse": None}
    # None != 'non_statutory' holds; None == 'post_release' and a bare None do not.
    assert thematic.applies("iom.partner_info", unknown, {})
    assert thematic.applies("iom.partner_info", {}, {})
    assert not thematic.applies("iom.recalled", unknown, {})
    assert not thematic.applies("safe.da_enquiries", unknown, {})
    # Fields the case mapping does not hold at all behave the same.
    assert not thematic.applies("safe.da_enquiries", {"site": "Sheffield"}, {})


def test_keeping_safe_follows_the_profile(thematic: QuestionSet) -> None:
    ok = applying(thematic, JOSHUA, {})
    assert {"safe.da_enquiries", "safe.safeguarding_enquiries"} <= ok
    ok = applying(thematic, KHALIL, {})
    assert "safe.da_enquiries" in ok and "safe.safeguarding_enquiries" not in ok
    # Imported profiles may hold 'yes'/'no' strings for bool fields.
    assert thematic.applies("safe.da_enquiries", {"domestic_abuse": "yes"}, {})
    assert not thematic.applies("safe.da_enquiries", {"domestic_abuse": "no"}, {})


def test_outcome_follow_ups_and_exit_strategy(thematic: QuestionSet) -> None:
    assert thematic.applies("outcome.frequency", KHALIL, {"outcome.reoffended": "yes"})
    assert not thematic.applies("outcome.seriousness", KHALIL, {"outcome.reoffended": "no"})
    assert not thematic.applies("outcome.seriousness", KHALIL, {})
    assert thematic.applies("iom.exit_strategy", JOSHUA, {"iom.deselected": "yes"})
    assert not thematic.applies("iom.exit_strategy", JOSHUA, {"iom.deselected": "no"})


def test_answers_to_non_applicable_questions_are_ignored(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "chain.yaml").write_text("""\
id: chain
version: "1.0"
title: Chain
sections:
  - id: s
    title: S
    questions:
      - id: c
        text: Follow-up of b?
        type: yes_no
        applies_when: "answers['b'] == 'yes'"
      - id: a
        text: Licence case question?
        type: yes_no
        applies_when: "case.case_type == 'post_release'"
      - id: b
        text: Follow-up of a?
        type: yes_no
        applies_when: "answers['a'] == 'yes'"
""")
    qs = load_set("chain", extra_dirs=[tmp_path])
    assert qs.rule_order == ("a", "b", "c")  # dependencies first, whatever the file order
    stale = {"a": "yes", "b": "yes"}  # answered before the case type was corrected
    assert qs.applicable({"case_type": "post_release"}, stale) == {"c": True, "a": True,
                                                                   "b": True}
    assert qs.applicable({"case_type": "community"}, stale) == {"c": False, "a": False,
                                                                "b": False}


def test_unknown_question_in_applies_is_a_key_error(thematic: QuestionSet) -> None:
    with pytest.raises(KeyError):
        thematic.applies("nope", {}, {})


@pytest.mark.parametrize(("qid", "value", "reason"), [
    ("2.1.1", "yes", None),
    ("2.1.1", "no", None),
    ("2.1.1", "maybe", "'maybe' is not one of yes, no"),
    ("2.1.1", "na", "not applicable is not allowed for 2.1.1"),
    ("2.1.1", "Yes", "'Yes' is not one of yes, no"),
    ("2.1.1", "", "'' is not one of yes, no"),
    ("2.2.3", "na", None),
    ("2.2.3", "n/a", "'n/a' is not one of yes, no, na"),
    ("outcome.frequency", "same", None),
    ("outcome.frequency", "stayed_the_same", "'stayed_the_same' is not one of reduced, same, "
                                             "increased"),
    ("iom.partners", "police", None),
    ("iom.partners", "police;housing;ete", None),
    ("iom.partners", "police;probation", "'probation' is not one of police, nps, crc, "
                                         "substance_misuse, housing, mental_health, ete, other"),
    ("iom.partners", "police;police", "'police;police' repeats a code"),
    ("nope", "yes", "unknown question 'nope'"),
])
def test_check_answer(thematic: QuestionSet, qid: str, value: str, reason: str | None) -> None:
    assert thematic.check_answer(qid, value) == reason


def test_check_answer_integer_and_text(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "kinds.yaml").write_text("""\
id: kinds
version: "1.0"
title: Kinds
sections:
  - id: s
    title: S
    questions:
      - id: n
        text: How many?
        type: integer
      - id: t
        text: Notes?
        type: text
        required: false
""")
    qs = load_set("kinds", extra_dirs=[tmp_path])
    assert qs.check_answer("n", "12") is None
    assert qs.check_answer("n", "-3") is None
    assert qs.check_answer("n", "twelve") == "'twelve' is not a whole number"
    assert qs.check_answer("n", "1.5") == "'1.5' is not a whole number"
    assert qs.check_answer("t", "anything at all") is None
    assert qs.question("t").required is False and qs.question("n").codes == {}
