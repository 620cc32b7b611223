"""`--version` and `--help` answer without loading the heavy stack, and `compare` loads
scipy.stats only for a Fisher test and statsmodels only for a model (issue 19).

Each case runs the console entry point in a fresh interpreter, as a user's shell does,
and lists which heavy packages ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Not pydantic: typer itself imports it (typer/_adapters.py) to parse a subcommand.
HEAVY = ("pandas", "numpy", "scipy", "statsmodels", "sqlalchemy", "sqlmodel", "textual",
         "reportlab", "yaml", "openpyxl", "pyarrow")

PROBE = """
import json, sys
sys.argv = ["iom-audit", *json.loads(sys.argv[1])]
import cli.main
try:
    cli.main.main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)), file=sys.stderr)
"""


def loaded_by(args: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """Heavy top-level packages (and the `extra` modules) imported while running
    ``iom-audit ARGS``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    probe = PROBE.format(heavy=HEAVY + extra)
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(args)],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["compare", "--help"],
                                  ["report", "--help"], ["import", "cases", "--help"]])
def test_help_and_version_load_no_heavy_package(args: list[str]) -> None:
    assert loaded_by(args) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The probe must be able to fail: a command that opens a database loads SQLAlchemy.
    assert "sqlalchemy" in loaded_by(["--db", "/nonexistent-folder/x.db", "info"])


@pytest.fixture(scope="module")
def published_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Figure 5.2's sample (268 IOM and 2,979 non-IOM cases): every key question's
    expected counts are far above 5, so no Fisher test is due."""
    from tests.databases import fresh_sqlite
    from tests.published import build_published

    path = tmp_path_factory.mktemp("lazy") / "p.db"
    db = fresh_sqlite(path)
    build_published(db)
    db.dispose()
    return str(path)


def test_compare_without_fisher_or_model_loads_neither_scipy_stats_nor_statsmodels(
        published_db: str) -> None:
    """Chi-square p-values come from scipy.special and no model is fitted (issue 19):
    the statistics stack a large sample needs is numpy, pandas and scipy.special."""
    args = ["--db", published_db, "compare", "--no-independent-effect", "--json", "-"]
    loaded = loaded_by(args, extra=("scipy.stats", "scipy.special"))
    assert "scipy.special" in loaded and "pandas" in loaded  # it did compare
    assert "scipy.stats" not in loaded and "statsmodels" not in loaded


def test_compare_loads_statsmodels_when_it_fits_a_model(published_db: str) -> None:
    # The default fits the independent effect: statsmodels (and scipy.stats with it).
    args = ["--db", published_db, "compare", "--questions", "2.1.1", "--json", "-"]
    assert {"statsmodels", "scipy.stats"} <= set(loaded_by(args, extra=("scipy.stats",)))


def test_compare_loads_scipy_stats_when_fisher_is_due(published_db: str) -> None:
    # Forced Fisher tests, without a model: scipy.stats, still no statsmodels.
    args = ["--db", published_db, "compare", "--test", "fisher", "--questions", "2.1.1",
            "--no-independent-effect", "--json", "-"]
    loaded = loaded_by(args, extra=("scipy.stats",))
    assert "scipy.stats" in loaded and "statsmodels" not in loaded
