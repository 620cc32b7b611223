"""Independent effect of the group: logistic regression of answer == yes on group + covariates.

The design matrix is built once for all questions (covariates one-hot coded once with
pandas); each question then only masks rows and drops the dummy columns of levels that
are absent, so twelve models on 100,000 rows take a few seconds, not minutes.

Covariates are treated as categorical (treatment coding, reference = the first level
present in sorted or category order), which gives exactly the model of the formula
``answer ~ group + C(cov1) + C(cov2) ...`` fitted on the same rows.

Policy, so that no number is silently wrong (see ``EffectResult``):
  * a level of the group, of the answer or of any covariate in which every row has the
    same answer (complete or quasi-complete separation) -> "separation", no number;
    merge small levels (e.g. providers) or drop the covariate to get an estimate;
  * a fit that does not converge or has a coefficient beyond |12| or a standard error
    beyond 50 on the log-odds scale -> "separation" (no number);
  * a covariate with one level among the rows used is dropped -> "single_level" with a
    number and ``dropped``; the group or the answer with one level -> "single_level",
    no number;
  * fewer than 10 events (the rarer outcome) per parameter -> "too_few_events", fitted
    and reported, flagged;
  * anything else that stops the fit -> "failed" with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from stats.counting import NO, YES, answer_classes, codes_for, group_index, observed_levels
from stats.results import EffectResult

DEFAULT_COVARIATES = ("case_type", "rosh", "likelihood", "provider")
MIN_EVENTS_PER_PARAMETER = 10
MAX_ABS_COEF = 12.0
MAX_SE = 50.0


@dataclass(frozen=True)
class _Covariate:
    name: str
    levels: tuple[str, ...]
    codes: np.ndarray  # -1 missing


@dataclass(frozen=True)
class Design:
    """Rows usable for any question (known group in ``levels`` and known covariates)."""

    by: str
    levels: tuple[str, str]
    group: np.ndarray  # 1.0 for the first level, 0.0 for the second
    covariates: tuple[_Covariate, ...]
    usable: np.ndarray  # bool per row
    missing_columns: tuple[str, ...]


def build_design(df: pd.DataFrame, by: str, covariates: Sequence[str],
                 levels: Sequence[str]) -> Design:
    """Code the group and covariates once for all questions."""
    if len(levels) != 2:
        raise ValueError("the independent effect needs exactly two group levels")
    groups = group_index(df[by], levels)
    usable = groups.codes >= 0
    missing_columns = tuple(c for c in covariates if c not in df.columns)
    coded = []
    for name in covariates:
        if name in missing_columns:
            continue
        cov_levels = observed_levels(df[name])
        codes = codes_for(df[name], cov_levels)
        usable &= codes >= 0
        coded.append(_Covariate(name, cov_levels, codes))
    group = (groups.codes == 0).astype(float)
    return Design(by, (str(levels[0]), str(levels[1])), group, tuple(coded), usable,
                  missing_columns)


def _fit(y: np.ndarray, x: np.ndarray) -> tuple[object | None, str, str]:
    """Fit Logit by Newton; returns (results, status, message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = sm.Logit(y, x).fit(disp=0, method="newton", maxiter=100)
        except PerfectSeparationError as exc:  # older statsmodels raise instead of warn
            return None, "separation", f"perfect separation: {exc}"
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, "failed", f"model could not be fitted: {exc}"
    kinds = {w.category for w in caught}
    if PerfectSeparationWarning in kinds:
        return None, "separation", "perfect separation: the answer is predicted exactly"
    with np.errstate(invalid="ignore"):
        params, bse = np.asarray(res.params), np.asarray(res.bse)
    huge = (not np.all(np.isfinite(bse))) or np.abs(params).max() > MAX_ABS_COEF \
        or bse.max() > MAX_SE
    converged = bool(res.mle_retvals.get("converged", False))
    if huge:
        return None, "separation", "quasi-separation: coefficients or standard errors diverge"
    if not converged or ConvergenceWarning in kinds:
        return None, "failed", "the model did not converge"
    if HessianInversionWarning in kinds:
        return None, "failed", "the information matrix could not be inverted"
    return res, "ok", ""


def _separated_levels(y: np.ndarray, codes: np.ndarray, n_levels: int) -> list[int]:
    """Levels in which every row has the same answer."""
    n = np.bincount(codes, minlength=n_levels)
    yes = np.bincount(codes, weights=y, minlength=n_levels)
    return [i for i in range(n_levels) if n[i] > 0 and (yes[i] == 0 or yes[i] == n[i])]


def effect_for(design: Design, answers: pd.Series) -> EffectResult:
    """The group's adjusted odds ratio (first level vs second) for one question."""
    if design.missing_columns:
        return EffectResult(None, None, None, 0, "failed",
                            "covariates not in the data: " + ", ".join(design.missing_columns))
    classes = answer_classes(answers)
    rows = design.usable & ((classes == YES) | (classes == NO))
    n = int(rows.sum())
    y = (classes[rows] == YES).astype(float)
    events = int(min(y.sum(), n - y.sum()))
    group = design.group[rows]
    if n == 0 or group.min() == group.max():
        return EffectResult(None, None, None, n, "single_level",
                            f"{design.by} has fewer than two levels among the rows used")
    if events == 0:
        return EffectResult(None, None, None, n, "single_level",
                            "the answer has one level among the rows used")
    problems: list[str] = []
    for i in _separated_levels(y, group.astype(np.int64), 2):
        problems.append(f"{design.by}={design.levels[1 - i]}")
    columns = [np.ones(n), group]
    dropped: list[str] = []
    for cov in design.covariates:
        codes = cov.codes[rows]
        present = np.flatnonzero(np.bincount(codes, minlength=len(cov.levels)))
        if present.size < 2:
            dropped.append(cov.name)
            continue
        problems += [f"{cov.name}={cov.levels[i]}"
                     for i in _separated_levels(y, codes, len(cov.levels))]
        for level in present[1:]:  # first present level is the reference
            columns.append((codes == level).astype(float))
    parameters = len(columns) - 1
    if problems:
        return EffectResult(None, None, None, n, "separation",
                            "every answer is the same within " + ", ".join(problems[:5])
                            + (" ..." if len(problems) > 5 else ""),
                            events, parameters, tuple(dropped))
    res, status, message = _fit(y, np.column_stack(columns))
    if res is None:
        return EffectResult(None, None, None, n, status, message, events, parameters,
                            tuple(dropped))
    ci = np.asarray(res.conf_int())[1]
    notes = []
    status = "ok"
    if dropped:
        status = "single_level"
        notes.append("dropped (one level among the rows used): " + ", ".join(dropped))
    if events < MIN_EVENTS_PER_PARAMETER * parameters:
        status = "too_few_events"
        notes.insert(0, f"{events} events for {parameters} parameters "
                        f"(fewer than {MIN_EVENTS_PER_PARAMETER} per parameter)")
    return EffectResult(float(np.exp(res.params[1])), (float(np.exp(ci[0])),
                        float(np.exp(ci[1]))), float(res.pvalues[1]), n, status,
                        "; ".join(notes), events, parameters, tuple(dropped))


def independent_effects(df: pd.DataFrame, outcomes: Sequence[str], by: str,
                        covariates: Sequence[str] = DEFAULT_COVARIATES,
                        levels: Sequence[str] | None = None) -> Mapping[str, EffectResult]:
    """``independent_effect`` for many questions, sharing one design matrix."""
    chosen = observed_levels(df[by]) if levels is None else tuple(levels)
    if len(chosen) != 2:
        refusal = EffectResult(None, None, None, 0, "single_level" if len(chosen) < 2
                               else "failed", f"{by} must have exactly two levels")
        return {q: refusal for q in outcomes}
    design = build_design(df, by, covariates, chosen)
    return {q: effect_for(design, df[q]) for q in outcomes}


def independent_effect(df: pd.DataFrame, outcome_col: str, by: str,
                       covariates: Sequence[str] = DEFAULT_COVARIATES,
                       levels: Sequence[str] | None = None) -> EffectResult:
    """Odds ratio of yes for the first level of ``by`` vs the second, adjusted for covariates.

    Rows with the answer not yes/no (na, other, missing), a group outside ``levels`` or a
    missing covariate are dropped; ``n`` is the number of rows used.  Never raises for
    data reasons: problems come back as a status (see the module docstring).
    """
    return independent_effects(df, [outcome_col], by, covariates, levels)[outcome_col]
