"""Exact types and the three kinds of missing answer, read back from every format.

Each format is read by an independent reader (pandas, pyarrow, pyreadstat) and decoded
with nothing but the codebook, then compared cell by cell with what the fixture stored
and what the question set's rules say. A percentage computed from each file must equal
the report's (`tables --json`).
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest

from audit.store.engine import Database
from tests.audit.imports.helpers import cli, populated, write_csv

FORMATS = ("csv", "parquet", "stata", "spss")
# What the fixture stored, and why each missing answer is missing (the iom-thematic set):
# q2_2_3 always applies (A2's inspector said na); safe_da_enquiries applies when
# case.domestic_abuse (A1 only); f_drugs_delivered when factor.drugs.linked is yes (A1);
# outcome_frequency when outcome.reoffended is yes (nobody); iom_partners unless the case
# is non-statutory (all three are asked); A3's 2.1.3 has a note only.
EXPECTED: dict[str, list[Any]] = {
    "inspection": ["thematic"] * 3,
    "case_ref": ["A1", "A2", "A3"],
    "site": ["North", "South", "North"],
    "status": ["in_progress", "in_progress", "not_started"],  # A3: a note is no answer
    "iom": ["yes", "no", "yes"],
    "provider": ["nps", "crc", "crc"],
    "rosh": ["high", "low", "very_high"],
    "domestic_abuse": ["yes", "no", None],
    "mappa_level": [None, None, None],
    "start_date": [date(2020, 1, 2), None, date(2019, 12, 31)],
    "q2_1_1": ["yes", "noanswer", "noanswer"],
    "q2_1_3": ["noanswer", "noanswer", "noanswer"],
    "q2_2_3": ["noanswer", "na", "noanswer"],
    "f_drugs_linked": ["yes", "noanswer", "noanswer"],
    "f_drugs_delivered": ["no", "notasked", "notasked"],
    "safe_da_enquiries": ["yes", "notasked", "notasked"],
    "iom_partners": ["noanswer", "police;nps", "noanswer"],  # not non-statutory: asked
    "iom_recalled": ["notasked", "no", "notasked"],
    "outcome_frequency": ["notasked", "notasked", "notasked"],
}


def _codebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "codebook.csv", newline="", encoding="utf-8") as f:
        return {r["variable"]: r for r in csv.DictReader(f)}


def _decoders(book: dict[str, dict[str, str]], fmt: str) -> dict[str, dict[Any, str]]:
    """Variable -> stored value -> code, from the codebook alone."""
    out: dict[str, dict[Any, str]] = {}
    for name, row in book.items():
        table: dict[Any, str] = {}
        for pair in filter(None, row["numeric_codes"].split("; ")):
            number, code = pair.split("=", 1)
            table[float(number)] = code
        for part in filter(None, row["missing_codes"].split("; ")):
            if not part.startswith(("na ", "notasked ", "noanswer ")):
                continue  # "blank ... = not recorded"
            code = part.split(" ", 1)[0]
            stata = part.split("Stata .", 1)[1][0]
            spss = float(part.split("SPSS ", 1)[1].split(")", 1)[0])
            table[stata if fmt == "stata" else spss] = code
        out[name] = table
    return out


def _decoded(frame: pd.DataFrame, book: dict[str, dict[str, str]], fmt: str) -> dict[str, list]:
    decoders = _decoders(book, fmt)
    result: dict[str, list[Any]] = {}
    for name in EXPECTED:
        values = []
        for v in frame[name].tolist():
            if v is None or (isinstance(v, float) and pd.isna(v)) or v == "":
                values.append(None)
            elif isinstance(v, pd.Timestamp | datetime):
                values.append(v.date())
            elif fmt in ("stata", "spss") and decoders[name] and (
                    isinstance(v, int | float) or v in decoders[name]):
                values.append(decoders[name][v if isinstance(v, str) else float(v)])
            else:
                values.append(v)
        result[name] = values
    return result


def _read(fmt: str, out: Path) -> pd.DataFrame:
    if fmt == "csv":
        frame = pd.read_csv(out / "cases.csv", dtype=str, keep_default_na=False)
        frame["start_date"] = [date.fromisoformat(v) if v else None
                               for v in frame["start_date"]]
        return frame
    if fmt == "parquet":
        return pd.read_parquet(out / "cases.parquet")
    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    frame, _ = reader(str(out / f"cases.{'dta' if fmt == 'stata' else 'sav'}"),
                      user_missing=True)
    return frame


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_column_round_trips_with_its_type(sqlite_db: Database, tmp_path: Path,
                                                fmt: str) -> None:
    populated(sqlite_db, tmp_path)
    out = tmp_path / fmt
    assert cli(sqlite_db, "export", "--format", fmt, "--out", str(out)) == 0
    book = _codebook(out)
    frame = _read(fmt, out)
    assert set(frame.columns) == set(book) - {v for v, r in book.items()
                                                if r["question_id"] and v not in frame}
    assert _decoded(frame, book, fmt) == EXPECTED


def test_stata_types_labels_and_extended_missing(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    assert cli(sqlite_db, "export", "--format", "stata", "--out", str(tmp_path / "s")) == 0
    path = str(tmp_path / "s" / "cases.dta")
    frame, meta = pyreadstat.read_dta(path, user_missing=True)
    assert meta.original_variable_types["start_date"] == "%td"  # a date, not %tc
    assert frame["start_date"].tolist()[0] == date(2020, 1, 2)
    assert meta.missing_user_values["f_drugs_delivered"] == ["b"]  # those present
    assert meta.variable_value_labels["q2_2_3"]["a"].startswith("Not applicable")
    assert meta.variable_value_labels["mappa_level"] == {0: "Not MAPPA", 1: "Level 1",
                                                         2: "Level 2", 3: "Level 3"}
    assert "thematic" in meta.file_label and "iom-thematic-2019 1.1" in meta.file_label
    assert "exported" in meta.file_label and len(meta.file_label) <= 80
    assert all(len(label) <= 80 for label in meta.column_labels)
    # pandas' own reader: dates as dates, every missing kind missing, labels applied
    plain = pd.read_stata(path)
    assert plain["start_date"].iloc[0] == pd.Timestamp("2020-01-02")
    assert plain["q2_2_3"].isna().all() and plain["q2_1_1"].iloc[0] == "Yes"


def test_spss_types_measures_and_user_missing(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    assert cli(sqlite_db, "export", "--format", "spss", "--out", str(tmp_path / "s")) == 0
    path = str(tmp_path / "s" / "cases.sav")
    frame, meta = pyreadstat.read_sav(path, user_missing=True)
    assert meta.original_variable_types["start_date"] == "DATE11"
    assert meta.variable_measure["rosh"] == "ordinal"
    assert meta.variable_measure["start_date"] == "scale"
    assert meta.variable_measure["q2_1_1"] == "nominal"
    assert meta.missing_ranges["q2_2_3"] == [{"lo": v, "hi": v} for v in (-1.0, -2.0, -3.0)]
    assert frame["q2_2_3"].tolist() == [-3.0, -1.0, -3.0]
    # read without user-missing: SPSS's own view, where all three are missing
    as_spss, _ = pyreadstat.read_sav(path)
    assert as_spss["q2_2_3"].isna().all() and as_spss["iom"].tolist() == [1.0, 0.0, 1.0]
    assert "thematic" in meta.file_label and len(meta.file_label) <= 64
    assert any("exported" in n for n in meta.notes)
    assert pd.read_spss(path)["start_date"].iloc[0] == date(2020, 1, 2)


def test_long_layout_timestamps_are_utc(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    for fmt in FORMATS:
        assert cli(sqlite_db, "export", "--format", fmt, "--long", "--out",
                   str(tmp_path / fmt)) == 0
    text = pd.read_csv(tmp_path / "csv" / "answers.csv")["updated_at"]
    want = pd.to_datetime(text, utc=True).dt.tz_localize(None).tolist()
    assert text.str.endswith("+00:00").all()
    part = next((tmp_path / "parquet" / "answers.parquet").glob("inspection=*/*.parquet"))
    assert str(pq.read_schema(part).field("updated_at").type) == "timestamp[us, tz=UTC]"
    parquet = pd.read_parquet(tmp_path / "parquet" / "answers.parquet")["updated_at"]
    assert parquet.dt.tz_localize(None).tolist() == want
    stata, meta = pyreadstat.read_dta(str(tmp_path / "stata" / "answers.dta"))
    assert meta.original_variable_types["updated_at"] == "%tc"
    # Stata's %tc counts milliseconds (a double: the microseconds survive, within rounding)
    assert all(abs(got - t) < pd.Timedelta(milliseconds=1)
               for got, t in zip(stata["updated_at"], want, strict=True))
    spss, _ = pyreadstat.read_sav(str(tmp_path / "spss" / "answers.sav"))
    # SPSS counts seconds since 1582 in a double: a few microseconds of rounding
    assert all(abs(got - t) < pd.Timedelta(microseconds=10)
               for got, t in zip(spss["updated_at"], want, strict=True))


def test_parquet_is_partitioned_by_inspection_with_typed_columns(
        sqlite_db: Database, tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    populated(sqlite_db, tmp_path / "first", "one")
    populated(sqlite_db, tmp_path, "two")
    out = tmp_path / "p"
    assert cli(sqlite_db, "export", "--format", "parquet", "--out", str(out)) == 0
    parts = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet") if p.is_file())
    assert parts == ["cases.parquet/inspection=one/part-0.parquet",
                     "cases.parquet/inspection=two/part-0.parquet"]
    schema = pq.read_schema(out / parts[0])
    assert str(schema.field("start_date").type) == "date32[day]"
    assert "inspection" not in schema.names  # the partition key, from the folder name
    frame = pd.read_parquet(out / "cases.parquet")
    assert sorted(frame["inspection"].astype(str)) == ["one"] * 3 + ["two"] * 3
    # a stale partition of an inspection not exported now is refused, even with --force
    assert cli(sqlite_db, "export", "--format", "parquet", "-i", "two", "--out", str(out),
               "--force") == 1
    assert cli(sqlite_db, "export", "--format", "parquet", "--out", str(out)) == 1  # exists
    assert cli(sqlite_db, "export", "--format", "parquet", "--out", str(out), "--force") == 0


def _pct_yes(values: list[Any], yes: Any, no: Any) -> float:
    kept = [v for v in values if v in (yes, no)]
    return 100 * sum(v == yes for v in kept) / len(kept)


def test_a_percentage_from_every_format_is_the_reports(sqlite_db: Database,
                                                      tmp_path: Path) -> None:
    """% yes of a yes/no/na question, as a researcher would compute it from each file,
    equals the report's: na, not asked and unanswered all stay out of the base."""
    populated(sqlite_db, tmp_path)
    more = [["case_ref", "question_id", "answer"], ["A1", "iom.review_adjusted", "yes"],
            ["A2", "iom.review_adjusted", "na"], ["A3", "iom.review_adjusted", "no"],
            ["A1", "iom.deselected", "yes"]]  # A1's exit strategy is unanswered; A2's not asked
    assert cli(sqlite_db, "import", "ratings", str(write_csv(tmp_path / "m.csv", more))) == 0
    assert cli(sqlite_db, "tables", "--json", str(tmp_path / "t.json")) == 0
    tables = json.loads((tmp_path / "t.json").read_text())["tables"]
    reported = next(r["pct"] for t in tables if t["id"] == "iom_module" for r in t["rows"]
                    if r["question_id"] == "iom.review_adjusted")
    for fmt in FORMATS:
        assert cli(sqlite_db, "export", "--format", fmt, "--out", str(tmp_path / fmt)) == 0
    q = "iom_review_adjusted"
    csv_values = pd.read_csv(tmp_path / "csv" / "cases.csv")[q].tolist()
    parquet = pd.read_parquet(tmp_path / "parquet" / "cases.parquet")[q].tolist()
    stata = pd.read_stata(tmp_path / "stata" / "cases.dta", convert_categoricals=False)
    spss, _ = pyreadstat.read_sav(str(tmp_path / "spss" / "cases.sav"))  # SPSS: -1..-3 missing
    found = {"csv": _pct_yes(csv_values, "yes", "no"),
             "parquet": _pct_yes(parquet, "yes", "no"),
             # a naive mean of the numeric codes is the percentage: yes = 1, no = 0
             "stata": 100 * stata[q].mean(),
             "spss": 100 * spss[q].mean()}
    assert found == pytest.approx({f: reported for f in FORMATS})
    assert reported == pytest.approx(50.0)  # A1 yes, A3 no; A2 said na
    # the same for a question with a rule: only A1 was asked, and did not answer
    assert sorted(pd.read_csv(tmp_path / "csv" / "cases.csv")["iom_exit_strategy"]) == [
        "noanswer", "notasked", "notasked"]
    assert stata["iom_exit_strategy"].isna().all() and spss["iom_exit_strategy"].isna().all()
