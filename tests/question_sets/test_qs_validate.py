"""One malformed file per problem class, each with its exact, located message."""

from pathlib import Path

import pytest

from question_sets import Problem, QuestionSetError, load_file, validate_file

BASE = """\
id: t
version: "1.0"
title: T
sections:
  - id: a
    title: A
    questions:
      - id: q1
        text: First?
        type: yes_no
      - id: q2
        text: Second?
        type: yes_no
        applies_when: "answers['q1'] == 'yes'"
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "set.yaml"
    path.write_text(text)
    return [str(p).removeprefix(f"{tmp_path}/") for p in validate_file(path)]


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    assert problems(tmp_path, BASE) == []


CASES = {
    "yaml syntax": (edit("title: A", "title: A: b"),
                    ["set.yaml:6:13: YAML syntax error: mapping values are not allowed here"]),
    "unknown key": (edit("        type: yes_no\n      - id: q2",
                         "        type: yes_no\n        colour: red\n      - id: q2"),
                    ["set.yaml:11:9: unknown key 'colour'"]),
    "missing key": (edit("        text: First?\n", ""),
                    ["set.yaml:8:9: missing key 'text'"]),
    "wrong type": (edit("type: yes_no\n      - id: q2", "type: yes_or_no\n      - id: q2"),
                   ["set.yaml:10:15: type: Input should be 'yes_no', 'yes_no_na', 'choice', "
                    "'multi_choice', 'integer' or 'text'"]),
    "unquoted version": (edit('"1.0"', "1.0"),
                         ["set.yaml:2:10: version: Input should be a valid string "
                          "(quote it: '1.0')"]),
    "choice without codes": (edit("type: yes_no\n      - id: q2", "type: choice\n      - id: q2"),
                             ["set.yaml:8:9: codes: a choice question needs codes"]),
    "duplicate key": (edit("title: T\n", "title: T\ntitle: U\n"),
                      ["set.yaml:4:1: duplicate key 'title'"]),
    "duplicate question id": (edit("id: q2", "id: q1").replace("answers['q1'] == 'yes'",
                                                             "case.iom"),
                              ["set.yaml:11:13: duplicate question id 'q1' "
                               "(first defined at line 8)"]),
    "expression syntax": (edit("== 'yes'\"", "== 'yes' and\""),
                          ["set.yaml:14:50: expected a value, found end of rule"]),
    "expression syntax, plain scalar": (
        edit("\"answers['q1'] == 'yes'\"", "answers['q1'] = 'yes'"),
        ["set.yaml:14:37: unexpected character '='"]),
    "unknown case field": (edit("answers['q1'] == 'yes'", "case.colour == 'red'"),
                           ["set.yaml:14:29: unknown case field 'colour'"]),
    "unknown case code": (edit("answers['q1'] == 'yes'", "case.rosh == 'hi'"),
                          ["set.yaml:14:37: 'hi' is not a code of case.rosh "
                           "(low, medium, high, very_high)"]),
    "unknown question": (edit("answers['q1']", "answers['q9']"),
                         ["set.yaml:14:32: unknown question 'q9'"]),
    "unknown answer code": (edit("== 'yes'", "== 'maybe'"),
                            ["set.yaml:14:41: 'maybe' is not a code of answers['q1'] (yes, no)"]),
    "dependency cycle": (edit("        type: yes_no\n      - id: q2",
                              "        type: yes_no\n        applies_when: answers['q2'] == 'no'"
                              "\n      - id: q2"),
                         ["set.yaml:11:23: dependency cycle: q1 -> q2 -> q1"]),
    "self reference": (edit("answers['q1']", "answers['q2']"),
                       ["set.yaml:14:23: dependency cycle: q2 -> q2"]),
    "unknown include": (edit("sections:", "includes: [nope]\nsections:"),
                        ["set.yaml:4:12: unknown include 'nope'"]),
    "unknown include version": (edit("sections:", "includes: ['hmip-adult-2018@9.9']\nsections:"),
                                ["set.yaml:4:12: unknown include 'hmip-adult-2018@9.9'"]),
    "duplicate id across includes": (
        edit("sections:", "includes: [hmip-adult-2018]\nsections:").replace("id: q1", "id: 2.1.1")
        .replace("answers['q1']", "answers['2.1.1']"),
        ["set.yaml:9:13: duplicate question id '2.1.1' (also in hmip-adult-2018@1.1)"]),
    "empty file": ("", ["set.yaml:1:1: empty file: expected a question set"]),
    "not a mapping": ("- a\n- b\n", ["set.yaml:1:1: Input should be a valid dictionary or "
                                     "instance of QuestionSetFile"]),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_malformed_file_gets_a_located_message(tmp_path: Path, text: str,
                                               expected: list[str]) -> None:
    assert problems(tmp_path, text) == expected


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = edit("answers['q1'] == 'yes'", "answers['q9'] == 'yes' or case.colour").replace(
        "title: A", "title: A\n    colour: red")
    # Schema errors stop before rule checks, so fix them one class at a time:
    assert problems(tmp_path, text) == ["set.yaml:7:5: unknown key 'colour'"]
    text = text.replace("    colour: red\n", "")
    assert problems(tmp_path, text) == ["set.yaml:14:55: unknown case field 'colour'"]
    text = edit("answers['q1'] == 'yes'", "answers['q9'] == 'yes' or answers['q8']") \
        + "      - id: q1\n        text: Again?\n        type: yes_no\n"
    assert problems(tmp_path, text) == [
        "set.yaml:14:32: unknown question 'q9'",
        "set.yaml:14:58: unknown question 'q8'",
        "set.yaml:15:13: duplicate question id 'q1' (first defined at line 8)",
    ]


TEMPLATE = """\
id: t
version: "1.0"
title: T
factors:
  drugs: Drug misuse
  ete: Education, training and employment
sections:
  - id: a
    title: A
    questions:
      - template:
          for_each: factors
          questions:
            - id: f.{code}.linked
              text: Is {label} linked?
              type: yes_no
            - id: f.{code}.delivered
              text: Delivered for {label}?
              type: yes_no
              applies_when: "answers['f.{code}.linked'] == 'yes'"
"""


def test_templates_expand_per_factor(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE)
    qs = load_file(path)
    assert [q.id for q in qs.questions] == [
        "f.drugs.linked", "f.drugs.delivered", "f.ete.linked", "f.ete.delivered"]
    assert qs.question("f.ete.linked").text == "Is Education, training and employment linked?"
    assert qs.question("f.drugs.delivered").factor == "drugs"
    assert qs.factors == (("drugs", "Drug misuse"), ("ete", "Education, training and employment"))


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("f.{code}.linked'", "f.{code}.linkd'",
     ["set.yaml:20:38: unknown question 'f.drugs.linkd'",
      "set.yaml:20:38: unknown question 'f.ete.linkd'"]),
    ("Is {label} linked?", "Is {lable} linked?",
     ["set.yaml:15:24: unknown placeholder '{lable}' (use {code} or {label})"]),
    ("- id: f.{code}.linked", "- id: f.linked",
     ["set.yaml:14:19: a template question id must contain {code}"]),
    ("factors:\n  drugs: Drug misuse\n  ete: Education, training and employment\n", "",
     ["set.yaml:9:21: for_each: factors, but the set defines no factors"]),
    ("for_each: factors", "for_each: offences",
     ["set.yaml:12:21: for_each: Input should be 'factors'"]),
])
def test_template_problems_are_located(tmp_path: Path, old: str, new: str,
                                       expected: list[str]) -> None:
    assert old in TEMPLATE
    assert problems(tmp_path, TEMPLATE.replace(old, new)) == expected


def test_load_file_raises_with_the_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(edit("answers['q1']", "answers['q9']"))
    with pytest.raises(QuestionSetError) as info:
        load_file(path)
    assert info.value.problems == (Problem(str(path), 14, 32, "unknown question 'q9'"),)
    assert str(info.value.problems[0]) == f"{path}:14:32: unknown question 'q9'"


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    [problem] = validate_file(missing)
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message.startswith("cannot read:")


def test_libyaml_and_pure_python_parsers_locate_alike(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    import question_sets.validate as validate

    text = edit("title: A", "title: Évaluation — “A” ★").replace(
        "text: Second?", "text: Second…?  # é").replace("answers['q1']", "answers['q9']")
    fast = problems(tmp_path, text)
    assert fast == ["set.yaml:14:32: unknown question 'q9'"]
    monkeypatch.setattr(validate, "_FAST_LOADER", yaml.SafeLoader)
    assert problems(tmp_path, text) == fast


def test_alias_bomb_is_refused_quickly(tmp_path) -> None:
    # "Billion laughs": nine levels of ten aliases each would expand to 10**9 nodes.
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    from question_sets import validate_file

    problems = validate_file(path)
    assert [str(p) for p in problems] == [
        f"{path}:2:10: YAML aliases (*name) are not allowed in a question set"]


def test_deep_flow_nesting_is_refused_where_it_happens(tmp_path) -> None:
    from question_sets import validate_file

    path = tmp_path / "deep.yaml"
    path.write_text("id: x\nsections: " + "[" * 70 + "\n")
    assert [str(p) for p in validate_file(path)] == [
        f"{path}:2:75: nested more than 64 levels deep"]
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text("id: '" + "[" * 70 + "'\n# " + "{" * 70 + "\n")
    assert all("nested" not in str(p) for p in validate_file(quoted))


TEMPLATED = """\
id: t
version: "1.0"
title: T
factors:
  drugs: Drug misuse
  ete: Education
sections:
  - id: a
    title: A
    questions:
      - template:
          for_each: factors
          questions:
            - id: f.{code}
              text: "Is this factor linked: {label}?"
              texts:
                drugs: Is drug misuse linked to the offending?
              type: yes_no
"""


def test_texts_give_a_factor_its_own_sentence(tmp_path: Path) -> None:
    from question_sets import load_file

    path = tmp_path / "set.yaml"
    path.write_text(TEMPLATED)
    assert validate_file(path) == []
    qs = load_file(path)
    assert [q.text for q in qs.questions] == ["Is drug misuse linked to the offending?",
                                              "Is this factor linked: Education?"]


def test_texts_name_only_the_sets_factors_and_only_in_templates(tmp_path: Path) -> None:
    unknown = TEMPLATED.replace("                drugs: Is drug", "                drug: Is drug")
    assert problems(tmp_path, unknown) == [
        "set.yaml:17:23: texts: 'drug' is not one of the set's factors (drugs, ete)"]
    outside = BASE.replace("        text: First?\n",
                           "        text: First?\n        texts: {x: Other?}\n")
    assert outside != BASE
    [problem] = problems(tmp_path, outside)
    assert "texts (wording per factor) only work in a template" in problem
