"""The benchmark harness in a tiny mode: every figure of BENCHMARKS.md is still produced.

Runs `python -m benchmarks.run` end to end at the smallest scale the demo allows (its
published core sample), one run each, into a temporary directory, so the suite cannot
silently rot. About a minute on the 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = 3247

# Per part of the harness (steps run together, each part on its own worker): (start of
# the figure's name, its target or None). The demo build is every part's first row.
DEMO = [("Build the demo database", None)]
PARTS: dict[str, list[tuple[str, str | None]]] = {
    "demo,import,varied,models": [
        ("`init`", None),
        ("`import cases`", None),
        ("`import ratings`", None),
        ("Import total", "< 25 s"),
        ("Varied file: `import ratings`", "< 25 s"),
        ("Varied file: `import cases`", None),
        ("Independent-effect models", "< 5 s"),
    ],
    "demo,compare,outputs": [
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
    ],
    "demo,app,suite": [
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
    """The parts below run every step of `make bench` between them."""
    from benchmarks.run import STEPS

    covered = {step for part in PARTS for step in part.split(",")}
    assert covered == set(STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("part", list(PARTS))
def test_harness_writes_every_figure(tmp_path: Path, part: str) -> None:
    out = tmp_path / "BENCHMARKS.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--cases", str(CASES), "--runs", "1",
         "--repeats", "3", "--work", str(tmp_path / "work"), "--out", str(out),
         "--no-profile", "--only", part, "--suite-args", "tests/test_rule_words.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"step {part.split(',')[-1]}" in done.stderr  # progress goes to stderr
    text = out.read_text(encoding="utf-8")
    for heading in ("| Machine |", "| Load average", "| Commit |", "| Python |",
                    "| Libraries |", "## Missed targets"):
        assert heading in text
    rows = table_rows(text)
    wanted = DEMO + PARTS[part]
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
    samples = json.loads((tmp_path / "work" / "samples.json").read_text())
    assert all(entry["values"] for entry in samples.values())
