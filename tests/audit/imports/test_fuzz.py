"""Hypothesis-generated files never crash the importer: clean errors, data unchanged."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.store.engine import Database
from tests.audit.imports.helpers import cli, dump, populated

CASE_HEADERS = ["case_ref", "iom", "site", "status", "rosh", "start_date", "domestic_abuse",
                "inspection", "Case_Ref ", "colour", "", "iom"]
RATING_HEADERS = ["case_ref", "question_id", "answer", "value", "note", "inspector", "rater",
                  "updated_at", "inspection", "x"]
VALUES = st.one_of(
    st.sampled_from(["", "A1", "A2", "yes", "no", "na", "2.1.1", "factor.drugs.delivered",
                     "qa", "primary", "High", "2020-02-30", "=1+1", "'=x", "thematic", " "]),
    st.text(max_size=12))
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]


@st.composite
def csv_bytes(draw: st.DrawFn, headers: list[str]) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=60))  # arbitrary bytes, including empty files
    header = draw(st.lists(st.sampled_from(headers), min_size=1, max_size=6))
    rows = draw(st.lists(st.lists(VALUES, min_size=0, max_size=len(header) + 1), max_size=6))
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    writer = csv.writer(buffer, quoting=quoting, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()) and encoding == "utf-8":
        data = codecs.BOM_UTF8 + data
    return data


def _check(db: Database, tmp: Path, data: bytes, *args: str,
           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp / "fuzz.csv"
    path.write_bytes(data)
    before = dump(db)
    capsys.readouterr()
    code = cli(db, "import", *args, str(path))
    out = capsys.readouterr()
    assert code in (0, 1), out
    assert "Traceback" not in out.err and "run with --debug" not in out.err, out.err
    if code == 1:
        assert dump(db) == before


# HealthCheck.function_scoped_fixture is suppressed below on purpose: fuzz_db, tmp_path
# and capsys are shared by all 40 examples of a test, one database populated through the
# CLI (so each hostile file meets real data) that accepted files keep changing. Each
# example writes its own file, reads only the output it caused and compares the
# database with its own `before`, so the sharing hides nothing. Generation is fast (a
# few ms an example), so too_slow stays on.
@pytest.fixture
def fuzz_db(sqlite_db: Database, tmp_path: Path) -> Database:
    populated(sqlite_db, tmp_path)
    return sqlite_db


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # see fuzz_db
@given(data=csv_bytes(CASE_HEADERS))
def test_case_files_never_crash(fuzz_db: Database, tmp_path: Path, data: bytes,
                                capsys: pytest.CaptureFixture[str]) -> None:
    _check(fuzz_db, tmp_path, data, "cases", capsys=capsys)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # see fuzz_db
@given(data=csv_bytes(RATING_HEADERS))
def test_rating_files_never_crash(fuzz_db: Database, tmp_path: Path, data: bytes,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    _check(fuzz_db, tmp_path, data, "ratings", capsys=capsys)
