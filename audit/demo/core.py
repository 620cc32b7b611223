"""The 2018/19 core programme: Figure 5.2's 268 IOM and 2,979 non-IOM cases, scalable.

Generated in chunks (one random stream each), so a national-scale benchmark set of
100,000 cases keeps the published proportions and bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from audit.demo import published
from audit.demo.allocation import (
    allocate,
    answer_order,
    case_frame,
    long_answers,
    random_dates,
    shuffled,
    split_counts,
)
from audit.demo.people import CORE_INSPECTORS
from audit.demo.scores import RO_QUESTIONS, factor_score, is_in, na_score, practice_score
from audit.rules import applicable_mask
from question_sets import QuestionSet

CHUNK_CASES = 20_000

CORE_IOM, CORE_NON_IOM = published.CORE_IOM, published.CORE_NON_IOM
CORE_DEFAULT_CASES = CORE_IOM + CORE_NON_IOM
FIG_5_2 = published.comparison_counts()
LINKED_CORE_IOM = published.linked("core_iom")
DELIVERED_CORE_IOM = published.delivered("core_iom")

# Not published: plausible non-IOM rates (linked %, delivered yes %), a little below IOM.
NON_IOM_FACTORS = dict(zip(published.factors(), ((50, 36), (42, 38), (74, 40), (52, 38), (44, 55),
                                     (38, 50), (30, 42), (32, 60)), strict=True))


# Figure 2.2: index offences of the core programme's IOM cases (266 of 268 known).
# Typed as CORE_MIX holds its mixes (a None key: offence not known).
CORE_IOM_OFFENCES: Mapping[object, float] = {
    "violence": 76, "breach_order": 17, "sexual": 3, "burglary": 57, "robbery": 8, "theft": 70,
    "fraud": 3, "criminal_damage": 3, "drugs": 12, "motoring": 10, "other": 7, None: 2}

CORE_NON_IOM_OFFENCES: Mapping[object, float] = {
    "violence": 30, "breach_order": 5, "sexual": 6, "burglary": 6, "robbery": 3, "theft": 12,
    "fraud": 4, "criminal_damage": 5, "drugs": 12, "motoring": 10, "other": 7}


# Made-up-but-plausible areas of the 2018/19 programme: the seven NPS divisions and some CRCs.
CORE_NPS_SITES = ("NPS London", "NPS Midlands", "NPS North East", "NPS North West",
                  "NPS South East and Eastern", "NPS South West and South Central", "NPS Wales")

CORE_CRC_SITES = ("CRC Durham Tees Valley", "CRC Merseyside", "CRC Greater Manchester",
                  "CRC West Midlands", "CRC Bristol and Gloucestershire", "CRC Essex",
                  "CRC Wales")


# Case mix of the 2018/19 core programme by IOM status (True = IOM). IOM cases are mostly
# CRC (173 of 268), on licence, prolific and likely to reoffend; their offences follow
# Figure 2.2. Non-IOM proportions are plausible, not published.
CORE_MIX: Mapping[bool, Mapping[str, Mapping[object, float]]] = {
    True: {
        "provider": {"crc": 173, "nps": 95},
        "case_type": {"post_release": 0.68, "community": 0.32},
        "likelihood": {"high": 0.66, "medium": 0.3, "low": 0.04},
        "domestic_abuse": {True: 0.5, False: 0.5},
        "child_safeguarding": {True: 0.3, False: 0.7},
        "index_offence": CORE_IOM_OFFENCES,
        "prev_convictions": {"21_plus": 0.55, "11_20": 0.25, "1_10": 0.18, "0": 0.02},
        "age_band": {"18_25": 0.25, "26_35": 0.4, "36_55": 0.33, "56_plus": 0.02},
        "gender": {"male": 0.92, "female": 0.08},
        "ethnicity": {"white": 0.8, "black": 0.08, "asian": 0.05, "mixed": 0.05,
                      "other": 0.01, "not_known": 0.01},
        "ro_interviewed": {True: 0.7, False: 0.3},
    },
    False: {
        "provider": {"nps": 0.45, "crc": 0.55},
        "case_type": {"community": 0.62, "post_release": 0.38},
        "likelihood": {"low": 0.3, "medium": 0.45, "high": 0.25},
        "domestic_abuse": {True: 0.35, False: 0.65},
        "child_safeguarding": {True: 0.3, False: 0.7},
        "index_offence": CORE_NON_IOM_OFFENCES,
        "prev_convictions": {"21_plus": 0.2, "11_20": 0.2, "1_10": 0.45, "0": 0.15},
        "age_band": {"18_25": 0.22, "26_35": 0.33, "36_55": 0.38, "56_plus": 0.07},
        "gender": {"male": 0.85, "female": 0.15},
        "ethnicity": {"white": 0.82, "black": 0.07, "asian": 0.05, "mixed": 0.04,
                      "other": 0.01, "not_known": 0.01},
        "ro_interviewed": {True: 0.55, False: 0.45},
    },
}


# The NPS supervises high-risk cases, CRCs low and medium risk ones.
ROSH_BY_PROVIDER = {"nps": {"low": 0.03, "medium": 0.4, "high": 0.5, "very_high": 0.07},
                    "crc": {"low": 0.3, "medium": 0.67, "high": 0.03}}

MAPPA_BY_PROVIDER = {"nps": {"none": 0.55, "1": 0.35, "2": 0.08, "3": 0.02},
                     "crc": {"none": 0.97, "1": 0.03}}

NPS_SITE_WEIGHTS = (0.2, 0.16, 0.15, 0.16, 0.13, 0.12, 0.08)


@dataclass(frozen=True)
class Chunk:
    """One slice of the core inspection: its number, first case, size and IOM cases."""

    number: int
    start: int
    size: int
    iom: int


def core_chunks(cases: int, chunk_cases: int = CHUNK_CASES) -> list[Chunk]:
    """Split the core inspection into chunks of at most `chunk_cases`, keeping the IOM share."""
    iom_total = round(cases * CORE_IOM / CORE_DEFAULT_CASES)
    sizes = split_counts([1.0] * math.ceil(cases / chunk_cases), cases)
    iom = split_counts(sizes.tolist(), iom_total)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [Chunk(i, int(s), int(n), int(k))
            for i, (s, n, k) in enumerate(zip(starts, sizes, iom, strict=True))]


def core_profiles(rng: np.random.Generator, chunk: Chunk) -> pd.DataFrame:
    """Profiles of one chunk of core cases, exact proportions within each IOM group."""
    n = chunk.size
    iom = shuffled(rng, {True: chunk.iom, False: n - chunk.iom}, n).astype(bool)
    columns: dict[str, np.ndarray] = {}
    for column in CORE_MIX[True]:
        columns[column] = np.empty(n, dtype=object)
        for group in (True, False):
            idx = np.flatnonzero(iom == group)
            columns[column][idx] = shuffled(rng, CORE_MIX[group][column], len(idx))
    for column, mix in (("rosh", ROSH_BY_PROVIDER), ("mappa_level", MAPPA_BY_PROVIDER)):
        columns[column] = np.empty(n, dtype=object)
        for provider, dist in mix.items():
            idx = np.flatnonzero(columns["provider"] == provider)
            columns[column][idx] = shuffled(rng, dist, len(idx))
    refs = np.array([f"DEMO-C-{chunk.start + i + 1:06d}" for i in range(n)], dtype=object)
    return pd.DataFrame({
        "case_ref": refs, "iom": iom.astype(object), "status": "complete", **columns,
        "site": _core_sites(rng, columns["provider"]),
        "start_date": random_dates(rng, date(2017, 7, 1), date(2019, 1, 31), n),
    }, dtype=object)


def _core_sites(rng: np.random.Generator, provider: np.ndarray) -> np.ndarray:
    sites = np.empty(len(provider), dtype=object)
    for names, weights, code in ((CORE_NPS_SITES, NPS_SITE_WEIGHTS, "nps"),
                                 (CORE_CRC_SITES, [1.0] * len(CORE_CRC_SITES), "crc")):
        idx = np.flatnonzero(provider == code)
        sites[idx] = shuffled(rng, dict(zip(names, weights, strict=True)), len(idx))
    return sites


def _scaled(published: int, size: int, published_size: int) -> int:
    return round(published * size / published_size)


def _core_counts(qid: str, iom: bool, eligible: int, size: int) -> dict[str, int]:
    """Exact counts for one question in one IOM group of a chunk.

    `size` is the group's number of cases in the chunk; published ns and rates are scaled
    from the published group size, so the default demo has exactly the published ns.
    """
    published_size = CORE_IOM if iom else CORE_NON_IOM
    if qid in FIG_5_2:
        non_pct, non_n, iom_pct, iom_n = FIG_5_2[qid]
        pct, n = (iom_pct, iom_n) if iom else (non_pct, non_n)
        answered = min(eligible, _scaled(n, size, published_size))
        yes = round(pct * answered / 100)
        return {"rest": eligible - answered, "yes": yes, "no": answered - yes}
    kind, factor = qid.split(".")[2], qid.split(".")[1]
    if iom and kind == "linked":
        yes = min(eligible, _scaled(LINKED_CORE_IOM[factor], size, published_size))
        return {"rest": 0, "yes": yes, "no": eligible - yes}
    if iom:  # delivered: the published n leaves a few linked cases unanswered
        y, no = DELIVERED_CORE_IOM[factor]
        answered = min(eligible, round(eligible * (y + no) / LINKED_CORE_IOM[factor]))
        yes = round(answered * y / (y + no))
        return {"rest": eligible - answered, "yes": yes, "no": answered - yes}
    linked_pct, delivered_pct = NON_IOM_FACTORS[factor]
    yes = round(eligible * (linked_pct if kind == "linked" else delivered_pct) / 100)
    return {"rest": 0, "yes": yes, "no": eligible - yes}


def _rest_code(qid: str, qs: QuestionSet) -> str | None:
    """What cases outside the published n get: 'na' where allowed, else no answer."""
    return "na" if qs.question(qid).allows_na else None


def _core_scores(qid: str, cases: pd.DataFrame, quality: np.ndarray,
                 answered_hint: np.ndarray) -> dict[str, np.ndarray]:
    if qid.endswith(".linked"):
        yes = factor_score(qid.split(".")[1], cases)
    elif qid.endswith(".delivered"):
        yes = 0.7 * quality + 0.3 * is_in(cases, "case_type", "post_release")
    else:
        yes = practice_score(qid, cases, quality)
    if qid in RO_QUESTIONS:  # 'na' where the responsible officer was not interviewed
        rest = -5.0 * answered_hint - (na_score(qid, cases) if qid == "ro.agencies_harm" else 0)
    elif qid in FIG_5_2:
        rest = na_score(qid, cases)
    else:
        rest = np.zeros(len(cases))
    return {"rest": rest + 0.0, "yes": yes}


def core_answers(rng: np.random.Generator, qs: QuestionSet,
                 cases: pd.DataFrame) -> dict[str, np.ndarray]:
    """Primary answers of one chunk: question id -> value per case (None = unanswered)."""
    n = len(cases)
    quality = rng.normal(0.0, 1.0, size=n)
    interviewed = cases["ro_interviewed"].to_numpy(dtype=bool)
    iom = cases["iom"].to_numpy(dtype=bool)
    answers: dict[str, np.ndarray] = {}
    for qid in answer_order(qs):
        values = np.full(n, None, dtype=object)
        if qid in FIG_5_2 or qid.startswith("factor."):
            eligible = applicable_mask(qs, qid, cases, answers)
            scores = _core_scores(qid, cases, quality, interviewed.astype(float))
            for group in (True, False):
                idx = np.flatnonzero(eligible & (iom == group))
                counts = _core_counts(qid, group, len(idx), int((iom == group).sum()))
                got = allocate(rng, counts, {c: s[idx] for c, s in scores.items()}, len(idx))
                rest = np.array(_rest_code(qid, qs), dtype=object)
                values[idx] = np.where(got == "rest", rest, got)
        answers[qid] = values
    return answers


def build_core_chunk(seed: int, qs: QuestionSet, chunk: Chunk
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One chunk of the core inspection: (cases frame, answers frame), vectorised."""
    rng = np.random.default_rng([seed, 2, chunk.number])
    cases = core_profiles(rng, chunk)
    answers = core_answers(rng, qs, cases)
    site_number = {s: i for i, s in enumerate(CORE_NPS_SITES + CORE_CRC_SITES)}
    inspectors = np.array(CORE_INSPECTORS, dtype=object)[
        cases["site"].map(site_number).to_numpy() % len(CORE_INSPECTORS)]
    refs = cases["case_ref"].to_numpy(dtype=object)
    return case_frame(cases), long_answers(refs, answers, inspectors)
