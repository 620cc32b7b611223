"""Rating rules are data in the question set: loaded, inherited, validated with located errors."""

from pathlib import Path

import pytest

from question_sets import load_file, load_set, validate_file
from question_sets.model import DEFAULT_RATINGS, Ratings

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
        key: true
"""

RULES = """\
ratings:
  decimals: 1
  bands:
    - {rating: Excellent, at_least: 90}
    - {rating: Fine, at_least: 60.5}
  below: Poor
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "set.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    return [str(p).removeprefix(f"{tmp_path}/") for p in validate_file(_write(tmp_path, text))]


def test_the_shipped_sets_state_the_inspectorate_bands() -> None:
    for set_id in ("hmip-adult-2018", "iom-thematic-2019"):  # the second by its include
        assert load_set(set_id).ratings == DEFAULT_RATINGS
    inspectorate = Ratings((("Outstanding", 80.0), ("Good", 65.0),
                            ("Requires improvement", 50.0)), "Inadequate", 0)
    assert inspectorate == DEFAULT_RATINGS


def test_a_set_may_state_its_own_rules(tmp_path: Path) -> None:
    qs = load_file(_write(tmp_path, BASE + RULES))
    assert qs.ratings == Ratings((("Excellent", 90.0), ("Fine", 60.5)), "Poor", 1)
    plain = load_file(_write(tmp_path, BASE))
    assert plain.ratings == DEFAULT_RATINGS
    # Other rules are other content: the same id and version may not hide them.
    assert qs.digest != plain.digest


def test_stating_the_default_rules_keeps_the_digest(tmp_path: Path) -> None:
    stated = BASE + """\
ratings:
  bands:
    - {rating: Outstanding, at_least: 80}
    - {rating: Good, at_least: 65}
    - {rating: Requires improvement, at_least: 50}
  below: Inadequate
"""
    assert load_file(_write(tmp_path, stated)).digest == load_file(
        _write(tmp_path, BASE)).digest


def test_an_including_set_inherits_the_rules(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASE + RULES)
    child = BASE.replace("id: t\n", "id: child\nincludes: [t@1.0]\n").replace(
        "id: a\n", "id: b\n").replace("id: q1", "id: q9")
    path = tmp_path / "child.yaml"
    path.write_text(child)
    assert load_file(path, extra_dirs=[tmp_path]).ratings.bands[0] == ("Excellent", 90.0)


CASES = {
    "rising thresholds": (
        RULES.replace("at_least: 60.5", "at_least: 95"),
        ["set.yaml:15:5: bands: must be listed highest first with falling thresholds: "
         "'Fine' at 95 is not below 'Excellent' at 90"]),
    "equal thresholds": (
        RULES.replace("at_least: 60.5", "at_least: 90"),
        ["set.yaml:15:5: bands: must be listed highest first with falling thresholds: "
         "'Fine' at 90 is not below 'Excellent' at 90"]),
    "over 100": (RULES.replace("at_least: 90", "at_least: 120"), "less than or equal to 100"),
    "negative": (RULES.replace("at_least: 60.5", "at_least: -1"), "greater than or equal to 0"),
    "two decimals": (RULES.replace("decimals: 1", "decimals: 2"), "decimals"),
    "a rating twice": (RULES.replace("Fine", "Excellent"), "rating 'Excellent' is listed twice"),
    "below is a band": (RULES.replace("below: Poor", "below: Fine"),
                        "'below' rating 'Fine' is also a band"),
    "no bands": ("ratings:\n  bands: []\n  below: Poor\n", "bands"),
    "unknown key": (RULES.replace("  below: Poor", "  below: Poor\n  rounding: up"),
                    "unknown key 'rounding'"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_rules_are_located_errors(tmp_path: Path, name: str) -> None:
    rules, expected = CASES[name]
    found = problems(tmp_path, BASE + rules)
    assert found, name
    if isinstance(expected, list):
        assert found == expected
    else:
        assert len(found) == 1 and expected in found[0], found
        assert found[0].startswith("set.yaml:1")  # a line inside the ratings block
