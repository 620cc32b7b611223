"""Question sets as data: the standards inspectors rate against, loaded from YAML.

A question set is a versioned YAML file (see ``README.md`` in this folder) validated
by :mod:`question_sets.schema`; its ``applies_when`` rules use the small language in
:mod:`question_sets.expressions`. This package never imports ``audit``, ``stats``,
``tui`` or ``textual``.
"""

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
