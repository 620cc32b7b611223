"""Agreement coefficients of two raters, computed from their k x k cross-table.

Every function takes cross-tables of counts (first rater in rows, second in columns,
categories in the same order on both axes) with any number of leading batch axes, so one
call evaluates all bootstrap resamples at once.  A coefficient that is 0/0 for a table
comes back as NaN; the caller decides what to say about it.

Krippendorff's alpha for a reported value comes from the ``krippendorff`` package
(``krippendorff_alpha``); ``alpha_two_raters`` is its closed form for two raters, nominal
data and no missing values, used only to evaluate thousands of bootstrap resamples in one
array operation (the tests hold it equal to the package).
"""

from __future__ import annotations

import krippendorff
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _parts(tables: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, int]:
    """Pairs, observed agreement, row and column shares, and the number of categories."""
    t = np.asarray(tables, dtype=float)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError(f"a cross-table must be square, got shape {t.shape}")
    n = t.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        po = np.trace(t, axis1=-2, axis2=-1) / n
        rows = t.sum(axis=-1) / n[..., None]
        cols = t.sum(axis=-2) / n[..., None]
    return n, po, rows, cols, t.shape[-1]


def observed_agreement(tables: npt.ArrayLike) -> FloatArray:
    """Share of pairs on the diagonal (0-1)."""
    return _parts(tables)[1]


def pabak(tables: npt.ArrayLike) -> FloatArray:
    """Prevalence- and bias-adjusted kappa, (k Po - 1) / (k - 1) for k categories.

    For two categories this is Byrt, Bishop and Carlin's 2 Po - 1.  With one category
    it is 0/0 (NaN).
    """
    _, po, _, _, k = _parts(tables)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray((k * po - 1.0) / (k - 1.0) if k > 1 else np.full_like(po, np.nan))


def gwet_ac1(tables: npt.ArrayLike) -> FloatArray:
    """Gwet's AC1 (Gwet 2008): (Po - Pe) / (1 - Pe), Pe = sum_q pi_q (1 - pi_q) / (k - 1).

    ``pi_q`` is the share of all ratings (both raters) in category q.  For k >= 2,
    Pe <= 1/k, so AC1 is defined for every table with two or more categories.
    """
    _, po, rows, cols, k = _parts(tables)
    if k < 2:
        return np.full_like(po, np.nan)
    pi = (rows + cols) / 2.0
    pe = (pi * (1.0 - pi)).sum(axis=-1) / (k - 1.0)
    return np.asarray((po - pe) / (1.0 - pe))


def alpha_two_raters(tables: npt.ArrayLike) -> FloatArray:
    """Krippendorff's alpha, nominal, for two raters who both rated every unit.

    With N = 2n values and n_c the ratings in category c (both raters), the coincidence
    matrix gives alpha = 1 - (N - 1) * 2 D / (N^2 - sum_c n_c^2), D the disagreeing
    pairs (Krippendorff 2011, "Computing Krippendorff's alpha-reliability", section C).
    It is 0/0 (NaN) when every rating is in one category.
    """
    t = np.asarray(tables, dtype=float)
    n, po, _, _, _ = _parts(t)
    big_n = 2.0 * n
    n_c = t.sum(axis=-1) + t.sum(axis=-2)
    expected = big_n**2 - (n_c**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 1.0 - (big_n - 1.0) * 2.0 * n * (1.0 - po) / expected
    return np.asarray(np.where(expected > 0, value, np.nan))


def krippendorff_alpha(first: npt.ArrayLike, second: npt.ArrayLike) -> float:
    """Krippendorff's alpha (nominal) of two raters' integer codes, by the package.

    NaN marks a missing rating (that unit is not pairable and drops out).  Returns NaN
    when fewer than two categories occur, where alpha is 0/0.
    """
    data = np.vstack([np.asarray(first, dtype=float), np.asarray(second, dtype=float)])
    if np.unique(data[~np.isnan(data)]).size < 2:
        return float("nan")
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
