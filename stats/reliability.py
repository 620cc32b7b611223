"""Inter-rater reliability between a primary rater and a QA rater on the same cases."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from stats import agreement as coefficients
from stats.counting import codes_for
from stats.results import Interval, QuestionInfo, Reliability, ReliabilityRow

#: The statistics of a row, as the JSON names them (each also has ``<name>_ci``).
_STATISTICS = ("agreement", "kappa", "pabak", "ac1", "alpha")


#: Bootstrap settings for the intervals of AC1 and alpha (reported in ``methods``).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20190
BOOTSTRAP_METHOD = "BCa"
_BATCH_CELLS = 2_000_000  # drawn cases held in memory at once (x 8 bytes)
_ZERO_SE = 1e-9  # statsmodels' variance of a degenerate table is 0 up to rounding

NO_PAIRS = "no case was rated by both raters"
ONE_CATEGORY = ("every pair agrees on one answer, so chance agreement is certain and the "
                "chance-corrected coefficient is 0/0")
PERFECT_SE = ("perfect agreement: the large-sample standard error is 0, and an interval "
              "[1, 1] would claim a certainty the sample cannot give")
CONSTANT_RATER_SE = ("one rater gave one answer throughout: kappa is 0 whatever the other "
                     "rater does and its large-sample standard error is 0, which gives no "
                     "interval")
ZERO_SE = "the large-sample standard error is 0, which gives no interval"
ALL_AGREE_BOOT = ("every pair agrees, so every bootstrap resample gives the same value, "
                  "which gives no interval")
UNDEFINED_BOOT = ("the coefficient is 0/0 in some bootstrap resamples (they drew one "
                  "answer only), so there is no interval")
BCA_FAILED = "the BCa interval could not be computed (infinite bias correction)"
ONE_CASE_BOOT = ("the pairs come from one case only: resampling cases cannot vary them, "
                 "which gives no interval")


def _methods(confidence: float) -> dict[str, str]:
    level = f"{confidence:.0%}"
    boot = (f"{level} {BOOTSTRAP_METHOD} bootstrap, {BOOTSTRAP_RESAMPLES} resamples of "
            f"cases, seed {BOOTSTRAP_SEED} (scipy.stats.bootstrap)")
    return {"agreement_ci": f"{level} Wilson score interval (statsmodels proportion_confint)",
            "kappa_ci": (f"{level} Wald interval with the Fleiss-Cohen-Everitt large-sample "
                         "standard error (statsmodels cohens_kappa)"),
            "pabak_ci": "the Wilson interval of agreement mapped by (k Po - 1) / (k - 1)",
            "ac1_ci": boot, "alpha_ci": boot}


def _pairs(primary: pd.Series, qa: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both raters' codes as strings, and the case ids, for cases where both answered."""
    both = primary.notna().to_numpy() & qa.notna().to_numpy()
    return (primary[both].astype(str).to_numpy(dtype=object),
            qa[both].astype(str).to_numpy(dtype=object),
            primary.index[both].to_numpy(dtype=object))


def _bootstrap(case_tables: np.ndarray, k: int,
               coefficient: Callable[[np.ndarray], np.ndarray],
               confidence: float) -> tuple[Interval | None, str | None]:
    """Bootstrap interval of a coefficient, resampling cases (rows of ``case_tables``).

    ``case_tables`` holds each case's k x k cross-table flattened, so a resample's table
    is the sum over the drawn cases.  Returns the interval, or None and the reason.
    """
    n_cases = case_tables.shape[0]
    if n_cases < 2:  # scipy refuses a sample of one; there is nothing to resample
        return None, ONE_CASE_BOOT

    def statistic(cases: np.ndarray, axis: int = -1) -> np.ndarray:
        # cases: (..., m) drawn case numbers.  How often each case was drawn, times the
        # cases' tables, is each resample's table: O(m) per resample, not O(m k^2).
        draws = cases.reshape(-1, cases.shape[-1])
        offset = draws + n_cases * np.arange(draws.shape[0])[:, None]
        times = np.bincount(offset.ravel(), minlength=draws.shape[0] * n_cases)
        tables = times.reshape(draws.shape[0], n_cases) @ case_tables
        return coefficient(tables.reshape(*cases.shape[:-1], k, k))

    with warnings.catch_warnings():
        # Degenerate or undefined resamples make scipy warn; they are judged below.
        warnings.simplefilter("ignore")
        res = sps.bootstrap((np.arange(n_cases),), statistic, vectorized=True,
                            n_resamples=BOOTSTRAP_RESAMPLES, method=BOOTSTRAP_METHOD,
                            confidence_level=confidence,
                            batch=max(1, _BATCH_CELLS // n_cases),
                            random_state=np.random.default_rng(BOOTSTRAP_SEED))
    draws = np.asarray(res.bootstrap_distribution, dtype=float)
    defined = draws[np.isfinite(draws)]
    if defined.size and np.ptp(defined) == 0.0:
        return None, ALL_AGREE_BOOT
    if defined.size < draws.size:
        return None, UNDEFINED_BOOT
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):
        return None, BCA_FAILED
    return (low, high), None


def _case_tables(first: np.ndarray, second: np.ndarray, clusters: np.ndarray,
                 k: int) -> np.ndarray:
    """Each case's cross-table, flattened: shape (cases, k * k)."""
    case, _ = pd.factorize(pd.Series(clusters, dtype=object))
    tables = np.zeros((int(case.max()) + 1, k * k))
    np.add.at(tables, (case, first * k + second), 1.0)
    return tables


def agreement_row(question_id: str, label: str, first: np.ndarray, second: np.ndarray,
                  confidence: float = 0.95, *,
                  clusters: np.ndarray | None = None) -> ReliabilityRow:
    """Agreement, Cohen's kappa, PABAK, Gwet's AC1 and Krippendorff's alpha of paired codes.

    Kappa, its standard error (Fleiss, Cohen and Everitt 1969, large-sample, non-null)
    and the Wald interval come from statsmodels ``cohens_kappa``; alpha (nominal) from
    the ``krippendorff`` package.  Agreement has a Wilson interval and PABAK, a linear
    function of agreement, the same interval mapped; AC1 and alpha have a bootstrap
    interval that resamples ``clusters`` (the case of each pair; default: each pair is
    its own case), so pairs of one case stay together.  The categories are those either
    rater used.
    """
    n = len(first)
    methods = _methods(confidence)
    if n == 0:
        return ReliabilityRow(question_id, label, 0, None, None, None, None, "no_pairs",
                              reasons=dict.fromkeys(_STATISTICS, NO_PAIRS), methods=methods)
    categories = tuple(sorted(set(first) | set(second)))
    k = len(categories)
    a = codes_for(pd.Series(first, dtype=object), categories)
    b = codes_for(pd.Series(second, dtype=object), categories)
    table = np.bincount(a * k + b, minlength=k * k).reshape(k, k)
    agreed = int(np.trace(table))
    low, high = proportion_confint(agreed, n, alpha=1 - confidence, method="wilson")
    # Wilson's interval holds the estimate; at 0% or 100% rounding can put it a hair off.
    low, high = min(float(low), agreed / n), max(float(high), agreed / n)
    per_category = table.sum(axis=1) + table.sum(axis=0)
    common = int(np.argmax(per_category))
    shared: dict[str, Any] = {
        "categories": categories, "agreement_ci": (100.0 * low, 100.0 * high),
        "prevalence": 100.0 * float(per_category[common]) / (2 * n),
        "prevalence_category": categories[common], "methods": methods}
    agreement = 100.0 * agreed / n
    if k == 1:
        # Both raters used one and the same category: chance agreement is 1, and every
        # chance-corrected coefficient is 0/0.
        return ReliabilityRow(question_id, label, n, agreement, None, None, None, "undefined",
                              reasons=dict.fromkeys(_STATISTICS[1:], ONE_CATEGORY), **shared)
    reasons: dict[str, str] = {}
    with np.errstate(divide="ignore", invalid="ignore"):  # its z-test under H0 may be 0/0
        res = cohens_kappa(table, return_results=True)
    kappa = float(res.kappa)
    se: float | None = float(np.sqrt(max(float(res.var_kappa), 0.0)))
    kappa_ci: Interval | None = None
    if se is not None and se > _ZERO_SE:
        z = float(sps.norm.isf((1 - confidence) / 2))
        kappa_ci = (kappa - z * se, kappa + z * se)
    else:
        se = None
        one_rater = min(np.count_nonzero(table.sum(axis=1)), np.count_nonzero(table.sum(axis=0)))
        reasons["kappa_ci"] = (PERFECT_SE if agreed == n
                               else CONSTANT_RATER_SE if one_rater == 1 else ZERO_SE)
    cases = _case_tables(a, b, np.arange(n) if clusters is None else clusters, k)
    ac1_ci, why = _bootstrap(cases, k, coefficients.gwet_ac1, confidence)
    if why:
        reasons["ac1_ci"] = why
    alpha_ci, why = _bootstrap(cases, k, coefficients.alpha_two_raters, confidence)
    if why:
        reasons["alpha_ci"] = why
    return ReliabilityRow(
        question_id, label, n, agreement, kappa, se, kappa_ci, "ok",
        pabak=float(coefficients.pabak(table)),
        pabak_ci=((k * low - 1) / (k - 1), (k * high - 1) / (k - 1)),
        ac1=float(coefficients.gwet_ac1(table)), ac1_ci=ac1_ci,
        alpha=coefficients.krippendorff_alpha(a, b), alpha_ci=alpha_ci,
        reasons=reasons, **shared)


def reliability(primary: pd.DataFrame, qa: pd.DataFrame, questions: Sequence[str],
                info: Mapping[str, QuestionInfo] | None = None, *,
                labels: Mapping[str, str] | None = None) -> Reliability:
    """Agreement per question and overall for cases rated by both (aligned on the index).

    Every code counts as a category, including "na"; a pair is used when both raters gave
    a code (a case one rater left unanswered is no pair).  The overall row pools the
    pairs of all questions into one table; its bootstrap resamples whole cases.  Labels
    come from ``labels``, else ``info``, else the question id.
    """
    for name, frame in (("primary", primary), ("qa", qa)):
        if frame.index.has_duplicates:
            raise ValueError(f"{name} has duplicate case ids; give one rating per case")
    common = primary.index.intersection(qa.index)
    info = info or {}
    rows, pooled_first, pooled_second, pooled_cases = [], [], [], []
    for question in questions:
        first, second, cases = _pairs(primary.loc[common, question], qa.loc[common, question])
        label = (labels or {}).get(question) or (
            info[question].label if question in info else str(question))
        rows.append(agreement_row(question, label, first, second, clusters=cases))
        pooled_first.append(first)
        pooled_second.append(second)
        pooled_cases.append(cases)

    def pooled(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.array([], dtype=object)

    # The bootstrap resamples cases, so a case's pairs on every question move together.
    overall = agreement_row("overall", "All questions", pooled(pooled_first),
                            pooled(pooled_second), clusters=pooled(pooled_cases))
    return Reliability(tuple(rows), overall, len(common))
