"""How a standard's percentage becomes a rating: the one home of that rule.

The rules themselves are data in the question set (``ratings:``, see
``question_sets.model.Ratings``). A percentage is rounded half up to the rules'
decimals by ``audit.formatting.round_half_up``, the function that prints it, and only
then compared with the bands, so 79.5% printed "80%" is never rated below the 80% band.
"""

from __future__ import annotations

import math
from decimal import Decimal

from audit.formatting import round_half_up
from question_sets.model import Ratings


def rated_value(pct: float, rules: Ratings) -> Decimal:
    """The percentage as the report prints it and the bands judge it."""
    return round_half_up(pct, rules.decimals)


def rating_for(pct: float | None, rules: Ratings) -> str | None:
    """The rating of a percentage (0-100, unrounded); None when there is none."""
    if pct is None or not math.isfinite(pct):
        return None
    value = rated_value(pct, rules)
    for rating, at_least in rules.bands:
        if value >= Decimal(repr(float(at_least))):
            return rating
    return rules.below


def next_band(pct: float, rules: Ratings) -> tuple[str, float] | None:
    """The band above the one this percentage earns (None at the top)."""
    earned = rating_for(pct, rules)
    ratings = [rating for rating, _ in rules.bands]
    if earned == ratings[0]:
        return None
    index = ratings.index(earned) if earned in ratings else len(ratings)
    return rules.bands[index - 1]


def yes_to_reach(yes: int, n: int, at_least: float, rules: Ratings) -> int | None:
    """The fewest more "yes" answers among the same ``n`` (no answers turned yes) whose
    percentage, rounded as printed, reaches ``at_least``: the smallest k >= 0 with
    rated_value(100 (yes + k) / n) >= at_least. None when n is 0 or even n yes falls short.
    """
    if n <= 0:
        return None
    target = Decimal(repr(float(at_least)))

    def reaches(k: int) -> bool:
        return rated_value(100.0 * (yes + k) / n, rules) >= target

    if reaches(0):
        return 0
    if not reaches(n - yes):
        return None
    # Rounding moves a percentage by at most half a unit, so the answer is at least
    # this; step up from one below it (floats may sit a hair off), never past it.
    half = 0.5 * 10.0 ** -rules.decimals
    k = max(0, math.floor((float(at_least) - half) * n / 100.0 - yes) - 1)
    while not reaches(k):
        k += 1
    return k
