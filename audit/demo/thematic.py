"""The 2019 thematic fieldwork sample: 60 IOM cases at the seven sites of Annex 2.

Exact counts wherever the report gives one (Figures 4.3, 4.6, 4.7, 5.1 and the chapter 4
text); rates read from a chart or a phrase elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import numpy as np
import pandas as pd

from audit.demo import published
from audit.demo.allocation import (
    allocate,
    answer_order,
    case_frame,
    fixed_then,
    long_answers,
    random_dates,
    shuffled,
    split_counts,
    top_k,
)
from audit.demo.people import LEAD, THEMATIC_INSPECTORS
from audit.demo.scores import RO_QUESTIONS, factor_score, is_in, na_score, practice_score
from audit.rules import applicable_mask
from question_sets import QuestionSet

_OUTCOMES = published.outcomes()

# Thematic sample, exact counts by code in allocation order (the last code takes the rest).
# Sources: the published figures and stated counts (`audit.demo.published`); the rest
# from the chapter 4 text: "~" marks a rate read from a chart or a phrase ("just under
# half"), turned into a count of 59.
THEMATIC_COUNTS: dict[str, dict[str, int]] = {
    "2.1.1": {"yes": 43, "no": 16},  # 72 per cent
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
    "iom.explained": {"yes": 28, "no": 31},  # fewer than half
    "iom.partner_info": {"yes": 31, "no": 28},  # just over half
    "iom.plan_roles": {"yes": 26, "no": 33},  # less than half
    "iom.supported_engage": {"yes": 46, "no": 14},  # more than three quarters
    **published.STATED,
    # Figure 5.1, of 58 (one case has not reached the outcomes yet).
    "outcome.reoffended": {c: _OUTCOMES["reoffended"][c] for c in ("yes", "no")},
    **{f"outcome.{q}": {c: _OUTCOMES[q][c] for c in ("reduced", "increased", "same")}
       for q in ("frequency", "seriousness")},
    # Figures 4.3 and 4.6.
    **{f"factor.{f}.linked": {"yes": n, "no": published.THEMATIC_ASSESSED - n}
       for f, n in published.linked("thematic").items()},
    **{f"factor.{f}.delivered": {"yes": y, "no": n}
       for f, (y, n) in published.delivered("thematic").items()},
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

QA_CASES = 10  # cases rated twice (primary and QA), then moderated where they disagree

QA_FLIP_SHARE = 0.11  # share of QA key answers that disagree: kappa about 0.7

IN_PROGRESS = 4  # statutory cases still being rated (the non-statutory one is a fifth)


# What an in-progress case has not reached yet (the last sections of the form).
NOT_YET = ("iom.partners", "safe.info_shared", "safe.victim_focus", *RO_QUESTIONS)


# The non-statutory case: no assessment, no plan (he refused to comply); only these apply.
NON_STATUTORY_ANSWERS = ("iom.complied", "iom.supported_engage", "iom.deselected",
                         "safe.info_shared")


def thematic_profiles(rng: np.random.Generator) -> pd.DataFrame:
    """The 60 IOM cases of the fieldwork sample (Annex 2, Figures 4.1, 4.7, 4.8)."""
    n = published.THEMATIC_CASES
    ns = int(rng.integers(n))  # the one non-statutory case (Annex 2 footnote 15)
    sites = published.THEMATIC_SITES
    site_sizes = dict(zip(rng.permutation(len(sites)), [9, 9, 9, 9, 8, 8, 8], strict=True))
    cases = pd.DataFrame({
        "case_ref": [f"DEMO-T-{i + 1:04d}" for i in range(n)],
        "site": shuffled(rng, {sites[i][0]: c for i, c in sorted(site_sizes.items())}, n),
        "iom": True,
        "case_type": fixed_then(rng, n, ns, "non_statutory",
                                 {"community": 17, "post_release": 42}),
        "rosh": fixed_then(rng, n, ns, "medium",
                            {"low": 2, "medium": 34, "high": 21, "very_high": 2}),
        "index_offence": fixed_then(rng, n, ns, None, published.index_offences()),
        "prev_convictions": fixed_then(rng, n, ns, None,
                                        {"21_plus": 32, "11_20": 17, "1_10": 10}),
        "age_band": fixed_then(rng, n, ns, None, {"18_25": 14, "26_35": 23, "36_55": 22}),
        "gender": fixed_then(rng, n, ns, None, {"male": 53, "female": 6}),
        "ethnicity": fixed_then(rng, n, ns, None, {"white": 47, "black": 4, "mixed": 3,
                                                     "asian": 3, "other": 1, "not_known": 1}),
        "likelihood": fixed_then(rng, n, ns, "high", {"high": 44, "medium": 13, "low": 2}),
        "start_date": random_dates(rng, date(2018, 1, 1), date(2019, 8, 31), n),
    })
    statutory = np.arange(n) != ns
    high_risk = is_in(cases, "rosh", "high", "very_high")
    # Figure 4.1 is a chart: about a third NPS. NPS holds the high-risk cases.
    nps = top_k(rng, 2.5 * high_risk[statutory], 20)
    cases["provider"] = "police"
    cases.loc[statutory, "provider"] = np.where(nps, "nps", "crc")
    violent = is_in(cases, "index_offence", "violence", "breach_order")
    cases["domestic_abuse"] = top_k(rng, 2.0 * violent, 33)  # 33 of 60
    cases["child_safeguarding"] = top_k(rng, 1.0 * cases["domestic_abuse"].to_numpy(float), 21)
    cases["mappa_level"] = _mappa(rng, cases, statutory)
    cases["ro_interviewed"] = False
    cases.loc[statutory, "ro_interviewed"] = top_k(rng, np.zeros(n - 1), 44)  # 44 of 60
    cases["status"] = "complete"
    return cases


def _mappa(rng: np.random.Generator, cases: pd.DataFrame, statutory: np.ndarray) -> np.ndarray:
    """Mostly not MAPPA; level 2 for some high-risk NPS cases, level 1 for a few more."""
    high = is_in(cases, "rosh", "high", "very_high") + is_in(cases, "provider", "nps")
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

    prolific = is_in(cases, "prev_convictions", "21_plus")
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
                   primary: Mapping[str, np.ndarray]
                   ) -> tuple[dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
    """QA ratings of the key questions on ten complete cases, and their reconciliation.

    The two ratings disagree on about one yes/no answer in nine (Cohen's kappa about 0.7).
    The answers drawn for the published figures are the moderated final record, which the
    report counts (`audit.final_record`): the moderator sides with the primary rating on
    two disagreements in three, and where they side with QA it was the primary rater who
    gave the other answer. The double-rated cases are 'qa_checked'; every one whose
    disagreements are all reconciled is 'moderated', except that the case with the most
    disagreements still waits for its moderation (no moderated answers), so the demo has
    a reconciliation to do. Returns the primary answers (with those changes), the QA
    answers and the moderated answers.
    """
    primary = {q: v.copy() for q, v in primary.items()}
    complete = np.flatnonzero(cases["status"].eq("complete").to_numpy())
    chosen = np.sort(rng.choice(complete, size=QA_CASES, replace=False))
    cases.loc[chosen, "status"] = "qa_checked"
    keys = [q.id for q in qs.key_questions]
    rows = [(c, q, primary[q][c]) for c in chosen for q in keys if primary[q][c] is not None]
    frame = pd.DataFrame(rows, columns=["case", "question_id", "drawn"])
    flippable = np.flatnonzero(frame["drawn"].isin(["yes", "no"]).to_numpy())
    flips = np.sort(rng.choice(flippable, size=round(QA_FLIP_SHARE * len(flippable)),
                               replace=False))
    other = frame.loc[flips, "drawn"].map({"yes": "no", "no": "yes"})
    side_with_qa = pd.Series(top_k(rng, np.zeros(len(flips)), len(flips) // 3), index=flips)
    per_case = frame.loc[flips, "case"].value_counts(sort=False)
    waiting = {int(per_case.idxmax())} if len(per_case) > 1 else set()
    reconciled = frame.loc[flips, "case"].map(lambda c: c not in waiting)
    primary_erred = side_with_qa & reconciled
    frame["value"] = frame["drawn"]
    frame.loc[flips, "value"] = other.where(~primary_erred, frame.loc[flips, "drawn"])
    erred = frame.loc[flips[primary_erred.to_numpy()]]
    for case, qid, value in zip(erred["case"].to_numpy(dtype=np.int64),
                                erred["question_id"].to_numpy(dtype=object),
                                other[erred.index].to_numpy(dtype=object), strict=True):
        primary[str(qid)][case] = value
    qa = frame[["case", "question_id", "value"]].assign(rater="qa", inspector=LEAD)
    moderated = frame.loc[flips[reconciled.to_numpy()], ["case", "question_id", "drawn"]]
    moderated = moderated.rename(columns={"drawn": "value"}).assign(rater="moderated",
                                                                    inspector=LEAD)
    cases.loc[np.unique(moderated["case"].to_numpy(dtype=np.int64)), "status"] = "moderated"
    return primary, qa, moderated


def build_thematic_frames(seed: int, qs: QuestionSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The thematic sample: (cases frame, answers frame) for the bulk writer."""
    rng = np.random.default_rng([seed, 1])
    cases = thematic_profiles(rng)
    primary, qa, moderated = second_ratings(rng, qs, cases, thematic_primary(rng, qs, cases))
    site_inspector = {s[0]: THEMATIC_INSPECTORS[i % len(THEMATIC_INSPECTORS)]
                      for i, s in enumerate(published.THEMATIC_SITES)}
    inspectors = cases["site"].map(site_inspector).to_numpy(dtype=object)
    frames = [long_answers(cases["case_ref"].to_numpy(dtype=object), primary, inspectors)]
    for extra in (qa, moderated):
        extra = extra.assign(case_ref=cases["case_ref"].to_numpy()[extra["case"]])
        frames.append(extra[["case_ref", "question_id", "value", "rater", "inspector"]])
    return case_frame(cases), pd.concat(frames, ignore_index=True)
