"""`--version` and `--help` answer without loading the heavy stack (issue 19).

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


def loaded_by(args: list[str]) -> list[str]:
    """Heavy top-level packages imported while running ``iom-audit ARGS``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), json.dumps(args)],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["compare", "--help"],
                                  ["report", "--help"], ["import", "cases", "--help"]])
def test_help_and_version_load_no_heavy_package(args: list[str]) -> None:
    assert loaded_by(args) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The probe must be able to fail: a command that opens a database loads SQLAlchemy.
    assert "sqlalchemy" in loaded_by(["--db", "/nonexistent-folder/x.db", "info"])
