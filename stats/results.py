"""Result types: frozen dataclasses holding numbers, never formatted strings.

Every result has ``to_frame()`` (pandas) and ``to_dict()`` (JSON-ready).  JSON rules,
shared by all results: NaN and infinite floats become ``None`` (JSON has neither; an
infinite odds ratio is explained in the row's ``note``), numpy scalars become Python
numbers, tuples become lists, intervals are ``[low, high]`` lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Interval = tuple[float, float]

# The covariates of the independent effect (`stats.regression`), named here, in a light
# module, so that a comparison without a model never loads statsmodels.
DEFAULT_COVARIATES = ("case_type", "rosh", "likelihood", "provider")


def jsonable(value: Any) -> Any:
    """Convert numbers, tuples and mappings to plain JSON values (NaN/inf -> None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot convert {type(value).__name__} to JSON")


def _bounds(ci: Interval | None) -> tuple[float | None, float | None]:
    return (None, None) if ci is None else (ci[0], ci[1])


@dataclass(frozen=True)
class QuestionInfo:
    """What a question is: its label, its section (standard) and whether it is a key question."""

    label: str
    section: str = ""
    key: bool = False


@dataclass(frozen=True)
class GroupCounts:
    """Answers to one question in one group.

    ``n`` counts applicable answers only (yes + no); ``na`` (not applicable), ``other``
    (any other code) and ``missing`` (not answered) are never in ``n``.
    """

    yes: int
    no: int
    na: int = 0
    other: int = 0
    missing: int = 0

    @property
    def n(self) -> int:
        return self.yes + self.no

    @property
    def pct(self) -> float | None:
        """100 * yes / n, unrounded; None when n is 0."""
        return 100.0 * self.yes / self.n if self.n else None

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"yes": self.yes, "n": self.n, "na": self.na, "missing": self.missing,
                         "pct": self.pct, "no": self.no, "other": self.other})


@dataclass(frozen=True)
class EffectResult:
    """The group's independent effect from a logistic regression.

    ``status`` is one of:
      * ``"ok"`` - fitted as requested;
      * ``"too_few_events"`` - fitted, but fewer than 10 events (the rarer outcome) per
        parameter, so the estimate may be biased and the CI too narrow; the number is given;
      * ``"single_level"`` - either a covariate had one level among the rows used and was
        dropped (number given, ``dropped`` names it), or the group or the answer had one
        level (no number: nothing to estimate);
      * ``"separation"`` - complete or quasi-complete separation (no number);
      * ``"failed"`` - the model could not be fitted (no number; see ``message``).
    ``odds_ratio`` is not None exactly when a model was fitted and can be trusted.
    ``used`` names the covariates in the model (``dropped`` those left out), so a note can
    say what the effect was adjusted for whatever the status.
    """

    odds_ratio: float | None
    ci: Interval | None
    p: float | None
    n: int
    status: str
    message: str = ""
    events: int = 0
    parameters: int = 0
    dropped: tuple[str, ...] = ()
    used: tuple[str, ...] = ()

    @property
    def fitted(self) -> bool:
        """Whether a model was fitted: an odds ratio is given, whatever was dropped."""
        return self.odds_ratio is not None

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"odds_ratio": self.odds_ratio, "ci": self.ci, "p": self.p, "n": self.n,
                         "status": self.status, "message": self.message,
                         "events": self.events, "parameters": self.parameters,
                         "dropped": self.dropped, "used": self.used})


@dataclass(frozen=True)
class PairwiseResult:
    """Two levels of a question compared on their own (post-hoc, three or more levels).

    The test is chosen as for a two-group comparison (`stats.significance.choose_test` on
    the pair's 2 x 2 table); ``p_adjusted`` is Holm-adjusted over the testable pairs of the
    same question, and ``significant`` is ``p_adjusted < alpha``.  ``diff_pp`` is a minus b
    in percentage points (Newcombe CI); ``odds_ratio`` and ``risk_ratio`` are a vs b;
    ``cohens_h`` is 2 asin(sqrt p_a) - 2 asin(sqrt p_b).  ``status``/``note`` as for a row.
    """

    a: str
    b: str
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    significant: bool | None = None
    diff_pp: float | None = None
    diff_ci: Interval | None = None
    odds_ratio: float | None = None
    or_ci: Interval | None = None
    risk_ratio: float | None = None
    rr_ci: Interval | None = None
    cohens_h: float | None = None
    status: str = "ok"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "a": self.a, "b": self.b, "test": self.test, "statistic": self.statistic,
            "p_value": self.p_value, "p_adjusted": self.p_adjusted,
            "significant": self.significant, "diff_pp": self.diff_pp,
            "diff_ci": self.diff_ci, "odds_ratio": self.odds_ratio, "or_ci": self.or_ci,
            "risk_ratio": self.risk_ratio, "rr_ci": self.rr_ci, "cohens_h": self.cohens_h,
            "status": self.status, "note": self.note})


@dataclass(frozen=True)
class ComparisonRow:
    """One question compared across groups.

    ``test`` names the test used ("chi2", "chi2_yates", "fisher", "chi2_monte_carlo",
    "fisher_monte_carlo") or is
    None when no test is possible; then ``status`` says why ("empty_group", "no_variation",
    "single_group") and the row is left out of the multiple-testing correction.
    ``statistic`` is the chi-square statistic; it is None for Fisher's exact test (whose
    only statistic is the sample odds ratio, already in ``odds_ratio``).
    ``diff_pp``/``diff_ci`` are in percentage points, first level minus second.
    ``odds_ratio`` is the sample odds ratio (first level vs second); with a zero cell it is
    0.0 or inf and ``or_ci`` is None (the Woolf interval does not exist); see ``note``.
    ``risk_ratio``/``rr_ci`` (yes rate of the first level over the second, Katz interval)
    and ``cohens_h`` are the other two-group effect sizes.
    A Monte Carlo p-value states its ``resamples`` and its standard error ``p_se``.
    ``pairwise`` holds every pair of levels (three or more levels; empty for two).
    """

    question_id: str
    label: str
    section: str
    key: bool
    groups: Mapping[str, GroupCounts]
    diff_pp: float | None = None
    diff_ci: Interval | None = None
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    odds_ratio: float | None = None
    or_ci: Interval | None = None
    significant: bool | None = None
    small_expected: bool = False
    status: str = "ok"
    note: str = ""
    independent_effect: EffectResult | None = None
    risk_ratio: float | None = None
    rr_ci: Interval | None = None
    cohens_h: float | None = None
    resamples: int | None = None
    p_se: float | None = None
    pairwise: tuple[PairwiseResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "label": self.label,
            "section": self.section,
            "key": self.key,
            "groups": {level: c.to_dict() for level, c in self.groups.items()},
            **jsonable({
                "diff_pp": self.diff_pp, "diff_ci": self.diff_ci, "test": self.test,
                "statistic": self.statistic, "p_value": self.p_value,
                "p_adjusted": self.p_adjusted, "odds_ratio": self.odds_ratio,
                "or_ci": self.or_ci, "significant": self.significant,
                "small_expected": self.small_expected, "status": self.status,
                "note": self.note,
            }),
            "independent_effect": (None if self.independent_effect is None
                                   else self.independent_effect.to_dict()),
            **jsonable({"risk_ratio": self.risk_ratio, "rr_ci": self.rr_ci,
                        "cohens_h": self.cohens_h, "resamples": self.resamples,
                        "p_se": self.p_se}),
            "pairwise": [pair.to_dict() for pair in self.pairwise],
        }


@dataclass(frozen=True)
class Summary:
    """Across the summary questions (the key ones, or all compared when none is key).

    ``mean_diff_pp``: mean of the rows' ``diff_pp``.  ``pooled``: 100 * sum(yes) / sum(n)
    per level.  ``mean_pct``: unweighted mean of the rows' percentages per level (what
    seed 002 reports as "62 per cent ... 72 per cent").
    """

    mean_diff_pp: float | None
    pooled: Mapping[str, float | None]
    mean_pct: Mapping[str, float | None]
    questions: tuple[str, ...]
    basis: str  # "key" or "all"

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"mean_diff_pp": self.mean_diff_pp, "pooled": self.pooled,
                         "mean_pct": self.mean_pct, "questions": self.questions,
                         "basis": self.basis})


@dataclass(frozen=True)
class Comparison:
    """Questions compared between the levels of ``by`` (differences: first level minus second)."""

    by: str
    levels: tuple[str, ...]
    rows: tuple[ComparisonRow, ...]
    summary: Summary
    alpha: float
    correction: str
    covariates: tuple[str, ...] = ()
    dropped_missing_group: int = 0
    dropped_other_level: int = 0

    def row(self, question_id: str) -> ComparisonRow:
        for row in self.rows:
            if row.question_id == question_id:
                return row
        raise KeyError(question_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "levels": list(self.levels),
            "rows": [row.to_dict() for row in self.rows],
            "summary": self.summary.to_dict(),
            **jsonable({"alpha": self.alpha, "correction": self.correction,
                        "covariates": self.covariates,
                        "dropped_missing_group": self.dropped_missing_group,
                        "dropped_other_level": self.dropped_other_level}),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per question; group counts flattened as ``<level>_yes`` etc."""
        records = []
        for row in self.rows:
            rec: dict[str, Any] = {"question_id": row.question_id, "label": row.label,
                                   "section": row.section, "key": row.key}
            for level, c in row.groups.items():
                rec.update({f"{level}_yes": c.yes, f"{level}_n": c.n, f"{level}_na": c.na,
                            f"{level}_missing": c.missing, f"{level}_pct": c.pct})
            lo, hi = _bounds(row.diff_ci)
            olo, ohi = _bounds(row.or_ci)
            rec.update({"diff_pp": row.diff_pp, "diff_ci_low": lo, "diff_ci_high": hi,
                        "test": row.test, "statistic": row.statistic, "p_value": row.p_value,
                        "p_adjusted": row.p_adjusted, "odds_ratio": row.odds_ratio,
                        "or_ci_low": olo, "or_ci_high": ohi, "significant": row.significant,
                        "status": row.status, "note": row.note})
            rlo, rhi = _bounds(row.rr_ci)
            rec.update({"risk_ratio": row.risk_ratio, "rr_ci_low": rlo, "rr_ci_high": rhi,
                        "cohens_h": row.cohens_h, "resamples": row.resamples,
                        "p_se": row.p_se})
            effect = row.independent_effect
            if effect is not None:
                elo, ehi = _bounds(effect.ci)
                rec.update({"ie_odds_ratio": effect.odds_ratio, "ie_ci_low": elo,
                            "ie_ci_high": ehi, "ie_p": effect.p, "ie_n": effect.n,
                            "ie_status": effect.status})
            records.append(rec)
        return pd.DataFrame.from_records(records)


@dataclass(frozen=True)
class DistributionCell:
    """One category in one group.  ``suppressed`` flags 0 < count < threshold (count kept)."""

    level: str
    category: str
    label: str
    count: int
    pct: float | None
    suppressed: bool


@dataclass(frozen=True)
class GroupBase:
    """Base sizes of one group: ``base`` is the percentage denominator, ``total`` all rows."""

    level: str
    base: int
    total: int
    missing: int
    unknown: int


@dataclass(frozen=True)
class Distribution:
    """Counts and percentages of a coded field per group (level "all" when ungrouped)."""

    field: str
    by: str | None
    levels: tuple[str, ...]
    categories: tuple[str, ...]
    cells: tuple[DistributionCell, ...]
    bases: Mapping[str, GroupBase]
    suppress_below: int
    base: str  # "known" or "all"

    def cell(self, level: str, category: str) -> DistributionCell:
        for c in self.cells:
            if c.level == level and c.category == category:
                return c
        raise KeyError((level, category))

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (level, category)."""
        return pd.DataFrame.from_records(
            [{"level": c.level, "category": c.category, "label": c.label, "count": c.count,
              "pct": c.pct, "suppressed": c.suppressed} for c in self.cells],
            columns=["level", "category", "label", "count", "pct", "suppressed"])

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "field": self.field, "by": self.by, "levels": self.levels,
            "categories": self.categories, "base": self.base,
            "suppress_below": self.suppress_below,
            "cells": [{"level": c.level, "category": c.category, "label": c.label,
                       "count": c.count, "pct": c.pct, "suppressed": c.suppressed}
                      for c in self.cells],
            "bases": {lv: {"base": b.base, "total": b.total, "missing": b.missing,
                           "unknown": b.unknown} for lv, b in self.bases.items()},
        })


@dataclass(frozen=True)
class YesNoRow:
    """Yes and n for one question per group; ``suppressed`` when 0 < yes or no < threshold."""

    question_id: str
    label: str
    groups: Mapping[str, GroupCounts]
    suppressed: Mapping[str, bool]


@dataclass(frozen=True)
class YesNoTable:
    """Per-question yes/n counts by group (Figures 4.3 and 4.6)."""

    by: str | None
    levels: tuple[str, ...]
    rows: tuple[YesNoRow, ...]
    suppress_below: int

    def to_frame(self) -> pd.DataFrame:
        records = []
        for row in self.rows:
            for level, c in row.groups.items():
                records.append({"question_id": row.question_id, "label": row.label,
                                "level": level, "yes": c.yes, "no": c.no, "n": c.n,
                                "na": c.na, "missing": c.missing, "pct": c.pct,
                                "suppressed": row.suppressed[level]})
        return pd.DataFrame.from_records(records)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({
            "by": self.by, "levels": self.levels, "suppress_below": self.suppress_below,
            "rows": [{"question_id": r.question_id, "label": r.label,
                      "groups": {lv: c.to_dict() for lv, c in r.groups.items()},
                      "suppressed": dict(r.suppressed)} for r in self.rows],
        })


@dataclass(frozen=True)
class ReliabilityRow:
    """Agreement between two raters on one question (or all pooled, ``question_id`` "overall").

    ``agreement`` and ``prevalence`` are percent (0-100); the coefficients are ratios.
    ``kappa_ci`` is a 95% Wald interval using the Fleiss-Cohen-Everitt (1969) large-sample
    standard error, as computed by statsmodels (not clipped to -1..1).  The other
    intervals are described by ``methods`` (one entry per ``*_ci`` key).
    ``prevalence`` is the share of all ratings (both raters) in the commonest category,
    ``prevalence_category`` (a tie goes to the first category in sorted order): near 100
    is where kappa and alpha collapse although nearly every pair agrees (the prevalence
    paradox), and PABAK and AC1 do not.
    A statistic or interval that cannot be given is ``None`` and ``reasons`` says why,
    keyed like the JSON (``"kappa"``, ``"alpha_ci"``, ...).
    ``status``: "ok", "no_pairs", or "undefined" (both raters used one and the same
    category, so every chance-corrected coefficient is 0/0).
    """

    question_id: str
    label: str
    n_pairs: int
    agreement: float | None
    kappa: float | None
    kappa_se: float | None
    kappa_ci: Interval | None
    status: str
    categories: tuple[str, ...] = ()
    agreement_ci: Interval | None = None
    pabak: float | None = None
    pabak_ci: Interval | None = None
    ac1: float | None = None
    ac1_ci: Interval | None = None
    alpha: float | None = None
    alpha_ci: Interval | None = None
    prevalence: float | None = None
    prevalence_category: str | None = None
    reasons: Mapping[str, str] = field(default_factory=dict)
    methods: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return jsonable({"question_id": self.question_id, "label": self.label,
                         "n_pairs": self.n_pairs, "agreement": self.agreement,
                         "kappa": self.kappa, "kappa_se": self.kappa_se,
                         "kappa_ci": self.kappa_ci, "status": self.status,
                         "categories": self.categories,
                         "agreement_ci": self.agreement_ci,
                         "pabak": self.pabak, "pabak_ci": self.pabak_ci,
                         "ac1": self.ac1, "ac1_ci": self.ac1_ci,
                         "alpha": self.alpha, "alpha_ci": self.alpha_ci,
                         "prevalence": self.prevalence,
                         "prevalence_category": self.prevalence_category,
                         "reasons": dict(self.reasons), "methods": dict(self.methods)})


@dataclass(frozen=True)
class Reliability:
    """Inter-rater reliability per question plus an overall row (all questions pooled)."""

    rows: tuple[ReliabilityRow, ...]
    overall: ReliabilityRow
    n_cases: int = 0

    def to_frame(self) -> pd.DataFrame:
        records = []
        for r in (*self.rows, self.overall):
            lo, hi = _bounds(r.kappa_ci)
            record: dict[str, Any] = {
                "question_id": r.question_id, "label": r.label, "n_pairs": r.n_pairs,
                "agreement": r.agreement, "kappa": r.kappa, "kappa_se": r.kappa_se,
                "kappa_ci_low": lo, "kappa_ci_high": hi, "status": r.status,
                "prevalence": r.prevalence, "prevalence_category": r.prevalence_category}
            for name in ("agreement", "pabak", "ac1", "alpha"):
                if name != "agreement":
                    record[name] = getattr(r, name)
                record[f"{name}_ci_low"], record[f"{name}_ci_high"] = _bounds(
                    getattr(r, f"{name}_ci"))
            records.append(record)
        return pd.DataFrame.from_records(records)

    def to_dict(self) -> dict[str, Any]:
        return {"n_cases": self.n_cases, "rows": [r.to_dict() for r in self.rows],
                "overall": self.overall.to_dict()}
