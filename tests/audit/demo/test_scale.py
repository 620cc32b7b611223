"""The `demo` command, its refusals, and the scaled core inspection."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.demo.core import CORE_DEFAULT_CASES, core_chunks
from cli.app import run
from tests.audit.demo.conftest import Built, build, reference
from tests.audit.demo.test_marginals import figure_5_2_table


def test_cli_refuses_to_build_twice(demo: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", str(demo.path), "demo"]) == 1
    assert "already holds" in capsys.readouterr().err


def test_cli_refuses_fewer_cases_than_published(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", str(tmp_path / "small.db"), "demo", "--cases", "100"]) == 1
    assert "at least 3,247" in capsys.readouterr().err


def test_chunks_keep_the_iom_share() -> None:
    chunks = core_chunks(100_000)
    assert [c.size for c in chunks] == [20_000] * 5
    assert sum(c.iom for c in chunks) == round(100_000 * 268 / CORE_DEFAULT_CASES)
    assert [c.start for c in chunks] == [0, 20_000, 40_000, 60_000, 80_000]
    assert core_chunks(CORE_DEFAULT_CASES) == [core_chunks(CORE_DEFAULT_CASES)[0]]


def test_5000_cases_scale(tmp_path: Path) -> None:
    built = build(tmp_path / "scaled.db", cases=5_000, seed=11)
    core = built.cases[built.cases["inspection"] == "core-2018-19"]
    assert len(core) == 5_000
    assert core["iom"].sum() == round(5_000 * 268 / CORE_DEFAULT_CASES)
    table = figure_5_2_table(built)
    for row in reference("fig5_2_core_iom_vs_non_iom.csv").itertuples():
        for group, pct, n, size in ((False, row.non_iom_pct, row.non_iom_n, 2_979),
                                    (True, row.iom_pct, row.iom_n, 268)):
            got = table.loc[(row.question_id, group)]
            assert abs(got["pct"] - pct) <= 2, (row.question_id, group)
            share = n / size
            group_size = (core["iom"].astype(bool) == group).sum()
            assert abs(got["n"] / group_size - share) <= 0.02, (row.question_id, group)
