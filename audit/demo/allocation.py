"""Exact counts at random: the draws every part of the demo is built from.

Exact counts come from shuffled allocation, never from independent coin flips: each
answer is given to the k cases with the highest "score + logistic noise", where the score
carries the case's profile and a hidden practice-quality level. So the counts match the
report exactly, while answers still relate to the profile and to each other. Only
numpy's `default_rng` draws random numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd

from question_sets import QuestionSet
from question_sets.profile import PROFILE


def split_counts(weights: Sequence[float], n: int) -> np.ndarray:
    """Split n into integer counts proportional to weights (largest remainder, stable)."""
    w = np.asarray(weights, dtype=float)
    if n <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=int)
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts

K = TypeVar("K")  # a mix's codes: profile codes, booleans, None for unknown


def shuffled(rng: np.random.Generator, codes: Mapping[K, float], n: int) -> np.ndarray:
    """n codes in random order with exact counts proportional to the mapping's weights."""
    counts = split_counts(list(codes.values()), n)
    values = np.empty(n, dtype=object)
    values[:] = np.repeat(np.array(list(codes), dtype=object), counts)
    return rng.permutation(values)


def top_k(rng: np.random.Generator, scores: np.ndarray, k: int) -> np.ndarray:
    """Mask of exactly k items: the highest `score + logistic noise`.

    This is a logistic model whose intercept is set so that exactly k are chosen.
    """
    n = len(scores)
    mask = np.zeros(n, dtype=bool)
    k = max(0, min(k, n))
    noisy = np.asarray(scores, dtype=float) + rng.logistic(size=n)
    if k:
        mask[np.argpartition(-noisy, k - 1)[:k]] = True
    return mask


def allocate(rng: np.random.Generator, counts: Mapping[str, int],
             scores: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Give n items codes with exact counts: each code but the last goes to the top scorers."""
    if sum(counts.values()) != n:
        raise ValueError(f"counts {dict(counts)} do not add up to {n}")
    values = np.empty(n, dtype=object)
    free = np.ones(n, dtype=bool)
    codes = list(counts)
    for code in codes[:-1]:
        idx = np.flatnonzero(free)
        chosen = idx[top_k(rng, scores.get(code, np.zeros(n))[idx], counts[code])]
        values[chosen] = code
        free[chosen] = False
    values[free] = codes[-1]
    return values


def random_dates(rng: np.random.Generator, start: date, end: date, n: int) -> np.ndarray:
    days = rng.integers(0, (end - start).days + 1, size=n)
    out = np.empty(n, dtype=object)
    out[:] = [start + timedelta(days=int(d)) for d in days]
    return out


def fixed_then(rng: np.random.Generator, n: int, fixed_at: int, fixed: object,
                rest: Mapping[K, float]) -> np.ndarray:
    """One fixed value at position `fixed_at`, exact shuffled counts everywhere else."""
    values = np.empty(n, dtype=object)
    others = np.arange(n) != fixed_at
    values[others] = shuffled(rng, rest, n - 1)
    values[fixed_at] = fixed
    return values


def answer_order(qs: QuestionSet) -> list[str]:
    """Questions in an order where every rule's answers are generated before it."""
    later = []
    for qid in qs.rule_order:
        rule = qs.question(qid).rule
        assert rule is not None  # rule_order only lists questions with rules
        if rule.question_ids:
            later.append(qid)
    return [q.id for q in qs.questions if q.id not in later] + later


def long_answers(refs: np.ndarray, answers: Mapping[str, np.ndarray],
                  inspectors: np.ndarray, rater: str = "primary") -> pd.DataFrame:
    """Wide answers (question -> value per case) as rows of the bulk answers frame."""
    rows, qids, values = [], [], []
    for qid, column in answers.items():
        idx = np.flatnonzero(pd.notna(column))
        rows.append(idx)
        qids.append(np.full(len(idx), qid, dtype=object))
        values.append(column[idx])
    idx = np.concatenate(rows)
    # Case by case, in question order: the answer table's indexes (case, question) then
    # grow at their end instead of being written all over, which makes inserts faster.
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    # Object columns: pandas would otherwise convert every string to Arrow and back.
    return pd.DataFrame({"case_ref": refs[idx], "question_id": np.concatenate(qids)[order],
                         "value": np.concatenate(values)[order], "rater": rater,
                         "inspector": inspectors[idx]}, dtype=object)


def case_frame(cases: pd.DataFrame) -> pd.DataFrame:
    """The columns upsert_cases takes, with missing values as None (never NaN)."""
    out = {}
    for column in ("case_ref", "site", "status", *PROFILE):
        values = cases[column].to_numpy(dtype=object) if column in cases \
            else np.full(len(cases), None, dtype=object)
        out[column] = np.where(pd.isna(values), np.array(None, dtype=object), values)
    return pd.DataFrame(out, dtype=object)
