"""A realistic synthetic demo: the 2019 IOM thematic sample and the 2018/19 core programme.

Everything is made up, but follows the published figures of the 2020 joint thematic
inspection of IOM (seed 002): the 60-case fieldwork sample of Annex 2 and chapter 4,
with exact counts wherever the report gives one (Figures 4.3, 4.6, 4.7, 5.1), and the
core-programme comparison of Figure 5.2 (268 IOM and 2,979 non-IOM cases), scalable to
a national-scale benchmark set with ``cases``.

Exact counts come from shuffled allocation, never from independent coin flips: each
answer is given to the k cases with the highest "score + logistic noise", where the score
carries the case's profile and a hidden practice-quality level. So the counts match the
report exactly, while answers still relate to the profile (the logistic regression of
chapter 5 has real confounding to control for) and to each other.

Applicability is always decided by the question set (``qs.applicable``), never by
rules copied here. Only numpy's ``default_rng`` draws random numbers: one stream for the
thematic sample and one per chunk of core cases, so the same seed gives the same data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import col, select

from audit.store.engine import Database
from audit.errors import UsageError
from audit.identity import initials as initials_of
from audit.inspections import create_inspection
from audit.store.models import Inspection, Inspector, Site, table_of
from question_sets import QuestionSet, load_set
from question_sets.profile import PROFILE

WHO = "iom-audit demo"
DEFAULT_SEED = 2019
CHUNK_CASES = 20_000

THEMATIC_NAME = "iom-thematic-2019"
THEMATIC_SET = "iom-thematic-2019"
CORE_NAME = "core-2018-19"
CORE_SET = "hmip-adult-2018"

# --------------------------------------------------------------------------- published
# Annex 2: the seven fieldwork sites, with NPS division, CRC and police force.
THEMATIC_SITES: tuple[tuple[str, str, str, str], ...] = (
    ("Waltham Forest", "London", "London", "Metropolitan"),
    ("Sheffield", "North East", "South Yorkshire", "South Yorkshire"),
    ("Stockport", "North West", "Cheshire & Greater Manchester", "Greater Manchester"),
    ("Colwyn Bay", "Wales", "Wales", "North Wales"),
    ("Cumbria", "North West", "Cumbria and Lancashire", "Cumbria"),
    ("Surrey", "South East", "Kent, Surrey & Sussex", "Surrey"),
    ("Warwickshire", "Midlands", "Warwickshire and West Mercia", "Warwickshire"),
)
THEMATIC_CASES = 60
CORE_IOM, CORE_NON_IOM = 268, 2_979  # Figure 5.2 and section 5.3: 3,247 with IOM status
CORE_DEFAULT_CASES = CORE_IOM + CORE_NON_IOM

FACTORS = ("attitudes", "family", "thinking", "lifestyle", "drugs", "alcohol", "ete",
           "accommodation")
# Figure 4.3: cases where the factor was linked to offending (thematic of 59; core IOM of 268).
LINKED_THEMATIC = dict(zip(FACTORS, (26, 25, 49, 34, 39, 24, 4, 27), strict=True))
LINKED_CORE_IOM = dict(zip(FACTORS, (156, 120, 214, 202, 218, 84, 47, 106), strict=True))
# Figure 4.6: sufficient services delivered (yes, no) where the factor was linked.
DELIVERED_THEMATIC = dict(zip(FACTORS, ((10, 16), (8, 17), (19, 30), (13, 21), (17, 22),
                                        (11, 13), (3, 1), (19, 8)), strict=True))
DELIVERED_CORE_IOM = dict(zip(FACTORS, ((54, 99), (44, 76), (84, 127), (78, 121), (129, 87),
                                        (43, 38), (20, 26), (70, 35)), strict=True))
# Not published: plausible non-IOM rates (linked %, delivered yes %), a little below IOM.
NON_IOM_FACTORS = dict(zip(FACTORS, ((50, 36), (42, 38), (74, 40), (52, 38), (44, 55),
                                     (38, 50), (30, 42), (32, 60)), strict=True))

# Figure 5.2: (non-IOM %, non-IOM n, IOM %, IOM n) per question; n excludes 'na'.
FIG_5_2: Mapping[str, tuple[int, int, int, int]] = {
    "2.1.1": (71, 2976, 78, 268), "2.1.2": (68, 2978, 79, 268),
    "2.1.3": (60, 2974, 69, 268), "2.2.1": (66, 2967, 72, 267),
    "2.2.2": (66, 2968, 78, 268), "2.2.3": (52, 2401, 67, 235),
    "2.3.1": (74, 2971, 81, 268), "2.3.2": (55, 2962, 60, 266),
    "2.3.3": (48, 2408, 63, 235), "2.4.1": (69, 2439, 79, 234),
    "2.4.2": (64, 2186, 74, 202), "2.4.3": (49, 1658, 61, 166),
    "ro.agencies_desistance": (82, 1385, 88, 163), "ro.agencies_harm": (79, 1346, 89, 160),
}

# Thematic sample, exact counts by code in allocation order (the last code takes the rest).
# Sources: chapter 4 text, Figures 4.3, 4.6 and 5.1; "~" marks a rate read from a chart or
# a phrase ("just under half"), turned into a count of 59.
THEMATIC_COUNTS: dict[str, dict[str, int]] = {
    "2.1.1": {"yes": 43, "no": 16},  # 72 per cent
    "2.1.2": {"yes": 50, "no": 9},  # 50 of 59
    "2.1.3": {"yes": 35, "no": 24},  # ~ Figure 4.9: keeping safe lower
    "2.2.1": {"yes": 41, "no": 18},  # 69 per cent
    "2.2.2": {"yes": 44, "no": 15},  # three quarters
    "2.2.3": {"na": 7, "yes": 28, "no": 24},
    "2.3.1": {"yes": 45, "no": 14},
    "2.3.2": {"yes": 33, "no": 26},
    "2.3.3": {"na": 7, "yes": 26, "no": 26},
    "2.4.1": {"na": 4, "yes": 38, "no": 17},
    "2.4.2": {"na": 4, "yes": 35, "no": 20},
    "2.4.3": {"na": 10, "yes": 22, "no": 27},
    "iom.reasons_known": {"yes": 43, "no": 16},  # 43 of 59
    "iom.explained": {"yes": 28, "no": 31},  # fewer than half
    "iom.partner_info": {"yes": 31, "no": 28},  # just over half
    "iom.plan_requirements": {"yes": 21, "no": 38},  # 21 of 59
    "iom.plan_roles": {"yes": 26, "no": 33},  # less than half
    "iom.supported_engage": {"yes": 46, "no": 14},  # more than three quarters
    "iom.complied": {"yes": 29, "no": 31},  # 29 of 60
    "iom.recalled": {"yes": 23, "no": 19},  # 23 recalled (of the post-release cases)
    "iom.su_involved_review": {"yes": 16, "no": 43},  # 16 of 59
    "iom.review_adjusted": {"na": 4, "yes": 33, "no": 22},  # 33 of 55 applicable
    "iom.deselected": {"yes": 7, "no": 53},  # seven de-selected
    "iom.exit_strategy": {"yes": 1, "no": 6},  # an exit strategy in one of them
    "outcome.reoffended": {"yes": 20, "no": 38},  # Figure 5.1, of 58
    "outcome.frequency": {"reduced": 1, "increased": 6, "same": 13},
    "outcome.seriousness": {"reduced": 1, "increased": 4, "same": 15},
    **{f"factor.{f}.linked": {"yes": n, "no": 59 - n} for f, n in LINKED_THEMATIC.items()},
    **{f"factor.{f}.delivered": {"yes": y, "no": n} for f, (y, n) in DELIVERED_THEMATIC.items()},
}
# Questions the report gives no number for: rates of the cases they are asked of.
THEMATIC_RATES: dict[str, dict[str, float]] = {
    "safe.da_enquiries": {"yes": 0.45, "no": 0.55},
    "safe.safeguarding_enquiries": {"yes": 0.5, "no": 0.5},
    "safe.info_shared": {"yes": 0.5, "no": 0.5},
    "safe.victim_focus": {"na": 0.15, "yes": 0.35, "no": 0.5},
    "ro.agencies_desistance": {"yes": 0.84, "no": 0.16},
    "ro.agencies_harm": {"yes": 0.8, "no": 0.2},
}
RO_QUESTIONS = ("ro.agencies_desistance", "ro.agencies_harm")

# Figure 4.7 (codes of question_sets.profile); the non-statutory case has no index offence.
THEMATIC_OFFENCES = {"violence": 27, "breach_order": 4, "sexual": 2, "burglary": 11,
                     "robbery": 2, "theft": 6, "drugs": 2, "motoring": 3, "other": 2}
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

# Obviously fictional people; (name, role).
THEMATIC_INSPECTORS = ("Demo Inspector Ash", "Demo Inspector Birch", "Demo Inspector Hazel",
                       "Demo Inspector Rowan", "Demo Inspector Willow")
CORE_INSPECTORS = ("Demo Inspector Alder", "Demo Inspector Beech", "Demo Inspector Elm",
                   "Demo Inspector Holly", "Demo Inspector Juniper", "Demo Inspector Larch",
                   "Demo Inspector Poplar", "Demo Inspector Yew")
LEAD = "Demo Lead Cedar"
PEOPLE: tuple[tuple[str, str], ...] = (
    *((n, "inspector") for n in THEMATIC_INSPECTORS + CORE_INSPECTORS),
    (LEAD, "lead"), ("Demo Lead Oak", "lead"), ("Demo Researcher Maple", "researcher"),
)

QA_CASES = 10  # cases rated twice (primary and QA), then moderated where they disagree
QA_FLIP_SHARE = 0.11  # share of QA key answers that disagree: kappa about 0.7
IN_PROGRESS = 4  # statutory cases still being rated (the non-statutory one is a fifth)
# What an in-progress case has not reached yet (the last sections of the form).
NOT_YET = ("iom.partners", "safe.info_shared", "safe.victim_focus", *RO_QUESTIONS)
# The non-statutory case: no assessment, no plan (he refused to comply); only these apply.
NON_STATUTORY_ANSWERS = ("iom.complied", "iom.supported_engage", "iom.deselected",
                         "safe.info_shared")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class BuiltInspection:
    """What was built for one inspection."""

    name: str
    kind: str
    question_set: str
    cases: int
    answers: int
    statuses: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoSummary:
    """What `build_demo` built, and how long it took."""

    inspections: tuple[BuiltInspection, ...]
    seconds: float
    seed: int

    @property
    def cases(self) -> int:
        return sum(i.cases for i in self.inspections)

    @property
    def answers(self) -> int:
        return sum(i.answers for i in self.inspections)


Progress = Callable[[int, int], None]
"""Called with (core cases written so far, core cases in total)."""


# --------------------------------------------------------------------------- allocation
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


# --------------------------------------------------------------------------- applicability
def _rule_closure(qs: QuestionSet, qid: str) -> tuple[list[str], list[str]]:
    """Case fields and answers a question's applicability depends on, transitively."""
    fields: set[str] = set()
    answers: set[str] = set()
    todo = [qid]
    while todo:
        rule = qs.question(todo.pop()).rule
        if rule is None:
            continue
        fields |= rule.case_fields
        for dep in rule.question_ids - answers:
            answers.add(dep)
            todo.append(dep)
    return sorted(fields), sorted(answers)


def applicable_mask(qs: QuestionSet, qid: str, cases: pd.DataFrame,
                    answers: Mapping[str, np.ndarray]) -> np.ndarray:
    """Whether qid applies to each case, asking `qs.applicable` once per distinct input.

    A rule reads a handful of fields, so a chunk of 20,000 cases has only a few distinct
    combinations: evaluating those keeps the question set the only judge of the rules.
    """
    n = len(cases)
    if qs.question(qid).rule is None:
        return np.ones(n, dtype=bool)
    fields, deps = _rule_closure(qs, qid)
    columns = [("case", f, cases[f].to_numpy(dtype=object)) for f in fields]
    columns += [("answer", d, answers.get(d, np.full(n, None, dtype=object))) for d in deps]
    key = np.zeros(n, dtype=np.int64)
    for _, _, values in columns:  # one integer per distinct combination of the inputs
        codes, levels = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
        key = key * len(levels) + codes
    distinct, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    verdicts = np.empty(len(distinct), dtype=bool)
    for i, row in enumerate(first):
        case = {f: v[row] for kind, f, v in columns if kind == "case"}
        given = {d: v[row] for kind, d, v in columns if kind == "answer" and v[row] is not None}
        verdicts[i] = qs.applicable(case, given)[qid]
    return verdicts[inverse.reshape(-1)]


def answer_order(qs: QuestionSet) -> list[str]:
    """Questions in an order where every rule's answers are generated before it."""
    later = []
    for qid in qs.rule_order:
        rule = qs.question(qid).rule
        assert rule is not None  # rule_order only lists questions with rules
        if rule.question_ids:
            later.append(qid)
    return [q.id for q in qs.questions if q.id not in later] + later


# --------------------------------------------------------------------------- scores
def _is(cases: pd.DataFrame, column: str, *codes: object) -> np.ndarray:
    return cases[column].isin(codes).to_numpy(dtype=float)


def factor_score(factor: str, cases: pd.DataFrame) -> np.ndarray:
    """How strongly the profile suggests a factor is linked to offending (log-odds scale)."""
    acquisitive = _is(cases, "index_offence", "burglary", "theft", "robbery", "drugs")
    violent = _is(cases, "index_offence", "violence", "breach_order")
    da = cases["domestic_abuse"].eq(True).to_numpy(dtype=float)
    young = _is(cases, "age_band", "18_25")
    prolific = _is(cases, "prev_convictions", "21_plus")
    scores = {
        "attitudes": 0.8 * violent + 0.4 * prolific,
        "family": 1.2 * da,
        "thinking": 0.5 * violent + 0.3 * prolific,
        "lifestyle": 0.8 * acquisitive + 0.6 * young,
        "drugs": 1.4 * acquisitive + 0.4 * prolific,
        "alcohol": 0.8 * violent + 0.6 * da - 0.4 * acquisitive,
        "ete": 1.0 * young,
        "accommodation": 0.8 * _is(cases, "case_type", "post_release") + 0.3 * acquisitive,
    }
    return scores[factor]


def _family(qid: str) -> str:
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
    nps = _is(cases, "provider", "nps")
    post = _is(cases, "case_type", "post_release")
    lik_high = _is(cases, "likelihood", "high")
    lik_med = _is(cases, "likelihood", "medium")
    high_risk = _is(cases, "rosh", "high", "very_high")
    da = cases["domestic_abuse"].eq(True).to_numpy(dtype=float)
    family = _family(qid)
    if family == "engage":
        mix = 1.4 * post
    elif family == "delivery":
        mix = 1.2 * post
    elif family == "safe":
        mix = 0.4 * nps + 0.4 * high_risk - 0.3 * da
    else:
        mix = 0.2 * nps + 0.4 * post - 0.5 * lik_high - 0.2 * lik_med
    return quality + mix


def na_score(qid: str, cases: pd.DataFrame) -> np.ndarray:
    """Log-odds that an 'in relevant cases' question is not applicable to the case."""
    if _family(qid) == "safe":
        return (2.0 * _is(cases, "rosh", "low") - 1.0 * cases["domestic_abuse"].eq(True)
                .to_numpy(dtype=float) - 1.0 * _is(cases, "rosh", "high", "very_high"))
    return 1.0 * _is(cases, "case_type", "community") + 0.5 * _is(cases, "likelihood", "low")


# --------------------------------------------------------------------------- thematic
def _dates(rng: np.random.Generator, start: date, end: date, n: int) -> np.ndarray:
    days = rng.integers(0, (end - start).days + 1, size=n)
    out = np.empty(n, dtype=object)
    out[:] = [start + timedelta(days=int(d)) for d in days]
    return out


def _fixed_then(rng: np.random.Generator, n: int, fixed_at: int, fixed: object,
                rest: Mapping[K, float]) -> np.ndarray:
    """One fixed value at position `fixed_at`, exact shuffled counts everywhere else."""
    values = np.empty(n, dtype=object)
    others = np.arange(n) != fixed_at
    values[others] = shuffled(rng, rest, n - 1)
    values[fixed_at] = fixed
    return values


def thematic_profiles(rng: np.random.Generator) -> pd.DataFrame:
    """The 60 IOM cases of the fieldwork sample (Annex 2, Figures 4.1, 4.7, 4.8)."""
    n = THEMATIC_CASES
    ns = int(rng.integers(n))  # the one non-statutory case (Annex 2 footnote 15)
    site_sizes = dict(zip(rng.permutation(len(THEMATIC_SITES)), [9, 9, 9, 9, 8, 8, 8],
                          strict=True))
    cases = pd.DataFrame({
        "case_ref": [f"DEMO-T-{i + 1:04d}" for i in range(n)],
        "site": shuffled(rng, {THEMATIC_SITES[i][0]: c for i, c in sorted(site_sizes.items())},
                         n),
        "iom": True,
        "case_type": _fixed_then(rng, n, ns, "non_statutory",
                                 {"community": 17, "post_release": 42}),
        "rosh": _fixed_then(rng, n, ns, "medium",
                            {"low": 2, "medium": 34, "high": 21, "very_high": 2}),
        "index_offence": _fixed_then(rng, n, ns, None, THEMATIC_OFFENCES),
        "prev_convictions": _fixed_then(rng, n, ns, None,
                                        {"21_plus": 32, "11_20": 17, "1_10": 10}),
        "age_band": _fixed_then(rng, n, ns, None, {"18_25": 14, "26_35": 23, "36_55": 22}),
        "gender": _fixed_then(rng, n, ns, None, {"male": 53, "female": 6}),
        "ethnicity": _fixed_then(rng, n, ns, None, {"white": 47, "black": 4, "mixed": 3,
                                                     "asian": 3, "other": 1, "not_known": 1}),
        "likelihood": _fixed_then(rng, n, ns, "high", {"high": 44, "medium": 13, "low": 2}),
        "start_date": _dates(rng, date(2018, 1, 1), date(2019, 8, 31), n),
    })
    statutory = np.arange(n) != ns
    high_risk = _is(cases, "rosh", "high", "very_high")
    # Figure 4.1 is a chart: about a third NPS. NPS holds the high-risk cases.
    nps = top_k(rng, 2.5 * high_risk[statutory], 20)
    cases["provider"] = "police"
    cases.loc[statutory, "provider"] = np.where(nps, "nps", "crc")
    violent = _is(cases, "index_offence", "violence", "breach_order")
    cases["domestic_abuse"] = top_k(rng, 2.0 * violent, 33)  # 33 of 60
    cases["child_safeguarding"] = top_k(rng, 1.0 * cases["domestic_abuse"].to_numpy(float), 21)
    cases["mappa_level"] = _mappa(rng, cases, statutory)
    cases["ro_interviewed"] = False
    cases.loc[statutory, "ro_interviewed"] = top_k(rng, np.zeros(n - 1), 44)  # 44 of 60
    cases["status"] = "complete"
    return cases


def _mappa(rng: np.random.Generator, cases: pd.DataFrame, statutory: np.ndarray) -> np.ndarray:
    """Mostly not MAPPA; level 2 for some high-risk NPS cases, level 1 for a few more."""
    high = _is(cases, "rosh", "high", "very_high") + _is(cases, "provider", "nps")
    level = np.full(len(cases), "none", dtype=object)
    idx = np.flatnonzero(statutory)
    two = idx[top_k(rng, 3.0 * high[idx], 4)]
    level[two] = "2"
    rest = np.setdiff1d(idx, two)
    level[rest[top_k(rng, 1.5 * high[rest], 8)]] = "1"
    return level


def _thematic_scores(qid: str, cases: pd.DataFrame, answers: Mapping[str, np.ndarray],
                     quality: np.ndarray) -> dict[str, np.ndarray]:
    """Scores per code for one thematic question (who gets 'yes', 'na', 'reduced' ...)."""
    def said(q: str, code: str) -> np.ndarray:
        return (answers.get(q, np.full(len(cases), None)) == code).astype(float)

    prolific = _is(cases, "prev_convictions", "21_plus")
    if qid.endswith(".linked"):
        return {"yes": factor_score(qid.split(".")[1], cases)}
    if qid == "iom.complied":
        return {"yes": 0.8 * quality - 0.8 * prolific}
    if qid == "iom.recalled":
        return {"yes": 2.5 * said("iom.complied", "no")}
    if qid == "outcome.reoffended":
        return {"yes": 1.5 * said("iom.complied", "no") + 0.7 * prolific}
    if qid == "iom.deselected":
        return {"yes": 1.5 * said("iom.complied", "yes")}
    if qid in ("outcome.frequency", "outcome.seriousness"):
        return {"reduced": quality, "increased": -quality}
    if qid == "iom.partner_info":
        return {"yes": quality + 1.0 * said("iom.reasons_known", "yes")}
    return {"yes": practice_score(qid, cases, quality), "na": na_score(qid, cases)}


def _rates_to_counts(rates: Mapping[str, float], n: int) -> dict[str, int]:
    return dict(zip(rates, split_counts(list(rates.values()), n).tolist(), strict=True))


def thematic_primary(rng: np.random.Generator, qs: QuestionSet,
                     cases: pd.DataFrame) -> dict[str, np.ndarray]:
    """Primary answers: question id -> value per case (None where not answered)."""
    n = len(cases)
    quality = rng.normal(0.0, 1.0, size=n)  # hidden practice quality, shared by questions
    reached = _thematic_reach(rng, cases)
    answers: dict[str, np.ndarray] = {}
    for qid in answer_order(qs):
        question = qs.question(qid)
        eligible = applicable_mask(qs, qid, cases, answers) & reached(qid)
        values = np.full(n, None, dtype=object)
        idx = np.flatnonzero(eligible)
        if qid == "iom.partners":
            values[idx] = _partners(rng, answers["iom.partner_info"][idx], question.codes)
        elif qid in RO_QUESTIONS:
            values[idx] = _ro_answers(rng, cases.iloc[idx], qid, quality[idx])
        elif len(idx):
            counts = THEMATIC_COUNTS.get(qid) or _rates_to_counts(THEMATIC_RATES[qid], len(idx))
            scores = _thematic_scores(qid, cases, answers, quality)
            values[idx] = allocate(rng, counts, {c: s[idx] for c, s in scores.items()}, len(idx))
        answers[qid] = values
    return answers


def _thematic_reach(rng: np.random.Generator,
                    cases: pd.DataFrame) -> Callable[[str], np.ndarray]:
    """Which cases have reached each question: in-progress cases lack the last sections.

    Picks the in-progress cases (and sets their status): the non-statutory case, which
    has no assessment or plan, and four statutory ones; one of those has not reached the
    outcomes either (Figure 5.1 counts 58 cases).
    """
    n = len(cases)
    nonstat = cases["case_type"].eq("non_statutory").to_numpy()
    busy = np.flatnonzero(~nonstat)[top_k(rng, np.zeros(int((~nonstat).sum())), IN_PROGRESS)]
    no_outcome = busy[:1]
    cases.loc[nonstat | np.isin(np.arange(n), busy), "status"] = "in_progress"

    def reached(qid: str) -> np.ndarray:
        mask = np.ones(n, dtype=bool)
        if qid not in NON_STATUTORY_ANSWERS:
            mask &= ~nonstat
        if qid in NOT_YET:
            mask[busy] = False
        if qid.startswith("outcome."):
            mask[no_outcome] = False
        return mask

    return reached


def _partners(rng: np.random.Generator, partner_info: np.ndarray,
              codes: Mapping[str, str]) -> np.ndarray:
    """Partners who contributed: mostly the police (Figure 4.4), rarely drugs or housing."""
    chance = {"police": 0.9, "substance_misuse": 0.2, "housing": 0.12, "mental_health": 0.1,
              "ete": 0.05, "other": 0.05}
    chance = {c: p for c, p in chance.items() if c in codes}
    out = np.full(len(partner_info), None, dtype=object)
    draws = rng.random((len(partner_info), len(chance)))
    for i, info in enumerate(partner_info):
        chosen = [c for j, (c, p) in enumerate(chance.items()) if draws[i, j] < p]
        if info == "yes":
            out[i] = ";".join(chosen or ["police"])
        elif draws[i, 0] < 0.3:  # some partner information, but not enough of it
            out[i] = "police"
    return out


def _ro_answers(rng: np.random.Generator, cases: pd.DataFrame, qid: str,
                quality: np.ndarray) -> np.ndarray:
    """RO survey: 'na' where the responsible officer was not interviewed."""
    interviewed = cases["ro_interviewed"].to_numpy(dtype=bool)
    values = np.full(len(cases), "na", dtype=object)
    idx = np.flatnonzero(interviewed)
    counts = _rates_to_counts(THEMATIC_RATES[qid], len(idx))
    score = practice_score(qid, cases, quality)[idx]
    values[idx] = allocate(rng, counts, {"yes": score}, len(idx))
    return values


def second_ratings(rng: np.random.Generator, qs: QuestionSet, cases: pd.DataFrame,
                   primary: Mapping[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """QA ratings of the key questions on ten complete cases, and moderation of disagreements.

    The QA inspector agrees with the primary rating except on about one yes/no answer in
    nine (Cohen's kappa about 0.7); the moderated answer sides with the primary rating
    twice as often as with QA. The double-rated cases become 'qa_checked'.
    """
    complete = np.flatnonzero(cases["status"].eq("complete").to_numpy())
    chosen = np.sort(rng.choice(complete, size=QA_CASES, replace=False))
    cases.loc[chosen, "status"] = "qa_checked"
    keys = [q.id for q in qs.key_questions]
    rows = [(c, q, primary[q][c]) for c in chosen for q in keys if primary[q][c] is not None]
    frame = pd.DataFrame(rows, columns=["case", "question_id", "primary"])
    flippable = np.flatnonzero(frame["primary"].isin(["yes", "no"]).to_numpy())
    flips = rng.choice(flippable, size=round(QA_FLIP_SHARE * len(flippable)), replace=False)
    frame["value"] = frame["primary"]
    frame.loc[flips, "value"] = frame.loc[flips, "primary"].map({"yes": "no", "no": "yes"})
    qa = frame[["case", "question_id", "value"]].assign(rater="qa", inspector=LEAD)
    moderated = frame.loc[np.sort(flips)].copy()
    side_with_qa = top_k(rng, np.zeros(len(moderated)), len(moderated) // 3)
    moderated["value"] = np.where(side_with_qa, moderated["value"], moderated["primary"])
    moderated = moderated[["case", "question_id", "value"]].assign(rater="moderated",
                                                                   inspector=LEAD)
    return qa, moderated


def build_thematic_frames(seed: int, qs: QuestionSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The thematic sample: (cases frame, answers frame) for the bulk writer."""
    rng = np.random.default_rng([seed, 1])
    cases = thematic_profiles(rng)
    primary = thematic_primary(rng, qs, cases)
    qa, moderated = second_ratings(rng, qs, cases, primary)
    site_inspector = {s[0]: THEMATIC_INSPECTORS[i % len(THEMATIC_INSPECTORS)]
                      for i, s in enumerate(THEMATIC_SITES)}
    inspectors = cases["site"].map(site_inspector).to_numpy(dtype=object)
    frames = [_long_answers(cases["case_ref"].to_numpy(dtype=object), primary, inspectors)]
    for extra in (qa, moderated):
        extra = extra.assign(case_ref=cases["case_ref"].to_numpy()[extra["case"]])
        frames.append(extra[["case_ref", "question_id", "value", "rater", "inspector"]])
    return _case_frame(cases), pd.concat(frames, ignore_index=True)


def _long_answers(refs: np.ndarray, answers: Mapping[str, np.ndarray],
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


def _case_frame(cases: pd.DataFrame) -> pd.DataFrame:
    """The columns upsert_cases takes, with missing values as None (never NaN)."""
    out = {}
    for column in ("case_ref", "site", "status", *PROFILE):
        values = cases[column].to_numpy(dtype=object) if column in cases \
            else np.full(len(cases), None, dtype=object)
        out[column] = np.where(pd.isna(values), np.array(None, dtype=object), values)
    return pd.DataFrame(out, dtype=object)


# --------------------------------------------------------------------------- core
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
        "start_date": _dates(rng, date(2017, 7, 1), date(2019, 1, 31), n),
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
        yes = 0.7 * quality + 0.3 * _is(cases, "case_type", "post_release")
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
    return _case_frame(cases), _long_answers(refs, answers, inspectors)


# --------------------------------------------------------------------------- writing
def _refuse_existing(db: Database) -> None:
    with db.session() as session:
        found = session.exec(select(Inspection.name).where(
            col(Inspection.name).in_([THEMATIC_NAME, CORE_NAME]))).all()
    if found:
        raise UsageError(f"the database {db.location.display()} already holds "
                         f"{' and '.join(repr(f) for f in sorted(found))}: the demo builds "
                         "those itself; use another --db (or a fresh database)")


def _people(conn: sa.Connection) -> None:
    """The fictional inspectors with their roles (created, or given their demo role)."""
    table = table_of(Inspector)
    known = set(conn.execute(sa.select(table.c.name)).scalars())
    new = [{"name": n, "initials": initials_of(n), "role": r}
           for n, r in PEOPLE if n not in known]
    if new:
        conn.execute(sa.insert(table), new)
    for name, role in PEOPLE:
        conn.execute(sa.update(table).where(table.c.name == name).values(role=role))


def _site_details(conn: sa.Connection, inspection_id: int,
                  details: Sequence[tuple[str, str | None, str | None, str | None]]) -> None:
    table = table_of(Site)
    for name, nps, crc, police in details:
        conn.execute(sa.update(table).where(table.c.inspection_id == inspection_id,
                                            table.c.name == name)
                     .values(nps_division=nps, crc=crc, police_force=police))


def _core_site_details() -> list[tuple[str, str | None, str | None, str | None]]:
    return ([(s, s.removeprefix("NPS "), None, None) for s in CORE_NPS_SITES]
            + [(s, None, s.removeprefix("CRC "), None) for s in CORE_CRC_SITES])


Frames = Iterator[tuple[pd.DataFrame, pd.DataFrame]]


def _write(db: Database, name: str, kind: str, set_id: str, frames: Frames,
           details: Sequence[tuple[str, str | None, str | None, str | None]],
           on_chunk: Callable[[int], None] | None = None) -> BuiltInspection:
    """Create one inspection and write its chunks through the bulk path.

    One transaction per inspection, not per chunk: a build that fails or is interrupted
    leaves nothing behind, so running the demo again is never refused because of a
    half-built inspection. SQLite's WAL keeps readers working meanwhile, and memory stays
    bounded because each chunk's frames are dropped once written.
    """
    from audit.imports.staging import upsert_answers, upsert_cases

    cases = answers = 0
    statuses: dict[str, int] = {}
    with db.write_session() as session:
        inspection = create_inspection(session, name, kind=kind, question_set=set_id)
        assert inspection.id is not None
        conn = session.connection()
        _people(conn)
        for case_frame, answer_frame in frames:
            upsert_cases(conn, inspection.id, case_frame, who=WHO)
            upsert_answers(conn, inspection.id, answer_frame, who=WHO,
                           question_set_version=inspection.question_set_version)
            cases += len(case_frame)
            answers += len(answer_frame)
            for status, count in case_frame["status"].value_counts().items():
                statuses[str(status)] = statuses.get(str(status), 0) + int(count)
            if on_chunk is not None:
                on_chunk(len(case_frame))
        _site_details(conn, inspection.id, details)
    return BuiltInspection(name, kind, set_id, cases, answers, statuses)


def build_demo(db: Database, *, cases: int | None = None, seed: int = DEFAULT_SEED,
               progress: Progress | None = None) -> DemoSummary:
    """Build the thematic sample and the core inspection (`cases` core cases in total).

    Refuses (UsageError) when either demo inspection already exists in the database.
    """
    total = CORE_DEFAULT_CASES if cases is None else cases
    if total < CORE_DEFAULT_CASES:
        raise UsageError(f"--cases must be at least {CORE_DEFAULT_CASES:,} (the published "
                         "core sample of Figure 5.2)")
    started = time.perf_counter()
    _refuse_existing(db)
    thematic_qs, core_qs = load_set(THEMATIC_SET), load_set(CORE_SET)
    thematic = _write(db, THEMATIC_NAME, "thematic", THEMATIC_SET,
                      iter([build_thematic_frames(seed, thematic_qs)]),
                      [(s, nps, crc, police) for s, nps, crc, police in THEMATIC_SITES])
    done = 0

    def on_chunk(written: int) -> None:
        nonlocal done
        done += written
        if progress is not None:
            progress(done, total)

    chunks = (build_core_chunk(seed, core_qs, c) for c in core_chunks(total))
    core = _write(db, CORE_NAME, "core", CORE_SET, chunks, _core_site_details(), on_chunk)
    return DemoSummary((thematic, core), time.perf_counter() - started, seed)
