"""The ``applies_when`` expression language: tokenizer, parser and closure compiler.

Rules decide every denominator in the report, and question sets are data written by
inspection leads, so the language is deliberately tiny and is never handed to
``eval``/``exec``. A rule is compiled once into a tree of small closures and then
evaluated many times (on every keypress in the app, once per row in the importer).

Grammar::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [op operand]          # no chaining
    op         := "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in"
    operand    := "(" or_expr ")" | literal | list | "case" "." FIELD | "answers" "[" STRING "]"
    list       := "[" [literal ("," literal)* [","]] "]"
    literal    := STRING | INTEGER | true | false | True | False | null | None

Missing values are ``None``: ``None == 'x'`` is false, ``None != 'x'`` is true and
``None in [...]`` is false (unless the list holds ``null``).
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from question_sets.profile import EXTRA_CASE_FIELDS, PROFILE, ProfileField

MAX_LENGTH = 2000
"""Longest accepted rule, in characters (real rules are under 100)."""
MAX_DEPTH = 32
"""Deepest accepted nesting of parentheses and ``not`` (bounds the parser's recursion)."""
MAX_INT_DIGITS = 18

CASE_FIELDS: Mapping[str, ProfileField] = {**PROFILE, **EXTRA_CASE_FIELDS}
"""Every field a rule may read as ``case.<field>``."""

_TRUE_WORDS = {"yes": True, "true": True, "no": False, "false": False}

Case = Mapping[str, Any]
Answers = Mapping[str, str | None]
_Eval = Callable[[Case, Answers], Any]


class ExpressionError(ValueError):
    """A rule that cannot be compiled: ``position`` is the 0-based offset in the rule."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} (at offset {self.position})"


@dataclass(frozen=True)
class Reference:
    """A name a rule reads: ``case.<name>`` or ``answers['<name>']``."""

    kind: Literal["case", "answer"]
    name: str
    position: int

    def __str__(self) -> str:
        return f"case.{self.name}" if self.kind == "case" else f"answers['{self.name}']"


@dataclass(frozen=True)
class CodeUse:
    """A string literal compared with a reference: it should be one of that name's codes."""

    reference: Reference
    code: str
    position: int


# ---------------------------------------------------------------------------- tokens

@dataclass(frozen=True)
class _Token:
    kind: str  # name, string, int, op, punct, end
    value: Any
    position: int


_KEYWORDS = {"and", "or", "not", "in", "true", "false", "True", "False", "null", "None"}
_TOKEN_RE = re.compile(
    r"""(?P<ws>[ \t\r\n]+)
      | (?P<int>-?[0-9]+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<punct>[()\[\],.])
      | (?P<quote>['"])""",
    re.VERBOSE,
)


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read a quoted string starting at ``text[start]``; return its value and end offset."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise ExpressionError("unterminated string", start)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        if kind == "quote":
            value, end = _read_string(text, pos)
            tokens.append(_Token("string", value, pos))
            pos = end
            continue
        raw = m.group()
        if kind == "int":
            if len(raw.lstrip("-")) > MAX_INT_DIGITS:
                raise ExpressionError("integer too long", pos)
            tokens.append(_Token("int", int(raw), pos))
        elif kind != "ws":
            tokens.append(_Token(kind, raw, pos))
        pos = m.end()
    tokens.append(_Token("end", None, len(text)))
    return tokens


# ---------------------------------------------------------------------------- values

def _truth(value: Any) -> bool:
    """Truthiness of a value: ``None``, false, 0, '' and 'no' are false."""
    if isinstance(value, str):
        return value not in ("", "no")
    return bool(value)


def _as_bool(value: Any) -> Any:
    """Bool profile fields may arrive as 'yes'/'no' strings (imports): make them bools."""
    if isinstance(value, str):
        return _TRUE_WORDS.get(value.lower(), value)
    return value


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _equal(left: Any, right: Any) -> bool:
    # Integer answers are stored as strings: compare "3" == 3 as numbers.
    if isinstance(left, int) and not isinstance(left, bool) and isinstance(right, str):
        return left == _as_int(right)
    if isinstance(right, int) and not isinstance(right, bool) and isinstance(left, str):
        return right == _as_int(left)
    return bool(left == right)


def _member(item: Any, container: Any) -> bool:
    if isinstance(container, str):
        # A multi_choice answer is ';'-separated codes: 'police' in answers['iom.partners'].
        return isinstance(item, str) and item in container.split(";")
    if isinstance(container, tuple | list):
        return any(_equal(item, c) for c in container)
    return False  # None, or a case value that is not a collection


def _ordering(op: str) -> Callable[[Any, Any], bool]:
    def compare(left: Any, right: Any) -> bool:
        a, b = _as_int(left), _as_int(right)
        if a is None or b is None:
            return False
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b

    return compare


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "in": _member,
    "not in": lambda a, b: not _member(a, b),
    "<": _ordering("<"),
    "<=": _ordering("<="),
    ">": _ordering(">"),
    ">=": _ordering(">="),
}


# ---------------------------------------------------------------------------- parser

@dataclass
class _Operand:
    """A parsed operand: its closure plus what static checks need to know about it."""

    fn: _Eval
    position: int
    literal: Any = None
    is_literal: bool = False
    is_list: bool = False
    reference: Reference | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.references: list[Reference] = []
        self.code_uses: list[CodeUse] = []

    # -- helpers
    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _is(self, kind: str, value: Any = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def _take(self, kind: str, value: Any = None, what: str = "") -> _Token:
        if not self._is(kind, value):
            raise ExpressionError(f"expected {what or value or kind}, found {self._describe()}",
                                  self.tok.position)
        t = self.tok
        self.i += 1
        return t

    def _describe(self) -> str:
        t = self.tok
        if t.kind == "end":
            return "end of rule"
        if t.kind == "string":
            return f"string {t.value!r}"
        return repr(str(t.value))

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"rule nested more than {MAX_DEPTH} deep", self.tok.position)

    # -- grammar
    def parse(self) -> _Eval:
        fn = self._or()
        if not self._is("end"):
            raise ExpressionError(f"unexpected {self._describe()}", self.tok.position)
        return fn

    def _or(self) -> _Eval:
        parts = [self._and()]
        while self._is("name", "or"):
            self.i += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        fns = tuple(parts)
        return lambda c, a: any(_truth(f(c, a)) for f in fns)

    def _and(self) -> _Eval:
        parts = [self._not()]
        while self._is("name", "and"):
            self.i += 1
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        fns = tuple(parts)
        return lambda c, a: all(_truth(f(c, a)) for f in fns)

    def _not(self) -> _Eval:
        if self._is("name", "not"):
            self._nest()
            self.i += 1
            inner = self._not()
            self.depth -= 1
            return lambda c, a: not _truth(inner(c, a))
        return self._comparison()

    def _comparison(self) -> _Eval:
        left = self._operand()
        op_pos = self.tok.position
        op = self._operator()
        if op is None:
            if left.is_list:
                raise ExpressionError("a list can only follow 'in'", left.position)
            return left.fn
        right = self._operand()
        if self._operator(peek=True) is not None:
            raise ExpressionError("comparisons cannot be chained; use 'and'", self.tok.position)
        return self._compile_comparison(left, op, right, op_pos)

    def _operator(self, peek: bool = False) -> str | None:
        t = self.tok
        op: str | None = None
        width = 1
        if t.kind == "op":
            op = t.value
        elif t.kind == "name" and t.value == "in":
            op = "in"
        elif t.kind == "name" and t.value == "not" and self.tokens[self.i + 1].value == "in" \
                and self.tokens[self.i + 1].kind == "name":
            op, width = "not in", 2
        if op is not None and not peek:
            self.i += width
        return op

    def _operand(self) -> _Operand:
        t = self.tok
        if t.kind == "punct" and t.value == "(":
            self._nest()
            self.i += 1
            fn = self._or()
            self._take("punct", ")", "')'")
            self.depth -= 1
            return _Operand(fn, t.position)
        if t.kind == "punct" and t.value == "[":
            return self._list()
        if t.kind in ("string", "int"):
            self.i += 1
            return _literal(t.value, t.position)
        if t.kind == "name":
            return self._name()
        raise ExpressionError(f"expected a value, found {self._describe()}", t.position)

    def _list(self) -> _Operand:
        self._nest()
        start = self._take("punct", "[").position
        items: list[_Operand] = []
        while not self._is("punct", "]"):
            item = self._operand()
            if not item.is_literal:
                raise ExpressionError("list items must be literals", item.position)
            items.append(item)
            if not self._is("punct", ","):
                break
            self.i += 1
        self._take("punct", "]", "']'")
        self.depth -= 1
        values = tuple(i.literal for i in items)
        op = _Operand(lambda c, a: values, start, literal=items, is_list=True)
        return op

    def _name(self) -> _Operand:
        t = self.tok
        self.i += 1
        word = t.value
        literals = {"true": True, "True": True, "false": False, "False": False,
                    "null": None, "None": None}
        if word in literals:
            return _literal(literals[word], t.position)
        if word == "case":
            self._take("punct", ".", "'.' after case")
            field_tok = self._take("name", what="a case field after 'case.'")
            name = field_tok.value
            field = CASE_FIELDS.get(name)
            if field is None:
                raise ExpressionError(f"unknown case field '{name}'", field_tok.position)
            ref = Reference("case", name, field_tok.position)
            self.references.append(ref)
            if field.kind == "bool":
                return _Operand(lambda c, a: _as_bool(c.get(name)), t.position, reference=ref)
            return _Operand(lambda c, a: c.get(name), t.position, reference=ref)
        if word == "answers":
            self._take("punct", "[", "'[' after answers")
            qid_tok = self._take("string", what="a quoted question id")
            self._take("punct", "]", "']'")
            qid = qid_tok.value
            ref = Reference("answer", qid, qid_tok.position)
            self.references.append(ref)
            return _Operand(lambda c, a: a.get(qid), t.position, reference=ref)
        if word in _KEYWORDS:
            raise ExpressionError(f"expected a value, found {word!r}", t.position)
        raise ExpressionError(
            f"unknown name {word!r}: use case.<field> or answers['<question id>']", t.position)

    # -- comparisons
    def _compile_comparison(self, left: _Operand, op: str, right: _Operand, pos: int) -> _Eval:
        if op in ("in", "not in"):
            if left.is_list:
                raise ExpressionError("a list can only follow 'in'", left.position)
            if right.is_literal:
                raise ExpressionError("'in' needs a list or an answer on its right",
                                      right.position)
        elif left.is_list or right.is_list:
            raise ExpressionError(f"a list cannot be compared with {op!r}",
                                  (left if left.is_list else right).position)
        if op in ("<", "<=", ">", ">="):
            for side in (left, right):
                if side.is_literal and (not isinstance(side.literal, int)
                                        or isinstance(side.literal, bool)):
                    raise ExpressionError(f"{op!r} compares whole numbers only", side.position)
        # Record the codes a rule compares a name with, for the static checks.
        for ref_side, lit_side in ((left, right), (right, left)):
            if ref_side.reference is None:
                continue
            lits = lit_side.literal if lit_side.is_list else [lit_side] if lit_side.is_literal \
                else []
            for lit in lits:
                if isinstance(lit.literal, str):
                    self._use_code(ref_side.reference, lit.literal, lit.position)
        left, right = _coerce_bool_literals(left, right), _coerce_bool_literals(right, left)
        compare = _COMPARE[op]
        lf, rf = left.fn, right.fn
        if right.is_literal or right.is_list:
            value = right.fn({}, {})
            return lambda c, a: compare(lf(c, a), value)
        return lambda c, a: compare(lf(c, a), rf(c, a))

    def _use_code(self, ref: Reference, code: str, position: int) -> None:
        if ref.kind == "case":
            field = CASE_FIELDS[ref.name]
            allowed = list(field.codes) if field.kind != "bool" else ["yes", "no"]
            if field.kind in ("code", "bool") and code not in allowed:
                raise ExpressionError(
                    f"'{code}' is not a code of case.{ref.name} ({', '.join(allowed)})", position)
        self.code_uses.append(CodeUse(ref, code, position))


def _literal(value: Any, position: int) -> _Operand:
    return _Operand(lambda c, a: value, position, literal=value, is_literal=True)


def _coerce_bool_literals(side: _Operand, other: _Operand) -> _Operand:
    """Turn 'yes'/'no' literals compared with a bool case field into True/False."""
    ref = other.reference
    if ref is None or ref.kind != "case" or CASE_FIELDS[ref.name].kind != "bool":
        return side
    if side.is_literal and isinstance(side.literal, str):
        value = _as_bool(side.literal)
        return _Operand(lambda c, a: value, side.position, literal=value, is_literal=True)
    if side.is_list:
        values = tuple(_as_bool(i.literal) for i in side.literal)
        return _Operand(lambda c, a: values, side.position, literal=side.literal, is_list=True)
    return side


# ---------------------------------------------------------------------------- public

class Expression:
    """A compiled rule: call :meth:`evaluate` with a case profile and the answers so far."""

    __slots__ = ("source", "references", "code_uses", "_fn")

    def __init__(self, source: str, fn: _Eval, references: tuple[Reference, ...],
                 code_uses: tuple[CodeUse, ...]) -> None:
        self.source = source
        self.references = references
        self.code_uses = code_uses
        self._fn = fn

    @property
    def question_ids(self) -> frozenset[str]:
        """The question ids this rule reads."""
        return frozenset(r.name for r in self.references if r.kind == "answer")

    @property
    def case_fields(self) -> frozenset[str]:
        """The case fields this rule reads."""
        return frozenset(r.name for r in self.references if r.kind == "case")

    def evaluate(self, case: Case, answers: Answers) -> bool:
        """True when the rule holds for this case and these answers (missing values are None)."""
        return _truth(self._fn(case, answers))

    __call__ = evaluate

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def compile_expression(source: str) -> Expression:
    """Parse and compile a rule; raise :class:`ExpressionError` (and nothing else) if invalid."""
    if not isinstance(source, str):
        raise ExpressionError("a rule must be a string", 0)
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"rule longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not source.strip():
        raise ExpressionError("empty rule", 0)
    try:
        parser = _Parser(source)
        fn = parser.parse()
    except RecursionError:
        # MAX_DEPTH keeps the parser far from the interpreter's limit; this is a backstop.
        raise ExpressionError("rule nested too deeply", 0) from None
    return Expression(source, fn, tuple(parser.references), tuple(parser.code_uses))
