"""CSV files for the import benchmark: cases and 40 rule-abiding answers per case.

Questions come from `iom-thematic-2019`. Every case is statutory (community or post
release), so the five IOM questions asked only of statutory cases apply; each case has
exactly four of the eight offending factors linked, and "services delivered" is answered
for those four only (it applies when its factor is linked). That makes 31 questions
that always apply + 5 statutory + 4 delivered = 40 answers per case, none refused by a
rule. Built with numpy and pandas in seconds; reused while the inputs are unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

QUESTION_SET = "iom-thematic-2019"
ANSWERS_PER_CASE = 40
FACTORS = ("attitudes", "family", "thinking", "lifestyle", "drugs", "alcohol", "ete",
           "accommodation")
LINKED_PER_CASE = 4
YES_NO = ("2.1.1", "2.1.2", "2.1.3", "2.2.1", "2.2.2", "2.3.1", "2.3.2",
          "iom.reasons_known", "iom.explained", "iom.supported_engage", "iom.complied",
          "iom.deselected", "safe.info_shared", "outcome.reoffended")
YES_NO_NA = ("2.2.3", "2.3.3", "2.4.1", "2.4.2", "2.4.3", "ro.agencies_desistance",
             "ro.agencies_harm", "iom.review_adjusted", "safe.victim_focus")
STATUTORY = ("iom.partner_info", "iom.plan_requirements", "iom.plan_roles",
             "iom.su_involved_review")  # applies when case_type != non_statutory
PARTNERS = ("police", "police;nps", "nps;crc", "police;housing", "crc;substance_misuse")
CASE_CODES = {
    "provider": ("nps", "crc", "police"),
    "case_type": ("community", "post_release"),
    "rosh": ("low", "medium", "high", "very_high"),
    "likelihood": ("low", "medium", "high"),
    "gender": ("male", "female"),
    "age_band": ("18_25", "26_35", "36_55", "56_plus"),
}
SITES = tuple(f"Bench site {i:02d}" for i in range(1, 21))
VERSION = 1  # bump when the generated content changes


@dataclass(frozen=True)
class ImportFiles:
    """The generated files and what they hold."""

    cases: Path
    ratings: Path
    n_cases: int
    n_ratings: int


def ensure_files(folder: Path, n_cases: int, seed: int = 2024) -> tuple[ImportFiles, bool]:
    """The CSV files for `n_cases` cases, generated unless already there; (files, built)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "stamp.json"
    wanted = {"version": VERSION, "cases": n_cases, "seed": seed}
    files = ImportFiles(folder / "cases.csv", folder / "ratings.csv", n_cases,
                        n_cases * ANSWERS_PER_CASE)
    if (stamp.exists() and json.loads(stamp.read_text()) == wanted
            and files.cases.exists() and files.ratings.exists()):
        return files, False
    rng = np.random.default_rng(seed)
    refs = np.char.add("B", np.char.zfill(np.arange(1, n_cases + 1).astype(str), 7))
    case_frame(rng, refs).to_csv(files.cases, index=False)
    ratings_frame(rng, refs).to_csv(files.ratings, index=False)
    stamp.write_text(json.dumps(wanted))
    return files, True


def case_frame(rng: np.random.Generator, refs: np.ndarray) -> pd.DataFrame:
    """One row per case: reference, IOM status, site and coded profile fields."""
    n = len(refs)
    frame = pd.DataFrame({"case_ref": refs,
                          "iom": np.where(rng.random(n) < 0.1, "yes", "no"),
                          "site": rng.choice(np.array(SITES), n)})
    for column, codes in CASE_CODES.items():
        frame[column] = rng.choice(np.array(codes), n)
    frame["domestic_abuse"] = np.where(rng.random(n) < 0.3, "yes", "no")
    return frame


def ratings_frame(rng: np.random.Generator, refs: np.ndarray) -> pd.DataFrame:
    """Long format, 40 rows per case: case_ref, question_id, answer."""
    n = len(refs)
    blocks: list[tuple[str, np.ndarray]] = []
    for qid in YES_NO + STATUTORY:
        blocks.append((qid, np.where(rng.random(n) < 0.65, "yes", "no")))
    for qid in YES_NO_NA:
        blocks.append((qid, rng.choice(np.array(["yes", "no", "na"]), n, p=[0.6, 0.3, 0.1])))
    blocks.append(("iom.partners", rng.choice(np.array(PARTNERS), n)))
    # Four linked factors per case: a random permutation's first four.
    order = np.argsort(rng.random((n, len(FACTORS))), axis=1)
    linked = np.zeros((n, len(FACTORS)), dtype=bool)
    np.put_along_axis(linked, order[:, :LINKED_PER_CASE], True, axis=1)
    for j, factor in enumerate(FACTORS):
        blocks.append((f"factor.{factor}.linked", np.where(linked[:, j], "yes", "no")))
    slots = np.sort(order[:, :LINKED_PER_CASE], axis=1)  # delivered, in factor order
    factor_names = np.array([f"factor.{f}.delivered" for f in FACTORS])
    delivered_q = factor_names[slots]  # (n, 4)
    delivered_a = np.where(rng.random((n, LINKED_PER_CASE)) < 0.5, "yes", "no")
    qids = np.concatenate([np.repeat(np.array([q for q, _ in blocks]), n),
                           delivered_q.T.ravel()])
    answers = np.concatenate([*(a for _, a in blocks), delivered_a.T.ravel()])
    case_refs = np.concatenate([np.tile(refs, len(blocks)),
                                np.tile(refs, LINKED_PER_CASE)])
    frame = pd.DataFrame({"case_ref": case_refs, "question_id": qids, "answer": answers})
    assert len(frame) == n * ANSWERS_PER_CASE
    # Case by case, as a spreadsheet of ratings would be laid out.
    return frame.sort_values("case_ref", kind="stable", ignore_index=True)


# ---------------------------------------------------------------------------------------
# The varied file (issue 19): 2.7M answers whose cases have many covariate patterns.
#
# The file above is friendly to the importer: four profile fields vary, every case is
# statutory, every question of a case is answered and the rows come case by case. A real
# file, merged from several inspectors' spreadsheets, is not: every profile field varies
# (so the cases fall into tens of thousands of covariate patterns), the applicability
# rules fire differently case by case (non-statutory cases skip five questions, only
# post-release cases are asked about recall, follow-ups depend on other answers), cases
# are part-rated, some rows carry a note, and the rows come in no useful order.

VARIED_VERSION = 1
VARIED_SITES = tuple(f"Varied site {i:03d}" for i in range(1, 201))
VARIED_CODES = {
    "provider": ("nps", "crc", "police"),
    "rosh": ("low", "medium", "high", "very_high"),
    "likelihood": ("low", "medium", "high"),
    "mappa_level": ("none", "1", "2", "3"),
    "index_offence": ("violence", "breach_order", "sexual", "burglary", "robbery", "theft",
                      "fraud", "criminal_damage", "drugs", "motoring", "other"),
    "prev_convictions": ("0", "1_10", "11_20", "21_plus"),
    "age_band": ("18_25", "26_35", "36_55", "56_plus"),
    "gender": ("male", "female", "other"),
    "ethnicity": ("white", "mixed", "asian", "black", "other", "not_known"),
}
VARIED_BOOLS = {"domestic_abuse": 0.3, "child_safeguarding": 0.2, "ro_interviewed": 0.7}
# Answered whenever they apply: other questions' rules read them.
PARENTS = ("iom.deselected", "outcome.reoffended")
ALWAYS = tuple(q for q in YES_NO + YES_NO_NA if q not in PARENTS)
FOLLOW_UPS = {"iom.exit_strategy": "iom.deselected",
              "outcome.frequency": "outcome.reoffended",
              "outcome.seriousness": "outcome.reoffended"}
ANSWERED_SHARE = 0.56  # of the questions that apply and no rule reads: about 27 per case


def ensure_varied_files(folder: Path, n_cases: int,
                        seed: int = 2019) -> tuple[ImportFiles, bool]:
    """The varied case and ratings files for `n_cases` cases; (files, built)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "stamp.json"
    wanted = {"version": VARIED_VERSION, "cases": n_cases, "seed": seed}
    cases, ratings = folder / "cases.csv", folder / "ratings.csv"
    if (stamp.exists() and json.loads(stamp.read_text()).get("files") == wanted
            and cases.exists() and ratings.exists()):
        n_ratings = int(json.loads(stamp.read_text())["ratings"])
        return ImportFiles(cases, ratings, n_cases, n_ratings), False
    rng = np.random.default_rng(seed)
    refs = np.char.add("V", np.char.zfill(np.arange(1, n_cases + 1).astype(str), 7))
    profile = varied_case_frame(rng, refs)
    profile.to_csv(cases, index=False)
    frame = varied_ratings_frame(rng, profile)
    frame.to_csv(ratings, index=False)
    stamp.write_text(json.dumps({"files": wanted, "ratings": len(frame)}))
    return ImportFiles(cases, ratings, n_cases, len(frame)), True


def varied_case_frame(rng: np.random.Generator, refs: np.ndarray) -> pd.DataFrame:
    """Every profile field varies: about 100,000 distinct covariate patterns in 100,000."""
    n = len(refs)
    frame = pd.DataFrame({"case_ref": refs,
                          "iom": np.where(rng.random(n) < 0.15, "yes", "no"),
                          "site": rng.choice(np.array(VARIED_SITES), n),
                          "case_type": rng.choice(
                              np.array(["community", "post_release", "non_statutory"]), n,
                              p=[0.45, 0.35, 0.2])})
    for column, codes in VARIED_CODES.items():
        frame[column] = rng.choice(np.array(codes), n)
    for column, share in VARIED_BOOLS.items():
        frame[column] = np.where(rng.random(n) < share, "yes", "no")
    start = np.datetime64("2017-01-01") + rng.integers(0, 3 * 365, n).astype("timedelta64[D]")
    frame["start_date"] = start.astype(str)
    return frame


def varied_ratings_frame(rng: np.random.Generator, profile: pd.DataFrame) -> pd.DataFrame:
    """Long format: what applies to each case, part-answered, notes, rows shuffled."""
    n = len(profile)
    refs = profile["case_ref"].to_numpy()
    case_type = profile["case_type"].to_numpy()
    statutory = case_type != "non_statutory"
    parts: list[tuple[str, np.ndarray, np.ndarray]] = []  # (question, answered, answer)

    def add(qid: str, applies: np.ndarray, answer: np.ndarray, *, parent: bool = False) -> None:
        answered = applies if parent else applies & (rng.random(n) < ANSWERED_SHARE)
        parts.append((qid, answered, answer))

    everyone = np.ones(n, dtype=bool)
    for qid in ALWAYS:
        codes = ["yes", "no", "na"] if qid in YES_NO_NA else ["yes", "no"]
        p = [0.6, 0.3, 0.1] if len(codes) == 3 else [0.65, 0.35]
        add(qid, everyone, rng.choice(np.array(codes), n, p=p))
    parent_answers = {}
    for qid in PARENTS:
        parent_answers[qid] = np.where(rng.random(n) < 0.3, "yes", "no")
        add(qid, everyone, parent_answers[qid], parent=True)
    for qid in STATUTORY:
        add(qid, statutory, np.where(rng.random(n) < 0.65, "yes", "no"))
    add("iom.partners", statutory, rng.choice(np.array(PARTNERS), n))
    add("iom.recalled", case_type == "post_release", np.where(rng.random(n) < 0.3, "yes", "no"))
    for qid, column in (("safe.da_enquiries", "domestic_abuse"),
                        ("safe.safeguarding_enquiries", "child_safeguarding")):
        add(qid, profile[column].to_numpy() == "yes",
            np.where(rng.random(n) < 0.7, "yes", "no"))
    for qid, parent in FOLLOW_UPS.items():
        codes = ["yes", "no"] if qid == "iom.exit_strategy" else ["reduced", "same", "increased"]
        add(qid, parent_answers[parent] == "yes", rng.choice(np.array(codes), n))
    # 0 to 8 linked factors per case, each with its "delivered" follow-up.
    linked = rng.random((n, len(FACTORS))) < rng.uniform(0.2, 0.7, (n, 1))
    for j, factor in enumerate(FACTORS):
        add(f"factor.{factor}.linked", everyone, np.where(linked[:, j], "yes", "no"),
            parent=True)
        add(f"factor.{factor}.delivered", linked[:, j],
            np.where(rng.random(n) < 0.5, "yes", "no"))
    qids = np.concatenate([np.repeat(q, int(a.sum())) for q, a, _ in parts])
    case_refs = np.concatenate([refs[a] for _, a, _ in parts])
    answers = np.concatenate([v[a] for _, a, v in parts])
    notes = np.where(rng.random(len(qids)) < 0.03, "Checked against the OASys and the plan", "")
    frame = pd.DataFrame({"case_ref": case_refs, "question_id": qids, "answer": answers,
                          "note": notes})
    # Merged from several spreadsheets: no useful order.
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
