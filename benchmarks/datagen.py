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
