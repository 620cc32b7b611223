"""Located problems in question-set files, and the errors that carry them."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class QuestionSetError(Exception):
    """A question set that cannot be loaded; ``problems`` locates each cause in its file."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)

    def __str__(self) -> str:
        return self.message


class UnknownSetError(QuestionSetError, LookupError):
    """No question set with this id (or version) on the search path."""
