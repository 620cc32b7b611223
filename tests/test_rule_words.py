"""Rules put into words for the person rating (audit/rule_words.py)."""

from __future__ import annotations

import pytest

from audit.rule_words import asked_because, rule_in_words
from question_sets import QuestionSet
from question_sets.loader import load_set


@pytest.fixture(scope="module")
def core() -> QuestionSet:
    return load_set("hmip-adult-2018")


@pytest.fixture(scope="module")
def thematic() -> QuestionSet:
    return load_set("iom-thematic-2019")


def test_an_answer_rule_names_the_question_and_the_answer(core: QuestionSet) -> None:
    assert asked_because(core, "factor.attitudes.delivered", True) == (
        "Asked because you answered Yes to “Attitudes to offending: linked to offending”.")
    assert asked_because(core, "factor.attitudes.delivered", False) == (
        "Not asked: only when you answered Yes to “Attitudes to offending: linked to "
        "offending”.")


def test_case_rules_name_the_field_and_its_value(thematic: QuestionSet) -> None:
    assert rule_in_words(thematic, "iom.recalled") == \
        "the case type is Post-release supervision"
    assert rule_in_words(thematic, "iom.partner_info") == "the case type is not Non-statutory"
    assert rule_in_words(thematic, "safe.da_enquiries") == \
        "the profile says Domestic abuse concerns: Yes"


def test_no_rule_no_line(thematic: QuestionSet) -> None:
    assert asked_because(thematic, "2.1.1", True) == ""
    assert rule_in_words(thematic, "2.1.1") is None


@pytest.mark.parametrize("name", ["iom-thematic-2019", "hmip-adult-2018"])
def test_no_rule_of_the_shipped_sets_is_left_in_code(name: str) -> None:
    qs = load_set(name)
    for q in qs.questions:
        if q.applies_when:
            words = rule_in_words(qs, q.id) or ""
            assert "answers[" not in words and "case." not in words and "==" not in words, \
                (q.id, words)


def test_compound_rules_and_lists(thematic: QuestionSet) -> None:
    from audit import rule_words

    words = rule_words._Words(thematic)
    assert words.clause("answers['outcome.reoffended'] == 'yes' and "
                        "case.case_type in ['licence', 'post_release']") == (
        "you answered Yes to “Outcome: proven reoffending” and the case type is "
        f"{words.field_value('case_type', 'licence')} or Post-release supervision")
    assert words.clause("(answers['iom.deselected'] != 'yes') or case.domestic_abuse") == (
        "you did not answer Yes to “IOM: de-selected” or the profile says Domestic abuse "
        "concerns: Yes")
    # A form not put into words still names what it reads by its label.
    odd = words.clause("answers['outcome.reoffended'] == answers['iom.deselected']")
    assert "“Outcome: proven reoffending”" in odd and "answers[" not in odd
