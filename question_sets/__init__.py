"""Question sets as data: the standards inspectors rate against, loaded from YAML.

A question set is a versioned YAML file (see ``README.md`` in this folder) validated
by :mod:`question_sets.schema`; its ``applies_when`` rules use the small language in
:mod:`question_sets.expressions`. This package never imports ``audit``, ``stats``,
``tui`` or ``textual``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from question_sets.expressions import Expression, ExpressionError, compile_expression
    from question_sets.loader import (
        ENV_VAR,
        list_sets,
        load_file,
        load_set,
        search_path,
        validate_file,
    )
    from question_sets.model import Question, QuestionSet, Section
    from question_sets.problems import Problem, QuestionSetError, UnknownSetError
    from question_sets.profile import EXTRA_CASE_FIELDS, PROFILE

# Names are loaded on first use (PEP 562): the loader pulls in YAML and pydantic, which
# `iom-audit --help` and `--version` never need.
_HOMES = {
    "Expression": "expressions", "ExpressionError": "expressions",
    "compile_expression": "expressions",
    "ENV_VAR": "loader", "list_sets": "loader", "load_file": "loader", "load_set": "loader",
    "search_path": "loader", "validate_file": "loader",
    "Question": "model", "QuestionSet": "model", "Section": "model",
    "Problem": "problems", "QuestionSetError": "problems", "UnknownSetError": "problems",
    "EXTRA_CASE_FIELDS": "profile", "PROFILE": "profile",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'question_sets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"question_sets.{home}"), name)
    globals()[name] = value
    return value

__all__ = [
    "ENV_VAR",
    "EXTRA_CASE_FIELDS",
    "PROFILE",
    "Expression",
    "ExpressionError",
    "Problem",
    "Question",
    "QuestionSet",
    "QuestionSetError",
    "Section",
    "UnknownSetError",
    "compile_expression",
    "list_sets",
    "load_file",
    "load_set",
    "search_path",
    "validate_file",
]
