"""Statistics for iom-audit: pure functions on pandas DataFrames (no database, no UI).

Input: a wide DataFrame, one row per case, with a grouping column, covariate columns and
one column per question holding answer codes ("yes", "no", "na", other codes, or
missing).  Results are frozen dataclasses with ``to_frame()`` and ``to_dict()``, holding
unrounded floats: printing them (rounding, signs, the missing mark) is the job of
``audit.formatting``, so this package stays usable from a notebook without the app.
"""

from stats.aggregate import compare_counts
from stats.compare import compare_groups
from stats.distribution import distribution, yes_no_by_factor
from stats.regression import DEFAULT_COVARIATES, independent_effect, independent_effects
from stats.reliability import reliability
from stats.results import (
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
from stats.significance import adjust_pvalues, newcombe_diff, sample_odds_ratio, significance_test

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
