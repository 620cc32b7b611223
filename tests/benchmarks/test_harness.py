"""The benchmark harness in a tiny mode: every figure of BENCHMARKS.md is still produced.

Runs `python -m benchmarks.run` end to end at the smallest scale the demo allows (its
published core sample), one run each, into a temporary directory, so the suite cannot
silently rot. The import files are smaller still (`--import-cases`) and the start-up
commands run once (`--startup-runs 1`): these tests check that the harness works, not
what it measures, and each import and start-up run is a process of its own.

The demo step runs once per session (`tests.databases.built_once`, its own test checks its
row); each part of the other steps runs on a copy of that database with `--reuse-demo`,
as `make bench` itself reuses one demo for every step.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import built_once

ROOT = Path(__file__).resolve().parents[2]
CASES = 3247
IMPORT_CASES = 200  # cases in the import files (`--import-cases`; the harness allows 100)

# Per part of the harness (steps run together, each part on its own worker): (start of
# the figure's name, its target or None). The demo step is built once and checked alone.
DEMO = [("Build the demo database", None)]
PARTS: dict[str, list[tuple[str, str | None]]] = {
    "import,varied,models": [
        ("`init`", None),
        ("`import cases`", None),
        ("`import ratings`", None),
        ("Import total", "< 25 s"),
        ("Varied file: `import ratings`", "< 25 s"),
        ("Varied file: `import cases`", None),
        ("Independent-effect models", "< 5 s"),
    ],
    "compare,outputs": [
        ("`iom-audit compare --by iom --questions all --json FILE` end", "< 3.5 s"),
        ("compare end to end / floor", "< 1.5x"),
        ("`compare --by iom --questions all` in-process", None),
        ("the same without the independent effect", None),
        ("Floor: SQLite GROUP BY joined to case", None),
        ("Floor: `SELECT question_id, value, count(*) FROM answer GROUP BY 1, 2`", None),
        ("compare in-process / joined floor", None),
        ("`iom-audit --version`", "< 0.3 s"),
        ("`iom-audit --help`", "< 0.3 s"),
        ("`iom-audit info`", "< 1.2 s"),
        ("Full `report` PDF", "< 4 s"),
        ("Full `report` as PDF and Word", "< 4 s"),
        ("`export --format csv`", None),
        ("Peak memory of `export --format csv`", "< 300 MB"),
        ("`export --format parquet`", None),
        ("Peak memory of `export --format parquet`", "< 300 MB"),
        ("`export --format stata`", None),
        ("Peak memory of `export --format stata`", "< 300 MB"),
        ("`export --format spss`", None),
        ("Peak memory of `export --format spss`", "< 300 MB"),
        ("the long layout, `export --format stata --long`", None),
        ("Peak memory of the long layout, `export --format stata --long`", "< 300 MB"),
        ("the long layout, `export --format spss --long`", None),
        ("Peak memory of the long layout, `export --format spss --long`", "< 300 MB"),
    ],
    "app,suite": [
        ("App ready (", "< 1.5 s"),
        ("App: case opened and ready for keys", "< 0.3 s"),
        ("App ready, counted from process launch", None),
        ("Next question (`j`), median", "< 50 ms"),
        ("Next question (`j`), p95", "< 50 ms"),
        ("Record answer (`y`/`n`, stored), median", "< 50 ms"),
        ("Record answer (`y`/`n`, stored), p95", "< 50 ms"),
        ("Floor: one-row SQLite commit (WAL", None),
        ("Floor: one-row SQLite commit, p95", None),
        ("App: comparison view shown", "< 1.5 s"),
        ("the same, `m` the moment the dashboard shows", None),
        ("the same again", None),
        ("Floor for the view", None),
        ("`make test`", "< 240 s"),
    ],
}
VALUE = re.compile(r"^(p95: )?(\d+\.\d+( s| ms|x)|\d+ MB)$")


def table_rows(text: str) -> dict[str, list[str]]:
    """The figures table: name -> [target, median, runs, peak MB, met]."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in text.splitlines():
        if line.startswith("| Figure | Target |"):
            inside = True
            continue
        if inside and line.startswith("| ---"):
            continue
        if inside and line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif inside:
            break
    return rows


def test_every_step_is_in_a_part() -> None:
    """The demo and the parts below run every step of `make bench` between them."""
    from benchmarks.run import STEPS

    covered = {"demo"} | {step for part in PARTS for step in part.split(",")}
    assert covered == set(STEPS)


def _bench(work: Path, out: Path, only: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--cases", str(CASES), "--import-cases",
         str(IMPORT_CASES), "--runs", "1", "--startup-runs", "1", "--repeats", "3",
         "--work", str(work), "--out", str(out),
         "--no-profile", "--only", only, "--suite-args", "tests/test_rule_words.py", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def _build_demo(path: Path) -> None:
    """The bench's demo step into a work folder of its own; its database at `path`, and
    beside it the BENCHMARKS file it wrote (`.md`) and its progress (`.log`)."""
    work = path.with_suffix(".work")
    shutil.rmtree(work, ignore_errors=True)
    done = _bench(work, path.with_suffix(".md"), "demo")
    path.with_suffix(".log").write_text(done.stderr, encoding="utf-8")
    assert done.returncode == 0, done.stderr[-3000:]
    os.replace(work / "bench.db", path)
    shutil.rmtree(work)


def demo_database() -> Path:
    """The harness's demo database, built once per session by the bench's demo step."""
    return built_once(f"bench-harness-demo-{CASES}", _build_demo)


def check_file(text: str, wanted: list[tuple[str, str | None]]) -> None:
    """The headings, every wanted row with a value and its target, and every miss named."""
    for heading in ("| Machine |", "| Load average", "| Commit |", "| Python |",
                    "| Libraries |", "## Missed targets"):
        assert heading in text
    rows = table_rows(text)
    assert len(rows) == len(wanted), sorted(rows)
    for start, target in wanted:
        found = [cells for name, cells in rows.items() if name.startswith(start)]
        assert len(found) == 1, f"no single row for {start!r}"
        cells = found[0]
        assert VALUE.match(cells[1]), (start, cells[1])
        assert cells[4] in (("yes", "**no**") if target else ("—",)), (start, cells[4])
        if target:
            assert cells[0] == target
    missed = [name for name, cells in rows.items() if cells[4] == "**no**"]
    for name in missed:  # every miss is named under "Missed targets"
        assert f"### {name}:" in text
    assert "## Before and after" in text  # the hand-kept history follows the figures


@pytest.mark.slow
def test_harness_builds_the_demo() -> None:
    built = demo_database()
    assert "step demo" in built.with_suffix(".log").read_text(encoding="utf-8")
    check_file(built.with_suffix(".md").read_text(encoding="utf-8"), DEMO)


@pytest.mark.slow
@pytest.mark.parametrize("part", list(PARTS))
def test_harness_writes_every_figure(tmp_path: Path, part: str) -> None:
    out = tmp_path / "BENCHMARKS.md"
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(demo_database(), work / "bench.db")
    (work / "bench.db.cases").write_text(str(CASES))  # what the demo step stamps
    done = _bench(work, out, part, "--reuse-demo")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"step {part.split(',')[-1]}" in done.stderr  # progress goes to stderr
    text = out.read_text(encoding="utf-8")
    check_file(text, PARTS[part])
    rows = table_rows(text)
    if "import" in part:  # the import files at their own, smaller scale
        assert f"The import files hold {IMPORT_CASES} cases" in text
        assert f"`import cases` ({IMPORT_CASES} rows)" in rows
        assert f"`import ratings` ({IMPORT_CASES * 40:,} rows)" in rows
        assert any(name.startswith(f"Varied file: `import cases` ({IMPORT_CASES} cases")
                   for name in rows)
    if "outputs" in part:  # the start-up commands once each, other figures --runs
        assert rows["`iom-audit --version`"][2] == "1"
        assert rows["`iom-audit info`"][2] == "1"
    samples = json.loads((work / "samples.json").read_text())
    assert all(entry["values"] for entry in samples.values())
