"""Fixtures for the statistics tests: case-level data rebuilt from published figures."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.stats.stats_reference import cases_from_figure_5_2, reference_csv


@pytest.fixture(scope="session")
def figure_5_2() -> pd.DataFrame:
    return reference_csv("fig5_2_core_iom_vs_non_iom.csv")


@pytest.fixture(scope="session")
def figure_5_2_cases(figure_5_2: pd.DataFrame) -> pd.DataFrame:
    return cases_from_figure_5_2(figure_5_2)
