"""A question's `applies_when` rule in words, for the person rating.

The rule language (`question_sets.expressions`) is for the question set's authors; the
inspector reads "Asked because you answered Yes to “Attitudes to offending: linked to
offending”", never "answers['factor.attitudes.linked'] == 'yes'". The forms the sets
use (a comparison of one answer or case field with a value or a list, a bare yes/no
case field, joined by `and`/`or`) are put into words with the questions' labels and the
codes' labels; anything else keeps its shape with every reference named by its label.
"""

from __future__ import annotations

import re

from question_sets import Question, QuestionSet
from question_sets.expressions import CASE_FIELDS

_STRING = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_REF = rf"""(?:answers\[\s*(?P<qid>{_STRING})\s*\]|case\.(?P<field>[A-Za-z_][A-Za-z0-9_]*))"""
_VALUE = rf"""(?P<value>{_STRING}|\[[^\]]*\]|-?\d+|true|false|True|False|null|None)"""
_COMPARISON = re.compile(rf"^\s*{_REF}\s*(?P<op>==|!=|not\s+in|in|<=|>=|<|>)\s*{_VALUE}\s*$")
_BARE = re.compile(rf"^\s*(?P<neg>not\s+)?{_REF}\s*$")
_ANY_REF = re.compile(_REF)
_OPS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def _split(source: str, word: str) -> list[str]:
    """`source` split at `word` (and/or) outside quotes and brackets."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and re.match(rf"\s{word}\s", source[i - 1:i + len(word) + 1] or ""):
            parts.append(source[start:i])
            start = i + len(word)
            i = start
            continue
        i += 1
    parts.append(source[start:])
    return [p.strip() for p in parts]


def _values(literal: str) -> list[str]:
    literal = literal.strip()
    if literal.startswith("["):
        return [_unquote(m.group(0)) if m.group(0)[0] in "'\"" else m.group(0)
                for m in re.finditer(rf"{_STRING}|[^,\s\[\]]+", literal)]
    return [_unquote(literal) if literal[:1] in "'\"" else literal]


def _or_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


class _Words:
    def __init__(self, qs: QuestionSet) -> None:
        self.qs = qs

    def question(self, qid: str) -> Question | None:
        return self.qs.question(qid) if qid in self.qs else None

    def answer_label(self, qid: str, code: str) -> str:
        q = self.question(qid)
        return q.codes.get(code, code) if q is not None else code

    def field_value(self, name: str, code: str) -> str:
        f = CASE_FIELDS.get(name)
        if f is None:
            return code
        if code in ("true", "True"):
            return "Yes"
        if code in ("false", "False"):
            return "No"
        return f.label_of(code)

    def title(self, qid: str) -> str:
        q = self.question(qid)
        return f"“{q.label}”" if q is not None else f"“{qid}”"

    def field_title(self, name: str) -> str:
        f = CASE_FIELDS.get(name)
        return f.label if f is not None else name

    def clause(self, text: str) -> str:
        """One comparison (or a bare field) in words."""
        text = text.strip()
        while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
            text = text[1:-1].strip()
        for word, joiner in (("or", " or "), ("and", " and ")):
            parts = _split(text, word)
            if len(parts) > 1:
                return joiner.join(self.clause(p) for p in parts)
        bare = _BARE.match(text)
        if bare:
            negated = bool(bare.group("neg"))
            if bare.group("qid"):
                qid = _unquote(bare.group("qid"))
                return (f"{self.title(qid)} is {'not ' if negated else ''}answered")
            name = bare.group("field")
            return f"the profile says {self.field_title(name)}: {'No' if negated else 'Yes'}"
        m = _COMPARISON.match(text)
        if m is None:
            return self.fallback(text)
        op = re.sub(r"\s+", " ", m.group("op"))
        values = _values(m.group("value"))
        if m.group("qid"):
            qid = _unquote(m.group("qid"))
            labels = [self.answer_label(qid, v) for v in values]
            if op in ("==", "in"):
                return f"you answered {_or_list(labels)} to {self.title(qid)}"
            if op in ("!=", "not in"):
                return f"you did not answer {_or_list(labels)} to {self.title(qid)}"
            return f"the answer to {self.title(qid)} is {_OPS[op]} {labels[0]}"
        name = m.group("field")
        labels = [self.field_value(name, v) for v in values]
        field = self.field_title(name)
        if op in ("==", "in"):
            return f"the {field.lower()} is {_or_list(labels)}"
        if op in ("!=", "not in"):
            return f"the {field.lower()} is not {_or_list(labels)}"
        return f"the {field.lower()} is {_OPS[op]} {labels[0]}"

    def fallback(self, text: str) -> str:
        """A form not put into words: each reference named by its label."""
        def name(m: re.Match[str]) -> str:
            if m.group("qid"):
                return f"the answer to {self.title(_unquote(m.group('qid')))}"
            return f"the case's {self.field_title(m.group('field'))}"

        return _ANY_REF.sub(name, text)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def rule_in_words(qs: QuestionSet, question_id: str) -> str | None:
    """The condition under which a question is asked, in words (None: always asked)."""
    rule = qs.question(question_id).applies_when
    return _Words(qs).clause(rule) if rule else None


def asked_because(qs: QuestionSet, question_id: str, applies: bool) -> str:
    """The line under a question: why it is asked, or why not ("" when always asked)."""
    words = rule_in_words(qs, question_id)
    if words is None:
        return ""
    if applies:
        return f"Asked because {words}."
    return f"Not asked: only when {words}."

