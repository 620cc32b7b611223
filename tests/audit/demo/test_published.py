"""The published figures ship with the package, identical to the project's reference folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audit.demo import published

SHARED = Path(__file__).resolve().parents[4] / "shared" / "reference"


@pytest.mark.parametrize("name", published.FILES)
def test_package_copy_is_the_reference(name: str) -> None:
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the shared reference folder is missing: {SHARED}")
        pytest.skip(f"no shared reference folder at {SHARED}")
    assert (published.FOLDER / name).read_bytes() == (SHARED / name).read_bytes()


def test_every_reference_figure_is_shipped() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no shared reference folder at {SHARED}")
    assert sorted(p.name for p in SHARED.glob("*.csv")) == sorted(published.FILES)


def test_figures_read_as_published() -> None:
    fig = published.figure_5_2()
    assert (fig["2.1.1"].non_iom_pct, fig["2.1.1"].non_iom_n, fig["2.1.1"].iom_pct,
            fig["2.1.1"].iom_n) == (71, 2976, 78, 268)
    assert fig["2.3.2"].significant is False and fig["ro.agencies_harm"].significant is None
    assert published.linked("thematic")["thinking"] == 49
    assert published.delivered("core_iom")["drugs"] == (129, 87)
    assert sum(published.index_offences().values()) == 59
    assert published.outcomes()["frequency"] == {"reduced": 1, "same": 13, "increased": 6}
    assert published.CORE_IOM + published.CORE_NON_IOM == 3247


def test_unknown_figure_is_refused() -> None:
    with pytest.raises(FileNotFoundError, match="no published figure"):
        published.rows("fig9_9.csv")
