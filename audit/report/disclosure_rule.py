"""The disclosure rules a published report may follow: which counts are small, and rounding.

``threshold`` (the default): counts from 1 to T-1 are suppressed (``--suppress-below T``).
``ons-10-5``: the Office for National Statistics' rule, counts below 10 suppressed and
every other published count rounded to the nearest 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from audit.errors import UsageError

RULES = ("threshold", "ons-10-5")
RULE_LABELS = {"threshold": "Suppress small counts (below the threshold)",
               "ons-10-5": "ONS 10-5 (below 10 hidden, the rest rounded to 5)"}
"""How each rule is named where a person picks one (the app's report screen)."""


@dataclass(frozen=True)
class DisclosureRule:
    """Which counts are too small to publish, and how the others are rounded."""

    name: str
    threshold: int  # counts 0 < n < threshold are primary suppressions
    round_to: int = 1  # published counts are rounded to a multiple of this

    @property
    def active(self) -> bool:
        """Whether the rule changes anything (a threshold below 2 suppresses nothing)."""
        return self.threshold >= 2 or self.round_to > 1

    def is_small(self, value: Any) -> bool:
        """Whether a value is a count from 1 to threshold - 1 (zero identifies nobody)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return 0 < value < self.threshold

    def rounded(self, value: float) -> int:
        """A count rounded to the nearest multiple of ``round_to`` (halves up)."""
        if self.round_to <= 1:
            return int(value)
        return int(math.floor(value / self.round_to + 0.5)) * self.round_to

    @property
    def rounding_slack(self) -> float:
        """How far a true count may lie from its published, rounded value."""
        return self.round_to // 2 if self.round_to > 1 else 0.0

    def describe(self) -> str:
        """The rule in words, for the methods page."""
        if not self.active:
            return "No small-number suppression was applied: counts are shown as they are."
        words = (f"Counts from 1 to {self.threshold - 1} are shown as *, and so is every "
                 "percentage, rating or difference computed from such a count or from a "
                 f"base of fewer than {self.threshold} cases")
        if self.round_to > 1:
            words += (f"; every other count is rounded to the nearest {self.round_to} and "
                      "percentages are computed from the rounded counts (the ONS 10-5 rule)")
        return (words + ". Further cells (also *) are suppressed where the published totals, "
                "bases or percentages would otherwise give a suppressed count back "
                "(complementary suppression, chosen by an integer program); every table is "
                "then checked by linear programming, and a small count stays protected only "
                f"when the published numbers leave it a range at least {self.threshold} wide.")


def rule_named(name: str, suppress_below: int) -> DisclosureRule:
    """The rule called ``name`` ("threshold" uses ``suppress_below``)."""
    if name == "threshold":
        return DisclosureRule("threshold", suppress_below)
    if name == "ons-10-5":
        return DisclosureRule("ons-10-5", 10, 5)
    raise UsageError(f"unknown disclosure rule {name!r}; choose from {', '.join(RULES)}")
