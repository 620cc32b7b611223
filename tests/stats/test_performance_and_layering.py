"""Speed on 100,000 cases, and stats importing no UI or database code."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from stats import compare_groups, independent_effects


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 100_000
    group = rng.choice(["iom", "non_iom"], n, p=[0.1, 0.9])
    data: dict = {"iom": pd.Categorical(group)}
    for name, k in (("case_type", 3), ("rosh", 4), ("likelihood", 3), ("provider", 28)):
        data[name] = pd.Categorical(rng.choice([f"{name}{i}" for i in range(k)], n))
    for q in range(40):
        answers = np.where(rng.random(n) < 0.6 + 0.1 * (group == "iom"), "yes", "no")
        answers = answers.astype(object)
        answers[rng.random(n) < 0.1] = "na"
        answers[rng.random(n) < 0.05] = None
        data[f"q{q}"] = answers if q % 2 else pd.Categorical(answers)
    return pd.DataFrame(data)


@pytest.mark.slow
# Speed is measured by `make bench` (BENCHMARKS.md), not asserted here: a timed unit
# test fails on a loaded machine. These check the national-scale shapes work at all.
def test_compare_100k_by_40(big: pd.DataFrame) -> None:
    questions = [f"q{q}" for q in range(40)]
    result = compare_groups(big, "iom", questions, independent_effect=False)
    assert len(result.rows) == 40 and all(r.test == "chi2" for r in result.rows)


@pytest.mark.slow
def test_twelve_models_on_100k(big: pd.DataFrame) -> None:
    effects = independent_effects(big, [f"q{q}" for q in range(12)], "iom",
                                  levels=("iom", "non_iom"))
    assert all(e.status == "ok" for e in effects.values())
    # ~0.6 s on an idle machine; OpenBLAS threads slow it under heavy CPU contention.


def test_stats_imports_no_ui_or_database() -> None:
    code = ("import sys, stats; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'audit', 'tui', 'question_sets', 'sqlalchemy', 'sqlmodel')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
