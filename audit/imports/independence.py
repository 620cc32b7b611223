"""A ratings file obeys QA independence row by row, as the app does (`audit.qa_rules`).

A row's rater is the person it names (its `inspector` cell, else `--inspector`): whose
judgement it records. A QA or moderated row naming one of the case's primary raters is
refused, and so is a primary row naming one of its QA raters or moderators. The file's
own rows count with what is stored: a file holding both ratings of a case by one person
is refused, and the importer of a case's primary rows becomes, as the trail will show,
one of its primary raters.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit import qa_rules
from audit.imports.cells import objects
from audit.imports.problems import Problems

_KEYS = ["case_id", "rater", "name"]


class RaterRows:
    """Who each valid row names, per case and rating: (case, rating, name) and its first
    row, kept compactly chunk by chunk (a file repeats the same few names)."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, parsed: pd.DataFrame, rows: np.ndarray) -> None:
        """Remember the valid rows of one parsed chunk (`_parse_ratings`' columns)."""
        ok = parsed["ok"].to_numpy(dtype=bool)
        if not ok.any():
            return
        frame = pd.DataFrame({"case_id": parsed["case_id"].to_numpy(np.int64)[ok],
                              "rater": objects(parsed["rater"].array, ok),
                              "name": objects(parsed["inspector"].array, ok),
                              "row": rows[ok]})
        self._parts.append(frame.groupby(_KEYS, sort=False)["row"].min().reset_index())

    def triples(self) -> pd.DataFrame:
        """Every distinct (case, rating, name) of the file with its first row."""
        if not self._parts:
            return pd.DataFrame(columns=[*_KEYS, "row"])
        both = pd.concat(self._parts, ignore_index=True)
        return both.groupby(_KEYS, sort=False)["row"].min().reset_index()


def refuse_self_rating(conn: sa.Connection, seen: RaterRows, who: str,
                       refs: dict[int, str], problems: Problems) -> None:
    """Add a problem for each row that would make one person both a case's primary rater
    and its QA rater or moderator (`who` is the person importing the file)."""
    found = seen.triples()
    if found.empty:
        return
    primary_rows = found[found["rater"] == qa_rules.PRIMARY]
    second_rows = found[found["rater"] != qa_rules.PRIMARY]
    # What the file itself adds to the primary side: the people it names, and the
    # importer, whom the trail records changing those answers.
    file_primary: dict[int, set[str]] = defaultdict(set)
    for case_id, name in zip(primary_rows["case_id"].tolist(), primary_rows["name"].tolist(),
                             strict=True):
        file_primary[int(case_id)].update((name, who))
    stored_primary = qa_rules.raters(conn, second_rows["case_id"].tolist(),
                                     only=(qa_rules.PRIMARY,))
    stored_second = qa_rules.raters(conn, primary_rows["case_id"].tolist(),
                                    only=(qa_rules.QA, qa_rules.MODERATED))
    refused: list[tuple[int, str, str]] = []
    for case_id, rater, name, row in found.itertuples(index=False):
        case_id = int(case_id)
        if rater == qa_rules.PRIMARY:
            # Only against what is stored: a pair inside the file is refused once, on
            # its QA or moderated row.
            people = stored_second.get(case_id, qa_rules.Raters())
        else:
            people = stored_primary.get(case_id, qa_rules.Raters()).with_(
                qa_rules.PRIMARY, file_primary.get(case_id, ()))
        reason = qa_rules.refusal(name, refs[case_id], rater, people)
        if reason:
            refused.append((int(row), name, reason))
    for row, name, reason in sorted(refused):
        problems.add(row, "inspector", name, reason)
