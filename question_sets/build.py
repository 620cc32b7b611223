"""Turn a parsed file (:mod:`question_sets.schema`) into a resolved :class:`QuestionSet`.

Resolving includes, expanding templates and checking rules all happen here. Every
problem found is an :class:`Issue` addressed by its path in the file's data (such as
``("sections", 0, "questions", 2, "applies_when")``); :mod:`question_sets.validate`
turns paths into lines and columns.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from question_sets.expressions import ExpressionError
from question_sets.model import (
    DEFAULT_RATINGS,
    Question,
    QuestionSet,
    Ratings,
    Section,
    implied_codes,
)
from question_sets.problems import QuestionSetError
from question_sets.schema import QuestionSetFile, QuestionSpec, TemplateEntry

Path_ = tuple[str | int, ...]
Resolver = Callable[[str, str | None], QuestionSet]
"""Finds an included set by id and optional version; raises LookupError if unknown."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]*)\}")
_PLACEHOLDER_NAMES = {"code", "label"}
_CODED = ("yes_no", "yes_no_na", "choice", "multi_choice")


@dataclass(frozen=True)
class Issue:
    """A problem at ``path`` in the file's data.

    ``offset`` is a position inside the scalar there (an expression); ``at_key``
    points at the mapping key instead of its value; ``first`` is the path of an
    earlier definition, for duplicates.
    """

    path: Path_
    message: str
    offset: int | None = None
    at_key: bool = False
    first: Path_ | None = None


@dataclass
class _Built:
    """A question plus where it came from (a path in this file, or an included set)."""

    question: Question
    path: Path_ | None = None
    origin: str = ""
    fields: dict[str, str] = field(default_factory=dict)


def _fill(text: str | None, code: str, label: str) -> str | None:
    if text is None:
        return None
    return text.replace("{code}", code).replace("{label}", label)


def _question(spec: QuestionSpec, section: tuple[str, str], factor: tuple[str, str] | None
              ) -> Question:
    code, label = factor if factor else ("", "")
    fill: Callable[[str | None], str | None] = (
        (lambda s: _fill(s, code, label)) if factor else (lambda s: s))
    # A factor's own wording, where the set gives one, reads better than any template.
    written = spec.texts.get(code) if factor and spec.texts else None
    text = written or fill(spec.text) or ""
    return Question(
        id=fill(spec.id) or "", section=section[0], section_title=section[1], text=text,
        label=fill(spec.label) or text, type=spec.type,
        codes=implied_codes(spec.type, spec.codes),
        guidance=tuple(fill(g) or "" for g in spec.guidance), key=spec.key,
        required=spec.required, applies_when=fill(spec.applies_when),
        factor=code or None,
    )


def _placeholder_issues(spec: QuestionSpec, path: Path_, in_template: bool) -> Iterator[Issue]:
    for name in ("id", "text", "label"):
        value = getattr(spec, name)
        for m in _PLACEHOLDER.finditer(value or ""):
            if not in_template:
                yield Issue((*path, name), "placeholders like {code} only work in a template",
                            offset=m.start())
            elif m.group(1) not in _PLACEHOLDER_NAMES:
                yield Issue((*path, name), f"unknown placeholder '{m.group()}' "
                            "(use {code} or {label})", offset=m.start())
    if in_template and "{code}" not in spec.id:
        yield Issue((*path, "id"), "a template question id must contain {code}")
    if not in_template and spec.texts:
        yield Issue((*path, "texts"), "texts (wording per factor) only work in a template")


class _Builder:
    def __init__(self, spec: QuestionSetFile, resolve: Resolver | None) -> None:
        self.spec = spec
        self.resolve = resolve
        self.issues: list[Issue] = []
        self.built: dict[str, _Built] = {}
        self.sections: list[Section] = []
        self.section_paths: dict[str, Path_ | None] = {}
        self.factors: dict[str, str] = {}
        self.includes: list[str] = []
        self.included_ratings: Ratings | None = None

    def issue(self, path: Path_, message: str, first: Path_ | None = None) -> None:
        self.issues.append(Issue(path, message, first=first))

    def run(self) -> QuestionSet | None:
        self._include()
        for code, label in self.spec.factors.items():
            self.factors[code] = label
        for si, section in enumerate(self.spec.sections):
            self._section(si, section.id, section.title, section.questions)
        self._check_rules()
        order = self._rule_order()
        if self.issues:
            return None
        return QuestionSet(
            id=self.spec.id, version=self.spec.version, title=self.spec.title,
            description=self.spec.description, sections=tuple(self.sections),
            factors=tuple(self.factors.items()), includes=tuple(self.includes),
            rule_order=order, ratings=self._ratings(),
        )

    def _ratings(self) -> Ratings:
        """The file's own rules, else the first included set's, else the defaults."""
        rules = self.spec.ratings
        if rules is None:
            return self.included_ratings or DEFAULT_RATINGS
        return Ratings(tuple((b.rating, float(b.at_least)) for b in rules.bands),
                       rules.below, rules.decimals)

    # -- includes
    def _include(self) -> None:
        for i, ref in enumerate(self.spec.includes):
            set_id, _, version = ref.partition("@")
            if set_id == self.spec.id:
                self.issue(("includes", i), f"a set cannot include itself ('{ref}')")
                continue
            if self.resolve is None:
                self.issue(("includes", i), f"unknown include '{ref}'")
                continue
            try:
                included = self.resolve(set_id, version or None)
            except QuestionSetError as e:
                if isinstance(e, LookupError):
                    self.issue(("includes", i), f"unknown include '{ref}'")
                else:
                    self.issue(("includes", i), f"include '{ref}' does not load: {e}")
                continue
            self.includes.append(f"{included.id}@{included.version}")
            origin = f"{included.id}@{included.version}"
            if self.included_ratings is None:
                self.included_ratings = included.ratings
            for code, label in included.factors:
                self.factors.setdefault(code, label)
            for section in included.sections:
                if section.id in self.section_paths:
                    self.issue(("includes", i), f"duplicate section id '{section.id}' "
                               f"(in {origin} and an earlier include)")
                    continue
                self.section_paths[section.id] = None
                self.sections.append(section)
                for q in section.questions:
                    self._add(q, None, origin, ("includes", i))

    # -- sections and questions
    def _section(self, si: int, sid: str, title: str, items: list) -> None:
        spath: Path_ = ("sections", si)
        if sid in self.section_paths:
            first = self.section_paths[sid]
            where = "" if first is not None else " (in an included set)"
            self.issue((*spath, "id"), f"duplicate section id '{sid}'{where}", first=(
                (*first, "id") if first is not None else None))
            return
        self.section_paths[sid] = spath
        questions: list[Question] = []
        for qi, item in enumerate(items):
            qpath: Path_ = (*spath, "questions", qi)
            if isinstance(item, TemplateEntry):
                questions.extend(self._template(item, qpath, (sid, title)))
                continue
            for issue in _placeholder_issues(item, qpath, in_template=False):
                self.issues.append(issue)
            q = _question(item, (sid, title), None)
            if self._add(q, qpath, "", qpath):
                questions.append(q)
        self.sections.append(Section(sid, title, tuple(questions)))

    def _template(self, entry: TemplateEntry, path: Path_, section: tuple[str, str]
                  ) -> list[Question]:
        template = entry.template
        if not self.factors:
            self.issue((*path, "template", "for_each"),
                       "for_each: factors, but the set defines no factors")
            return []
        out: list[Question] = []
        bad = False
        for ti, spec in enumerate(template.questions):
            tpath: Path_ = (*path, "template", "questions", ti)
            for issue in _placeholder_issues(spec, tpath, in_template=True):
                self.issues.append(issue)
                bad = True
            for code in (spec.texts or {}):
                if code not in self.factors:
                    self.issue((*tpath, "texts", code), f"texts: '{code}' is not one of the "
                               f"set's factors ({', '.join(self.factors)})")
                    bad = True
        if bad:
            return []
        for factor in self.factors.items():
            for ti, spec in enumerate(template.questions):
                q = _question(spec, section, factor)
                if self._add(q, (*path, "template", "questions", ti), "", None):
                    out.append(q)
        return out

    def _add(self, q: Question, path: Path_ | None, origin: str, at: Path_ | None) -> bool:
        """Record a question; report (and drop) a duplicate id."""
        first = self.built.get(q.id)
        if first is not None:
            where = f" (also in {first.origin})" if first.origin else ""
            self.issue((*(path or at or ()), "id"), f"duplicate question id '{q.id}'{where}",
                       first=(*first.path, "id") if first.path and not first.origin else None)
            return False
        self.built[q.id] = _Built(q, path, origin)
        return True

    # -- rules
    def _check_rules(self) -> None:
        for b in self.built.values():
            q = b.question
            if b.origin or not q.applies_when or b.path is None:
                continue  # included sets were checked when they were built
            where: Path_ = (*b.path, "applies_when")
            try:
                rule = q.rule
            except ExpressionError as e:
                self.issues.append(Issue(where, e.message, offset=e.position))
                continue
            assert rule is not None
            for ref in rule.references:
                if ref.kind == "answer" and ref.name not in self.built:
                    self.issues.append(
                        Issue(where, f"unknown question '{ref.name}'", offset=ref.position))
            for use in rule.code_uses:
                ref = use.reference
                target = self.built.get(ref.name) if ref.kind == "answer" else None
                if target is None or target.question.type not in _CODED:
                    continue
                codes = target.question.codes
                if use.code not in codes:
                    self.issues.append(Issue(
                        where, f"'{use.code}' is not a code of {ref} ({', '.join(codes)})",
                        offset=use.position))

    def _deps(self) -> dict[str, list[str]]:
        deps: dict[str, list[str]] = {}
        for qid, b in self.built.items():
            try:
                rule = b.question.rule
            except ExpressionError:
                continue
            if rule is not None:
                deps[qid] = [d for d in sorted(rule.question_ids) if d in self.built]
        return deps

    def _rule_order(self) -> tuple[str, ...]:
        """Questions with rules, each after the questions its rule reads; report cycles."""
        deps = self._deps()
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        reported: set[frozenset[str]] = set()

        def visit(qid: str, stack: list[str]) -> None:
            # Rules are short and sets hold hundreds of questions, so recursion is bounded.
            state[qid] = 1
            stack.append(qid)
            for dep in deps.get(qid, ()):
                if state.get(dep) == 1:
                    cycle = stack[stack.index(dep):] + [dep]
                    self._report_cycle(cycle, reported)
                elif dep not in state:
                    visit(dep, stack)
            stack.pop()
            state[qid] = 2
            if qid in deps:
                order.append(qid)

        for qid in self.built:
            if qid not in state:
                visit(qid, [])
        return tuple(order)

    def _report_cycle(self, cycle: list[str], reported: set[frozenset[str]]) -> None:
        members = frozenset(cycle)
        if members in reported:
            return
        reported.add(members)
        # Start the message at the cycle's first question in set order, located at its rule.
        ids = list(self.built)
        start = min(range(len(cycle) - 1), key=lambda i: ids.index(cycle[i]))
        ring = cycle[start:-1] + cycle[:start] + [cycle[start]]
        first = self.built[ring[0]]
        path = first.path or ()
        self.issue((*path, "applies_when"), "dependency cycle: " + " -> ".join(ring))


def build_set(spec: QuestionSetFile, resolve: Resolver | None = None
              ) -> tuple[QuestionSet | None, list[Issue]]:
    """Resolve a parsed file; return the set (None if there were issues) and the issues."""
    builder = _Builder(spec, resolve)
    qs = builder.run()
    return qs, builder.issues
