"""Published reference tables (`audit.demo.published`) and case-level data rebuilt from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.demo import published

# Seed 002, section 5.3: 3,247 cases with IOM status, 268 of them IOM.
IOM_CASES = published.CORE_IOM
NON_IOM_CASES = published.CORE_NON_IOM


def reference_csv(name: str) -> pd.DataFrame:
    """A published figure as shipped with the package."""
    return pd.read_csv(published.FOLDER / name)


def published_yes(pct: float, n: int) -> int:
    """A yes count whose percentage rounds to the published one."""
    return round(pct / 100 * n)


def cases_from_figure_5_2(ref: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    """One row per case: group, covariates, and an answer per question.

    For each question and group: ``yes`` answers, then ``n - yes`` no, then the remaining
    cases "na" (standards questions, not applicable) or missing (RO survey not returned).
    """
    sizes = {"iom": IOM_CASES, "non_iom": NON_IOM_CASES}
    columns: dict[str, list] = {}
    for row in ref.itertuples():
        fill = None if row.question_id.startswith("ro.") else "na"
        values: list = []
        for level, pct, n in (("iom", row.iom_pct, row.iom_n),
                              ("non_iom", row.non_iom_pct, row.non_iom_n)):
            yes = published_yes(pct, n)
            values += ["yes"] * yes + ["no"] * (n - yes) + [fill] * (sizes[level] - n)
        columns[row.question_id] = values
    df = pd.DataFrame(columns)
    df.insert(0, "iom", ["iom"] * IOM_CASES + ["non_iom"] * NON_IOM_CASES)
    rng = np.random.default_rng(seed)
    k = len(df)
    df["case_type"] = rng.choice(["community", "licence"], k)
    df["rosh"] = rng.choice(["low", "medium", "high"], k)
    df["likelihood"] = rng.choice(["low", "medium", "high"], k)
    df["provider"] = rng.choice(["nps", "crc"], k)
    return df
