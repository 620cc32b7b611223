"""How a case's profile leans its answers: log-odds scores for the allocation.

The case mix is what the chapter 5 regression controls for, so the demo's answers carry
real confounding for the independent-effect model to find.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RO_QUESTIONS = ("ro.agencies_desistance", "ro.agencies_harm")


def is_in(cases: pd.DataFrame, column: str, *codes: object) -> np.ndarray:
    """1.0 where the case's `column` holds one of `codes`, else 0.0."""
    return cases[column].isin(codes).to_numpy(dtype=float)


def factor_score(factor: str, cases: pd.DataFrame) -> np.ndarray:
    """How strongly the profile suggests a factor is linked to offending (log-odds scale)."""
    acquisitive = is_in(cases, "index_offence", "burglary", "theft", "robbery", "drugs")
    violent = is_in(cases, "index_offence", "violence", "breach_order")
    da = cases["domestic_abuse"].eq(True).to_numpy(dtype=float)
    young = is_in(cases, "age_band", "18_25")
    prolific = is_in(cases, "prev_convictions", "21_plus")
    scores = {
        "attitudes": 0.8 * violent + 0.4 * prolific,
        "family": 1.2 * da,
        "thinking": 0.5 * violent + 0.3 * prolific,
        "lifestyle": 0.8 * acquisitive + 0.6 * young,
        "drugs": 1.4 * acquisitive + 0.4 * prolific,
        "alcohol": 0.8 * violent + 0.6 * da - 0.4 * acquisitive,
        "ete": 1.0 * young,
        "accommodation": 0.8 * is_in(cases, "case_type", "post_release") + 0.3 * acquisitive,
    }
    return scores[factor]


def family(qid: str) -> str:
    """Which kind of practice a question judges: engage, delivery, safe or desist."""
    if qid in ("2.1.1", "2.2.1", "2.3.1"):
        return "engage"
    if qid in ("2.3.2", "ro.agencies_desistance"):
        return "delivery"
    if qid in ("2.1.3", "2.2.3", "2.3.3", "2.4.3", "ro.agencies_harm") or qid.startswith("safe."):
        return "safe"
    return "desist"


def practice_score(qid: str, cases: pd.DataFrame, quality: np.ndarray) -> np.ndarray:
    """Log-odds that practice is judged sufficient: practice quality plus case mix.

    The case mix is what the chapter 5 regression controls for. Licence cases (two
    thirds of IOM cases, a third of the others) engage better and get more services, so
    for engagement and delivery the case mix explains the IOM difference away, as it did
    for four of the twelve published questions and the RO desistance question. Elsewhere
    IOM keeps an effect of its own: high-likelihood cases (most IOM cases) are harder to
    move on, and high-risk and NPS cases get more attention to keeping people safe.
    """
    nps = is_in(cases, "provider", "nps")
    post = is_in(cases, "case_type", "post_release")
    lik_high = is_in(cases, "likelihood", "high")
    lik_med = is_in(cases, "likelihood", "medium")
    high_risk = is_in(cases, "rosh", "high", "very_high")
    da = cases["domestic_abuse"].eq(True).to_numpy(dtype=float)
    kind = family(qid)
    if kind == "engage":
        mix = 1.4 * post
    elif kind == "delivery":
        mix = 1.2 * post
    elif kind == "safe":
        mix = 0.4 * nps + 0.4 * high_risk - 0.3 * da
    else:
        mix = 0.2 * nps + 0.4 * post - 0.5 * lik_high - 0.2 * lik_med
    return quality + mix


def na_score(qid: str, cases: pd.DataFrame) -> np.ndarray:
    """Log-odds that an 'in relevant cases' question is not applicable to the case."""
    if family(qid) == "safe":
        return (2.0 * is_in(cases, "rosh", "low") - 1.0 * cases["domestic_abuse"].eq(True)
                .to_numpy(dtype=float) - 1.0 * is_in(cases, "rosh", "high", "very_high"))
    return 1.0 * is_in(cases, "case_type", "community") + 0.5 * is_in(cases, "likelihood", "low")
