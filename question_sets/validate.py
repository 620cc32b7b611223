"""Check one question-set file and locate every problem at the YAML node that causes it.

The file is composed into YAML nodes (which keep their line and column) and
constructed into plain data from those same nodes, so a pydantic error location
or a build :class:`~question_sets.build.Issue` path can be walked back to a node.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from question_sets.build import Issue, Path_, Resolver, build_set
from question_sets.model import QuestionSet
from question_sets.problems import Problem
from question_sets.schema import ITEM_TAGS, QuestionSetFile

ConflictCheck = Callable[[QuestionSet, Path], str | None]
"""Says why a set clashes with another known set of the same id and version, if it does."""


class _Locator:
    """Maps data paths to 1-based (line, column) in the file."""

    def __init__(self, root: yaml.Node, text: str) -> None:
        self.root = root
        self.text = text

    def node(self, path: Path_, at_key: bool = False) -> yaml.Node:
        node, key_node = self.root, None
        for part in path:
            key_node = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                        node, key_node = v, k
                        break
                else:
                    break  # a missing key: the problem is at the mapping that lacks it
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
            else:
                break
        return key_node if at_key and key_node is not None else node

    def position(self, path: Path_, at_key: bool = False, offset: int | None = None
                 ) -> tuple[int, int]:
        node = self.node(path, at_key)
        index = node.start_mark.index
        if offset is not None and isinstance(node, yaml.ScalarNode):
            index = self._inside(node, offset)
        return self.line_col(index)

    def _inside(self, node: yaml.ScalarNode, offset: int) -> int:
        """The file index of character ``offset`` of a scalar's value."""
        start, end = node.start_mark.index, node.end_mark.index
        raw = self.text[start:end]
        value = node.value
        body = start + (1 if node.style in ("'", '"') else 0)
        if self.text[body:body + offset] == value[:offset]:
            return body + offset
        found = raw.find(value)  # e.g. a block scalar: the value starts after the indicator
        return start + found + offset if found >= 0 else start

    def line_col(self, index: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, index) + 1
        column = index - (self.text.rfind("\n", 0, index) + 1) + 1
        return line, column


def _duplicate_keys(node: yaml.Node) -> list[tuple[yaml.Node, str]]:
    """Keys given twice in one mapping (PyYAML would silently keep the last)."""
    found: list[tuple[yaml.Node, str]] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        found.append((k, k.value))
                    seen.add(k.value)
                stack.append(v)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return found


def _strip_tags(loc: tuple[Any, ...]) -> Path_:
    """Drop the union tags pydantic puts after a section item's index."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if part in ITEM_TAGS and i > 0 and isinstance(loc[i - 1], int):
            continue
        out.append(part)
    return tuple(out)


def _pydantic_problems(error: ValidationError, file: str, loc8: _Locator) -> list[Problem]:
    problems = []
    for e in error.errors(include_url=False):
        path = _strip_tags(e["loc"])
        kind = e["type"]
        if kind == "extra_forbidden":
            line, col = loc8.position(path, at_key=True)
            message = f"unknown key '{path[-1]}'"
        elif kind == "missing":
            line, col = loc8.position(path[:-1])
            message = f"missing key '{path[-1]}'"
        else:
            if path and path[-1] == "[key]":
                path = path[:-1]
                line, col = loc8.position(path)
            else:
                line, col = loc8.position(path)
            message = e["msg"].removeprefix("Value error, ")
            if kind == "string_type" and isinstance(e.get("input"), int | float):
                message += f" (quote it: '{e['input']}')"
            name = next((p for p in reversed(path) if isinstance(p, str)), None)
            if name:
                message = f"{name}: {message}"
        problems.append(Problem(file, line, col, message))
    return problems


def _issue_problem(issue: Issue, file: str, loc8: _Locator) -> Problem:
    line, col = loc8.position(issue.path, issue.at_key, issue.offset)
    message = issue.message
    if issue.first is not None:
        first_line, _ = loc8.position(issue.first)
        message += f" (first defined at line {first_line})"
    return Problem(file, line, col, message)


# libyaml parses several times faster and keeps node positions; the pure-Python parser
# words syntax errors the way our messages (and their tests) expect.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, loader_class: type) -> tuple[yaml.Node | None, Any]:
    """Compose ``text`` into nodes and construct its data from those same nodes."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _first_alias(text: str) -> tuple[int, int] | None:
    """(line, column) of the first alias (``*name``), if any; scanning events is linear.

    Question sets need no anchors or aliases, and aliases of aliases expand exponentially
    ("billion laughs"): a few hundred bytes would make every later check walk millions of
    nodes. So they are refused before anything is built from the text.
    """
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, yaml.AliasEvent):
                # The C parser's marks are another class than yaml.Mark, with the same fields.
                mark = event.start_mark
                return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    except yaml.YAMLError:
        return None  # a syntax error: reported, located, by the parse below
    return None


MAX_NESTING = 64
MAX_BYTES = 2_000_000


def _too_deep(text: str) -> tuple[int, int] | None:
    """(line, column) where flow collections nest deeper than MAX_NESTING, if they do.

    PyYAML parses nesting recursively: some hundreds of '[' or '{' raise RecursionError
    and tens of thousands crash the interpreter. A linear scan (outside quotes and
    comments) refuses such text before the parser sees it.
    """
    depth, line, column, quote = 0, 1, 0, ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        column += 1
        if ch == "\n":
            line, column = line + 1, 0
            if quote == "#":
                quote = ""
        elif quote == "#":
            pass
        elif quote:
            if ch == quote:
                if quote == "'" and i + 1 < n and text[i + 1] == "'":
                    i += 1  # '' is an escaped quote inside a single-quoted scalar
                    column += 1
                else:
                    quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
                column += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
            quote = "#"
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line, column
        elif ch in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return None


def _read_yaml(text: str, file: str) -> tuple[yaml.Node | None, Any, list[Problem]]:
    """Nodes and data of ``text``, or the located syntax error."""
    if len(text) > MAX_BYTES:
        return None, None, [Problem(file, 1, 1, f"file too large for a question set "
                                                f"(over {MAX_BYTES:,} characters)")]
    deep = _too_deep(text)
    if deep is not None:
        return None, None, [Problem(file, *deep, f"nested more than {MAX_NESTING} levels deep")]
    alias = _first_alias(text)
    if alias is not None:
        return None, None, [Problem(file, *alias,
                                    "YAML aliases (*name) are not allowed in a question set")]
    try:
        root, data = _parse(text, _FAST_LOADER)
        return root, data, []
    except RecursionError:
        return None, None, [Problem(file, 1, 1, "nested too deeply to read")]
    except yaml.YAMLError:
        pass  # parse again below, once, for the pure-Python parser's wording
    try:
        root, data = _parse(text, yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, None, [Problem(file, line, col, f"YAML syntax error: {e.problem or e}")]
    except yaml.YAMLError as e:
        return None, None, [Problem(file, 1, 1, f"YAML error: {e}")]
    return root, data, []


def check_text(text: str, file: str, resolve: Resolver | None = None,
               conflict: ConflictCheck | None = None, path: Path | None = None
               ) -> tuple[QuestionSet | None, list[Problem]]:
    """Parse, validate and build a set from YAML text; return it (or None) and its problems."""
    root, data, problems = _read_yaml(text, file)
    if problems:
        return None, problems
    if root is None:
        return None, [Problem(file, 1, 1, "empty file: expected a question set")]

    loc8 = _Locator(root, text)
    problems = [Problem(file, *loc8.line_col(k.start_mark.index), f"duplicate key '{name}'")
                for k, name in _duplicate_keys(root)]
    try:
        spec = QuestionSetFile.model_validate(data)
    except ValidationError as e:
        return None, sorted(problems + _pydantic_problems(e, file, loc8))

    qs, issues = build_set(spec, resolve)
    problems += [_issue_problem(i, file, loc8) for i in issues]
    if qs is not None and conflict is not None and path is not None:
        clash = conflict(qs, path)
        if clash:
            problems.append(Problem(file, *loc8.position(("version",)), clash))
    problems = sorted(set(problems))
    return (qs if not problems else None), problems


def check_file(path: Path, resolve: Resolver | None = None,
               conflict: ConflictCheck | None = None) -> tuple[QuestionSet | None, list[Problem]]:
    """Check one file: see :func:`check_text`."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return None, [Problem(file, 1, 1, f"cannot read: {e}")]
    return check_text(text, file, resolve, conflict, Path(path))
