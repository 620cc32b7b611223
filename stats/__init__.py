"""Statistics for iom-audit: pure functions on pandas DataFrames (no database, no UI).

Input: a wide DataFrame, one row per case, with a grouping column, covariate columns and
one column per question holding answer codes ("yes", "no", "na", other codes, or
missing).  Results are frozen dataclasses with ``to_frame()`` and ``to_dict()``, holding
unrounded floats: printing them (rounding, signs, the missing mark) is the job of
``audit.formatting``, so this package stays usable from a notebook without the app.

The names below load their module when first used (PEP 562): a comparison without a
model never imports statsmodels, nor one without Fisher's test scipy.stats (issue 19).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stats.aggregate import compare_counts
    from stats.compare import compare_groups
    from stats.distribution import distribution, yes_no_by_factor
    from stats.regression import independent_effect, independent_effects
    from stats.reliability import reliability
    from stats.results import (
        DEFAULT_COVARIATES,
        Comparison,
        ComparisonRow,
        Distribution,
        DistributionCell,
        EffectResult,
        GroupBase,
        GroupCounts,
        QuestionInfo,
        Reliability,
        ReliabilityRow,
        Summary,
        YesNoRow,
        YesNoTable,
    )
    from stats.significance import (
        adjust_pvalues,
        newcombe_diff,
        sample_odds_ratio,
        significance_test,
    )

_HOMES = {
    "compare_counts": "stats.aggregate",
    "compare_groups": "stats.compare",
    "distribution": "stats.distribution",
    "yes_no_by_factor": "stats.distribution",
    "independent_effect": "stats.regression",
    "independent_effects": "stats.regression",
    "reliability": "stats.reliability",
    "adjust_pvalues": "stats.significance",
    "newcombe_diff": "stats.significance",
    "sample_odds_ratio": "stats.significance",
    "significance_test": "stats.significance",
    **{name: "stats.results" for name in (
        "DEFAULT_COVARIATES", "Comparison", "ComparisonRow", "Distribution",
        "DistributionCell", "EffectResult", "GroupBase", "GroupCounts", "QuestionInfo",
        "Reliability", "ReliabilityRow", "Summary", "YesNoRow", "YesNoTable")},
}

__all__ = [
    "DEFAULT_COVARIATES",
    "Comparison",
    "ComparisonRow",
    "Distribution",
    "DistributionCell",
    "EffectResult",
    "GroupBase",
    "GroupCounts",
    "QuestionInfo",
    "Reliability",
    "ReliabilityRow",
    "Summary",
    "YesNoRow",
    "YesNoTable",
    "adjust_pvalues",
    "compare_counts",
    "compare_groups",
    "distribution",
    "independent_effect",
    "independent_effects",
    "newcombe_diff",
    "reliability",
    "sample_odds_ratio",
    "significance_test",
    "yes_no_by_factor",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'stats' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
