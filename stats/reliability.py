"""Inter-rater reliability between a primary rater and a QA rater on the same cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.inter_rater import cohens_kappa

from stats.counting import codes_for
from stats.results import QuestionInfo, Reliability, ReliabilityRow


def _pairs(primary: pd.Series, qa: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both raters' codes as strings, for cases where both answered."""
    both = primary.notna().to_numpy() & qa.notna().to_numpy()
    return (primary[both].astype(str).to_numpy(dtype=object),
            qa[both].astype(str).to_numpy(dtype=object))


def agreement_row(question_id: str, label: str, first: np.ndarray, second: np.ndarray,
                  confidence: float = 0.95) -> ReliabilityRow:
    """Percent agreement and Cohen's kappa for paired codes.

    Kappa, its standard error (Fleiss, Cohen and Everitt 1969, large-sample, non-null)
    and the Wald interval come from statsmodels ``cohens_kappa``.
    """
    n = len(first)
    if n == 0:
        return ReliabilityRow(question_id, label, 0, None, None, None, None, "no_pairs")
    categories = tuple(sorted(set(first) | set(second)))
    k = len(categories)
    a = codes_for(pd.Series(first, dtype=object), categories)
    b = codes_for(pd.Series(second, dtype=object), categories)
    table = np.bincount(a * k + b, minlength=k * k).reshape(k, k)
    agreement = 100.0 * float(np.trace(table)) / n
    p_rows, p_cols = table.sum(axis=1) / n, table.sum(axis=0) / n
    if np.isclose(float(p_rows @ p_cols), 1.0):
        # Both raters used one and the same category: chance agreement is 1, kappa is 0/0.
        return ReliabilityRow(question_id, label, n, agreement, None, None, None, "undefined",
                              categories)
    with np.errstate(divide="ignore", invalid="ignore"):  # its z-test under H0 may be 0/0
        res = cohens_kappa(table, return_results=True)
    se = float(np.sqrt(max(float(res.var_kappa), 0.0)))
    z = float(sps.norm.isf((1 - confidence) / 2))
    kappa = float(res.kappa)
    return ReliabilityRow(question_id, label, n, agreement, kappa, se,
                          (kappa - z * se, kappa + z * se), "ok", categories)


def reliability(primary: pd.DataFrame, qa: pd.DataFrame, questions: Sequence[str],
                info: Mapping[str, QuestionInfo] | None = None, *,
                labels: Mapping[str, str] | None = None) -> Reliability:
    """Agreement per question and overall for cases rated by both (aligned on the index).

    Every code counts as a category, including "na"; a pair is used when both raters gave
    a code.  The overall row pools the pairs of all questions into one table.  Labels
    come from ``labels``, else ``info``, else the question id.
    """
    for name, frame in (("primary", primary), ("qa", qa)):
        if frame.index.has_duplicates:
            raise ValueError(f"{name} has duplicate case ids; give one rating per case")
    common = primary.index.intersection(qa.index)
    info = info or {}
    rows, pooled_first, pooled_second = [], [], []
    for question in questions:
        first, second = _pairs(primary.loc[common, question], qa.loc[common, question])
        label = (labels or {}).get(question) or (
            info[question].label if question in info else str(question))
        rows.append(agreement_row(question, label, first, second))
        pooled_first.append(first)
        pooled_second.append(second)
    overall = agreement_row(
        "overall", "All questions",
        np.concatenate(pooled_first) if pooled_first else np.array([], dtype=object),
        np.concatenate(pooled_second) if pooled_second else np.array([], dtype=object))
    return Reliability(tuple(rows), overall, len(common))
