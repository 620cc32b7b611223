"""A resolved question set: includes merged, templates expanded, rules compiled.

This is what the rest of the tool uses. It is immutable; build one with
:func:`question_sets.build.build_set` (or load one with :mod:`question_sets.loader`).
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from question_sets.expressions import Answers, Case, Expression, compile_expression
from question_sets.schema import AnswerType

YES_NO: Mapping[str, str] = {"yes": "Yes", "no": "No"}
YES_NO_NA: Mapping[str, str] = {"yes": "Yes", "no": "No", "na": "Not applicable"}
NA = "na"


def implied_codes(kind: AnswerType, codes: Mapping[str, str] | None) -> dict[str, str]:
    """The codes of an answer type: yes/no(/na) are implied, choices list their own."""
    if kind == "yes_no":
        return dict(YES_NO)
    if kind == "yes_no_na":
        return dict(YES_NO_NA)
    return dict(codes or {})


@dataclass(frozen=True, eq=True)
class Question:
    """One question, as the app, importer and reports see it."""

    id: str
    section: str
    section_title: str
    text: str
    label: str
    type: AnswerType
    codes: dict[str, str] = field(default_factory=dict)
    guidance: tuple[str, ...] = ()
    key: bool = False
    required: bool = True
    applies_when: str | None = None
    factor: str | None = None

    def __hash__(self) -> int:
        # codes is a dict, so the generated hash would fail; these fields identify a question.
        return hash((self.id, self.section, self.text, self.type))

    @property
    def allows_na(self) -> bool:
        """True when 'na' (not applicable) is a valid answer."""
        return self.type == "yes_no_na"

    @cached_property
    def rule(self) -> Expression | None:
        """The compiled ``applies_when`` rule (None when the question always applies)."""
        return compile_expression(self.applies_when) if self.applies_when else None

    def check_answer(self, value: str) -> str | None:
        """Why ``value`` is not a valid answer to this question, or None when it is."""
        if self.type == "text":
            return None
        if self.type == "integer":
            try:
                int(value.strip())
            except ValueError:
                return f"'{value}' is not a whole number"
            return None
        if self.type == "multi_choice":
            chosen = [v.strip() for v in value.split(";")]
            for code in chosen:
                if code not in self.codes:
                    return f"'{code}' is not one of {', '.join(self.codes)}"
            if len(set(chosen)) != len(chosen):
                return f"'{value}' repeats a code"
            return None
        if value == NA and self.type == "yes_no":
            return f"not applicable is not allowed for {self.id}"
        if value not in self.codes:
            return f"'{value}' is not one of {', '.join(self.codes)}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for the digest and for JSON output)."""
        return {
            "id": self.id, "section": self.section, "section_title": self.section_title,
            "text": self.text, "label": self.label, "type": self.type, "codes": self.codes,
            "guidance": list(self.guidance), "key": self.key, "required": self.required,
            "applies_when": self.applies_when, "factor": self.factor,
        }


@dataclass(frozen=True)
class Section:
    """A standard and its questions, in order."""

    id: str
    title: str
    questions: tuple[Question, ...]


class _Masked(Mapping[str, str | None]):
    """Answers with those of non-applicable questions hidden (read as None)."""

    __slots__ = ("_answers", "_hidden")

    def __init__(self, answers: Answers, hidden: set[str]) -> None:
        self._answers = answers
        self._hidden = hidden

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._hidden:
            return default
        return self._answers.get(key, default)

    def __getitem__(self, key: str) -> str | None:
        if key in self._hidden:
            raise KeyError(key)
        return self._answers[key]

    def __iter__(self) -> Any:
        return (k for k in self._answers if k not in self._hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Ratings:
    """Rating rules: ``bands`` are (rating, lowest percentage) highest first; a percentage
    is rounded half up to ``decimals`` places (as printed) before it meets them."""

    bands: tuple[tuple[str, float], ...]
    below: str
    decimals: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"decimals": self.decimals, "below": self.below,
                "bands": [{"rating": r, "at_least": t} for r, t in self.bands]}


# HM Inspectorate of Probation's bands, judged on the whole percentage the report prints.
DEFAULT_RATINGS = Ratings((("Outstanding", 80.0), ("Good", 65.0),
                           ("Requires improvement", 50.0)), "Inadequate", 0)


@dataclass(frozen=True)
class QuestionSet:
    """A resolved question set. ``rule_order`` lists questions with rules, dependencies first."""

    id: str
    version: str
    title: str
    sections: tuple[Section, ...]
    description: str | None = None
    factors: tuple[tuple[str, str], ...] = ()
    includes: tuple[str, ...] = ()
    rule_order: tuple[str, ...] = ()
    ratings: Ratings = DEFAULT_RATINGS

    @cached_property
    def questions(self) -> tuple[Question, ...]:
        """Every question, in order."""
        return tuple(q for s in self.sections for q in s.questions)

    @cached_property
    def _by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @cached_property
    def key_questions(self) -> tuple[Question, ...]:
        """The questions counted in the standards tables, in order."""
        return tuple(q for q in self.questions if q.key)

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical content: same id+version with another digest is refused."""
        content: dict[str, Any] = {
            "id": self.id, "version": self.version, "title": self.title,
            "description": self.description, "factors": [list(f) for f in self.factors],
            "includes": list(self.includes),
            "sections": [{"id": s.id, "title": s.title,
                          "questions": [q.to_dict() for q in s.questions]}
                         for s in self.sections],
        }
        # Only rules other than the defaults count, so sets that state the defaults (or
        # none) keep the digest recorded before ratings were data.
        if self.ratings != DEFAULT_RATINGS:
            content["ratings"] = self.ratings.to_dict()
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @cached_property
    def _rules(self) -> tuple[tuple[str, Expression], ...]:
        rules = []
        for qid in self.rule_order:
            rule = self._by_id[qid].rule
            assert rule is not None  # rule_order only lists questions with rules
            rules.append((qid, rule))
        return tuple(rules)

    @cached_property
    def _all_true(self) -> dict[str, bool]:
        return {q.id: True for q in self.questions}

    def question(self, qid: str) -> Question:
        """The question with this id (KeyError if there is none)."""
        return self._by_id[qid]

    def __contains__(self, qid: object) -> bool:
        return qid in self._by_id

    def applicable(self, case: Case, answers: Answers) -> dict[str, bool]:
        """Whether each question applies to this case given these answers.

        Rules run dependencies first, and the answer to a question that does not
        apply reads as None, so a follow-up of a non-applicable question is itself
        judged on a missing answer.
        """
        result = dict(self._all_true)
        hidden: set[str] = set()
        view = _Masked(answers, hidden)
        for qid, rule in self._rules:
            if not rule.evaluate(case, view):
                result[qid] = False
                hidden.add(qid)
        return result

    def applies(self, qid: str, case: Case, answers: Answers) -> bool:
        """Whether one question applies (KeyError if unknown)."""
        self._by_id[qid]
        return self.applicable(case, answers)[qid]

    def check_answer(self, qid: str, value: str) -> str | None:
        """Why ``value`` is not a valid answer to ``qid``, or None when it is."""
        question = self._by_id.get(qid)
        if question is None:
            return f"unknown question '{qid}'"
        return question.check_answer(value)
