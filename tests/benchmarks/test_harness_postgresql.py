"""The PostgreSQL benchmark in a tiny mode: its figures and plans are written, its scratch
databases dropped, and `--million` works at a small `--cases`.

Runs `python -m benchmarks.run --backend postgresql` at the demo's smallest scale against
the test server, with a unique scratch-database prefix so parallel runs do not meet. Its
SQLite demo is the one `tests/benchmarks/test_harness.py` builds once per session, reused
(`--reuse-demo`) and copied into the server; the import files are smaller still.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.benchmarks.test_harness import CASES, IMPORT_CASES, VALUE, demo_database, table_rows

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, server: str, *args: str) -> tuple[str, str, str]:
    """Run the harness; (the file it wrote, its stderr, the scratch prefix)."""
    prefix = f"iom_bt_{uuid.uuid4().hex[:10]}"
    out = tmp_path / "BENCH.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--backend", "postgresql", "--server", server,
         "--pg-prefix", prefix, "--runs", "1", "--work", str(tmp_path / "work"),
         "--out", str(out), "--no-profile", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return out.read_text(encoding="utf-8"), done.stderr, prefix


def _databases(server: str, prefix: str) -> list[str]:
    engine = sa.create_engine(server)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname "
                                             "LIKE :p"), {"p": prefix + "%"}).scalars())
    finally:
        engine.dispose()


def _figure(rows: dict[str, list[str]], start: str) -> list[str]:
    found = [cells for name, cells in rows.items() if name.startswith(start)]
    assert len(found) == 1, f"no single row for {start!r} in {sorted(rows)}"
    assert VALUE.match(found[0][1]), (start, found[0][1])
    return found[0]


@pytest.mark.slow
def test_postgresql_figures_and_plans(tmp_path: Path, postgres_server: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(demo_database(), work / "bench.db")
    (work / "bench.db.cases").write_text(str(CASES))  # what the demo step stamps
    text, stderr, prefix = _run(tmp_path, postgres_server, "--cases", str(CASES),
                                "--import-cases", str(IMPORT_CASES), "--reuse-demo",
                                "--only", "demo,import,compare")
    assert "copying the demo database into PostgreSQL" in stderr
    assert f"import CSVs: {IMPORT_CASES} cases" in stderr
    assert text.startswith("# Benchmarks: PostgreSQL\n")
    assert "PostgreSQL 1" in text  # the server's version in the machine table
    rows = table_rows(text)
    assert _figure(rows, "Import total")[0] == "< 60 s"
    assert _figure(rows, "`iom-audit compare --by iom --questions all --json FILE` end to "
                         "end")[0] == "< 3 s"
    for start in ("Copy the demo database into PostgreSQL", "Floor: `SELECT question_id",
                  "compare end to end / floor", "Floor: GROUP BY joined to case"):
        _figure(rows, start)
    assert "## Query plans" in text
    assert text.count("Execution Time:") == 3  # the tally's and both floors'
    assert "Function Scan on p" in text  # the tally's plan, with its pattern list
    assert _databases(postgres_server, prefix) == []  # dropped at the end


@pytest.mark.slow
def test_million_flag_at_a_small_scale(tmp_path: Path, postgres_server: str) -> None:
    text, stderr, prefix = _run(tmp_path, postgres_server, "--million", "--cases", "400")
    assert "step demo" not in stderr  # no demo: the importer's database is compared
    assert "import run 1/1" in stderr
    assert text.startswith("# Benchmarks: PostgreSQL, --million\n")
    assert "400 cases: a tenth imported by `iom-audit import`" in text
    rows = table_rows(text)
    grown = _figure(rows, "Grow the imported database 10 times on the server (400 cases, "
                          "16,000 answers)")
    assert grown[2] == "1 (one-off)"
    assert _figure(rows, "`iom-audit compare")[0] == "< 15 s"
    assert "16,000 answers" in next(n for n in rows if n.startswith("`iom-audit compare"))
    assert text.count("Execution Time:") == 3
    assert _databases(postgres_server, prefix) == []
