"""Independent effect of the group: logistic regression of answer == yes on group + covariates.

The group and covariates are coded once for all questions and rows are collapsed into
covariate patterns (see ``Design``); each question then only counts yes and n per
pattern, so twelve models on 100,000 rows take well under a second.

Covariates are treated as categorical (treatment coding, reference = the first level
present in sorted or category order), which gives exactly the model of the formula
``answer ~ group + C(cov1) + C(cov2) ...`` fitted on the same rows.

The fit is statsmodels' binomial GLM with its default IRLS, no start values given. Each
pattern enters as two rows, answer 1 weighted by its yes count and answer 0 by its no
count (``freq_weights``): the log-likelihood, its derivatives and hence the estimates and
standard errors are those of ``statsmodels.api.Logit`` on the rows (the tests check it
to 1e-6), while 100,000 cases stay a few hundred rows.

Policy, so that no number is silently wrong (see ``EffectResult``). Separation is judged
by these stated criteria only, never from an iteration that failed:
  * a level of the group or of any covariate in which every answer is the same ->
    "separation", no number. This is quasi-complete separation: if level L (not the
    reference) is all yes, raising its coefficient raises the likelihood of L's rows
    and leaves every other row alone, so the likelihood has no maximum at finite values
    (for the reference level, move the intercept up and the covariate's other levels
    down by the same amount). No finite estimate exists, so none is reported;
    merge small levels (e.g. providers) or drop the covariate to get an estimate;
  * statsmodels' ``PerfectSeparationWarning`` (every fitted probability 0 or 1:
    complete separation) -> "separation";
  * a fitted coefficient with |log odds| above ``MAX_ABS_COEF`` (12, an odds ratio
    beyond 160,000) or a standard error above ``MAX_SE`` (50, a 95% interval wider than
    a factor e**196) -> "separation": this is how a coefficient running off to infinity
    under quasi-complete separation across several levels looks when IRLS stops;
  * a fit statsmodels reports as not converged, or collinear covariates -> "failed" (no
    number);
  * a covariate with one level among the rows used is dropped -> "single_level" with a
    number; ``used`` names the covariates in the model and ``dropped`` the others; the
    group or the answer with one level -> "single_level", no number;
  * fewer than 10 events (the rarer outcome) per parameter -> "too_few_events", fitted
    and reported, flagged;
  * anything else that stops the fit -> "failed" with the reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from statsmodels.genmod.generalized_linear_model import GLMResultsWrapper

from stats.counting import NO, YES, answer_classes, codes_for, group_index, observed_levels
from stats.results import DEFAULT_COVARIATES, EffectResult

MIN_EVENTS_PER_PARAMETER = 10
MAX_ABS_COEF = 12.0
MAX_SE = 50.0
# IRLS stops when no coefficient moves by more than this (statsmodels' default criterion,
# a deviance change below 1e-8, leaves the standard errors, taken from the weights of the
# step before last, about 1e-6 off, so p-values near 1e-50 differ from Logit in the 4th
# digit).
PARAMS_TOL = 1e-10


@dataclass(frozen=True)
class Design:
    """Usable rows (group in ``levels``, covariates known) coded once for all questions.

    Because every regressor is categorical, rows with the same group and covariate levels
    (a "pattern") share one linear predictor; the model is fitted to counts per pattern
    (binomial GLM), which has exactly the likelihood, estimates and standard errors of
    the row-level logistic regression but a few thousand rows instead of 100,000.
    """

    by: str
    levels: tuple[str, str]
    names: tuple[str, ...]  # "by" then the covariates present
    level_names: tuple[tuple[str, ...], ...]  # per name: its levels
    patterns: np.ndarray  # (P, 1 + covariates) codes; group code 1 = first level
    pattern_id: np.ndarray  # per row, -1 when unusable
    missing_columns: tuple[str, ...]


def build_design(df: pd.DataFrame, by: str, covariates: Sequence[str],
                 levels: Sequence[str]) -> Design:
    """Code the group and covariates once for all questions."""
    if len(levels) != 2:
        raise ValueError("the independent effect needs exactly two group levels")
    chosen = (str(levels[0]), str(levels[1]))
    groups = group_index(df[by], chosen)
    usable = groups.codes >= 0
    missing_columns = tuple(c for c in covariates if c not in df.columns)
    present = [c for c in covariates if c not in missing_columns]
    columns = [(groups.codes == 0).astype(np.int64)]  # 1 = first level
    level_names: list[tuple[str, ...]] = [(chosen[1], chosen[0])]
    for name in present:
        cov_levels = observed_levels(df[name])
        codes = codes_for(df[name], cov_levels)
        usable &= codes >= 0
        columns.append(codes)
        level_names.append(cov_levels)
    stacked = np.column_stack(columns)[usable]
    radices = [max(len(names), 1) for names in level_names]
    if math.prod(radices) < 2**62:
        # One int64 key per row (mixed radix): a 1-D unique is far faster than axis=0.
        weights = np.cumprod([1, *radices[:-1]], dtype=np.int64)
        keys, inverse = np.unique(stacked @ weights, return_inverse=True)
        patterns = (keys[:, None] // weights) % np.asarray(radices, dtype=np.int64)
    else:
        patterns, inverse = np.unique(stacked, axis=0, return_inverse=True)
    pattern_id = np.full(len(df), -1, dtype=np.int64)
    pattern_id[usable] = inverse.ravel()
    return Design(by, chosen, (by, *present), tuple(level_names), patterns, pattern_id,
                  missing_columns)


def import_model_libraries() -> None:
    """Import what a fit uses (statsmodels' GLM, and scipy.stats through it: about a
    second), e.g. in a background thread while the counts are read. Only a fit needs
    them: a comparison without a model never loads statsmodels (issue 19)."""
    # Only the two modules used: `statsmodels.api` imports the whole library (seconds).
    import statsmodels.genmod.families  # noqa: F401
    import statsmodels.genmod.generalized_linear_model  # noqa: F401
    import statsmodels.tools.sm_exceptions  # noqa: F401


def _fit(successes: np.ndarray, trials: np.ndarray,
         x: np.ndarray) -> tuple[GLMResultsWrapper | None, str, str]:
    """Fit the binomial GLM to pattern counts; returns (results, status, message)."""
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    if np.linalg.matrix_rank(x.T @ x) < x.shape[1]:  # small (k x k), cheap
        return None, "failed", "collinear covariates (one is determined by the others)"
    failures = trials - successes
    # Each pattern as a yes row and a no row, weighted by their counts (zero rows left out):
    # the row-level likelihood exactly, with a 0/1 answer so that statsmodels' own
    # perfect-prediction check means what it says (on proportions it would fire on any
    # model that fits every pattern exactly).
    endog = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    weights = np.concatenate([successes, failures])
    keep = weights > 0
    exog = np.vstack([x, x])[keep]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = GLM(endog[keep], exog, family=Binomial(), freq_weights=weights[keep]).fit(
                tol=PARAMS_TOL, tol_criterion="params")
        except PerfectSeparationError as exc:  # older statsmodels raise instead of warn
            return None, "separation", f"perfect separation: {exc}"
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, "failed", f"model could not be fitted: {exc}"
    kinds = {w.category for w in caught}
    if PerfectSeparationWarning in kinds:
        return None, "separation", "perfect separation: the answer is predicted exactly"
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    if not np.all(np.isfinite(bse)) or np.abs(params).max() > MAX_ABS_COEF \
            or bse.max() > MAX_SE:
        return None, "separation", (
            f"quasi-separation: a coefficient beyond |{MAX_ABS_COEF:g}| or a standard error "
            f"beyond {MAX_SE:g} on the log-odds scale")
    if not res.converged or ConvergenceWarning in kinds:
        return None, "failed", "the model did not converge"
    if HessianInversionWarning in kinds:
        return None, "failed", "the information matrix could not be inverted"
    return res, "ok", ""


def effect_for(design: Design, answers: pd.Series) -> EffectResult:
    """The group's adjusted odds ratio (first level vs second) for one question."""
    if design.missing_columns:
        return EffectResult(None, None, None, 0, "failed",
                            "covariates not in the data: " + ", ".join(design.missing_columns))
    classes = answer_classes(answers)
    rows = (design.pattern_id >= 0) & ((classes == YES) | (classes == NO))
    n_patterns = len(design.patterns)
    pid = design.pattern_id[rows]
    trials = np.bincount(pid, minlength=n_patterns)
    successes = np.bincount(pid, weights=(classes[rows] == YES), minlength=n_patterns)
    return effect_from_patterns(design.by, design.names, design.level_names,
                                design.patterns, trials, successes)


def effect_from_patterns(by: str, names: Sequence[str],
                         level_names: Sequence[Sequence[str]], patterns: np.ndarray,
                         trials: np.ndarray, successes: np.ndarray) -> EffectResult:
    """The group's adjusted odds ratio from yes counts per covariate pattern.

    ``patterns`` holds one row per pattern: the group code (1 = first level) then each
    covariate's level index into ``level_names``; ``trials`` and ``successes`` are the
    yes/no answers and the yes answers in it. Patterns may come from rows (`effect_for`)
    or straight from a SQL ``GROUP BY`` (`stats.aggregate`): the model is the same.
    """
    trials = np.asarray(trials, dtype=float)
    successes = np.asarray(successes, dtype=float)
    seen = trials > 0
    patterns, trials, successes = patterns[seen], trials[seen], successes[seen]
    n = int(trials.sum())
    events = int(min(successes.sum(), n - successes.sum()))
    if n == 0 or np.unique(patterns[:, 0]).size < 2:
        return EffectResult(None, None, None, n, "single_level",
                            f"{by} has fewer than two levels among the rows used")
    if events == 0:
        return EffectResult(None, None, None, n, "single_level",
                            "the answer has one level among the rows used")
    columns, dropped, separated = [np.ones(len(patterns))], [], []
    for j, (name, levels_of) in enumerate(zip(names, level_names, strict=True)):
        codes = patterns[:, j]
        level_n = np.bincount(codes, weights=trials, minlength=len(levels_of))
        level_yes = np.bincount(codes, weights=successes, minlength=len(levels_of))
        present = np.flatnonzero(level_n)
        if present.size < 2:
            dropped.append(name)  # the group itself was handled above
            continue
        # A level in which every answer is the same: quasi-complete separation (see the
        # module docstring: no finite estimate exists).
        separated += [f"{name}={levels_of[int(i)]}" for i in present
                      if level_yes[i] == 0 or level_yes[i] == level_n[i]]
        for level in present[1:]:  # the first present level is the reference
            columns.append((codes == level).astype(float))
    used = tuple(name for name in names[1:] if name not in dropped)
    parameters = len(columns) - 1
    if separated:
        return EffectResult(None, None, None, n, "separation",
                            "every answer is the same within " + ", ".join(separated[:5])
                            + (" ..." if len(separated) > 5 else ""),
                            events, parameters, tuple(dropped), used)
    res, status, message = _fit(successes, trials, np.column_stack(columns))
    if res is None:
        return EffectResult(None, None, None, n, status, message, events, parameters,
                            tuple(dropped), used)
    ci = np.exp(np.asarray(res.conf_int())[1])
    notes = []
    status = "ok"
    if dropped:
        status = "single_level"
        notes.append("dropped (one level among the rows used): " + ", ".join(dropped))
    if events < MIN_EVENTS_PER_PARAMETER * parameters:
        status = "too_few_events"
        notes.insert(0, f"{events} events for {parameters} parameters "
                        f"(fewer than {MIN_EVENTS_PER_PARAMETER} per parameter)")
    return EffectResult(float(np.exp(res.params[1])), (float(ci[0]), float(ci[1])),
                        float(res.pvalues[1]), n, status, "; ".join(notes), events,
                        parameters, tuple(dropped), used)


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
