"""`export`: round trips, labelled Stata/SPSS files, injection safety, pseudonyms, the log."""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
import sqlalchemy as sa

from audit.cell_safety import neutralise
from audit.store.engine import Database
from tests.audit.imports.helpers import cli, content, new_inspection, populated
from tests.databases import fresh_sqlite

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_round_trips(any_db: Database, tmp_path: Path, fmt: str) -> None:
    populated(any_db, tmp_path)
    # a second rater, so the long file carries more than the wide one
    qa = tmp_path / "qa.csv"
    qa.write_text("case_ref,question_id,answer,rater\nA2,2.1.1,no,qa\n")
    assert cli(any_db, "import", "ratings", str(qa)) == 0
    out = tmp_path / "out"
    assert cli(any_db, "export", "--format", fmt, "--out", str(out)) == 0
    # the second export replaces codebook.csv: an existing file needs --force
    assert cli(any_db, "export", "--format", fmt, "--out", str(out), "--long") == 1
    assert cli(any_db, "export", "--format", fmt, "--out", str(out), "--long", "--force") == 0
    copy = fresh_sqlite(tmp_path / "copy.db")
    try:
        new_inspection(copy)
        assert cli(copy, "import", "cases", str(out / f"cases.{fmt}"), "--ignore-unknown") == 0
        assert cli(copy, "import", "ratings", str(out / f"answers.{fmt}")) == 0
        assert content(copy, "thematic") == content(any_db, "thematic")
    finally:
        copy.dispose()


def test_wide_layout_names_and_codebook(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    assert cli(sqlite_db, "export", "--out", str(tmp_path / "o")) == 0
    header = list(_rows(tmp_path / "o" / "cases.csv")[0])
    assert header[:4] == ["inspection", "case_ref", "site", "status"]
    assert {"q2_1_1", "f_drugs_linked", "iom_reasons_known"} <= set(header)
    assert all(NAME.match(n) for n in header)
    assert len({n.lower() for n in header}) == len(header)
    book = {r["variable"]: r for r in _rows(tmp_path / "o" / "codebook.csv")}
    assert set(header) <= set(book)
    q = book["q2_2_3"]
    assert q["question_id"] == "2.2.3" and q["codes"] == "yes=Yes; no=No; na=Not applicable"
    assert q["numeric_codes"] == "1=yes; 0=no" and q["question_text"]
    assert q["missing_codes"].startswith("na (Stata .a, SPSS -1) = Not applicable")
    assert q["measure"] == "nominal" and q["applies_when"] == "always (no rule)"
    assert book["mappa_level"]["numeric_codes"] == "0=none; 1=1; 2=2; 3=3"
    assert book["mappa_level"]["measure"] == "ordinal"
    assert book["f_drugs_delivered"]["applies_when"] == "answers['factor.drugs.linked'] == 'yes'"
    row = next(r for r in _rows(tmp_path / "o" / "cases.csv") if r["case_ref"] == "A1")
    assert row["iom"] == "yes" and row["q2_1_1"] == "yes" and row["f_drugs_delivered"] == "no"


@pytest.mark.parametrize(("fmt", "reader"), [("stata", pyreadstat.read_dta),
                                             ("spss", pyreadstat.read_sav)])
def test_stata_and_spss_carry_labels(sqlite_db: Database, tmp_path: Path, fmt: str,
                                     reader: object) -> None:
    populated(sqlite_db, tmp_path)
    assert cli(sqlite_db, "export", "--format", fmt, "--out", str(tmp_path / "o")) == 0
    path = next(p for p in (tmp_path / "o").iterdir() if p.name.startswith("cases."))
    frame, meta = reader(str(path), user_missing=True)  # type: ignore[operator]
    labels = meta.column_names_to_labels
    assert labels["q2_1_1"] == "Assessment: engaging the service user"
    assert labels["iom"] == "IOM case"
    values = meta.variable_value_labels
    na = "a" if fmt == "stata" else -1.0
    assert values["q2_2_3"] == {1: "Yes", 0: "No", na: "Not applicable (inspector's judgement)",
                                ("b" if fmt == "stata" else -2.0): "Not asked (the question's "
                                "rule did not apply)", ("c" if fmt == "stata" else -3.0):
                                "Unanswered (the question applied; no answer)"}
    assert values["rosh"][4] == "Very high" and values["mappa_level"][0] == "Not MAPPA"
    a2 = frame[frame["case_ref"] == "A2"].iloc[0]
    assert a2["q2_2_3"] == na and a2["iom"] == 0  # na, no
    also = pd.read_stata(path) if fmt == "stata" else None
    if also is not None:  # pandas reads every kind of missing as missing
        assert pd.isna(also.loc[also["case_ref"] == "A2", "q2_2_3"].iloc[0])


def test_long_stata_and_parquet(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    assert cli(sqlite_db, "export", "--format", "stata", "--long", "--out",
               str(tmp_path / "s")) == 0
    frame, meta = pyreadstat.read_dta(str(tmp_path / "s" / "answers.dta"))
    assert len(frame) == 8 and meta.variable_value_labels["rater"][1] == "Primary rating"
    assert cli(sqlite_db, "export", "--format", "parquet", "--out", str(tmp_path / "p")) == 0
    wide = pd.read_parquet(tmp_path / "p" / "cases.parquet")
    assert list(wide["case_ref"]) == ["A1", "A2", "A3"]


def test_injection_neutralised_in_csv_and_xlsx(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    for fmt in ("csv", "xlsx"):
        assert cli(sqlite_db, "export", "--format", fmt, "--long", "--out",
                   str(tmp_path / fmt)) == 0
    notes = [r["note"] for r in _rows(tmp_path / "csv" / "answers.csv")]
    assert "'=HYPERLINK(\"x\")" in notes
    sheet = openpyxl.load_workbook(tmp_path / "xlsx" / "answers.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert "'=HYPERLINK(\"x\")" in [c.value for c in cells]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "'=x"])
def test_neutralise_prefixes_formula_triggers(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert neutralise("plain") == "plain" and neutralise("'plain") == "'plain"


def test_pseudonymise_with_the_database_key(sqlite_db: Database, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path)
    monkeypatch.delenv("IOM_AUDIT_PSEUDO_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    capsys.readouterr()
    assert cli(sqlite_db, "export", "--long", "--pseudonymise", "--out", str(tmp_path / "a")) == 0
    out = capsys.readouterr().out
    assert not (tmp_path / "config").exists()  # nothing in the exporting person's folder
    assert "key" not in out.lower()  # and the output names no key
    rows = _rows(tmp_path / "a" / "answers.csv")
    assert set(rows[0]) == {"inspection", "case_ref", "question_id", "rater", "value",
                            "inspector"}  # no notes, no dates
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["case_ref"]) for r in rows)
    # the database's key: the same pseudonyms in every export; the wide layout drops dates
    assert cli(sqlite_db, "export", "--pseudonymise", "--out", str(tmp_path / "b")) == 0
    wide = _rows(tmp_path / "b" / "cases.csv")
    assert {r["case_ref"] for r in wide} == {r["case_ref"] for r in rows}
    assert "start_date" not in wide[0] and "A1" not in {r["case_ref"] for r in wide}
    with sqlite_db.engine.connect() as conn:
        key = conn.execute(sa.text("SELECT key FROM pseudonym_key")).scalar_one()
    assert len(key) == 32
    assert {r["case_ref"] for r in wide} == {
        hmac.new(key, ref.encode(), hashlib.sha256).hexdigest()[:16] for ref in ("A1", "A2", "A3")}


def test_the_retired_key_variable_is_refused(sqlite_db: Database, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path)
    monkeypatch.setenv("IOM_AUDIT_PSEUDO_KEY", "one")
    assert cli(sqlite_db, "export", "--pseudonymise", "--out", str(tmp_path / "one")) == 1
    assert "IOM_AUDIT_PSEUDO_KEY is no longer used" in capsys.readouterr().err
    assert not (tmp_path / "one").exists()


def test_export_is_logged_as_a_disclosure(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    assert cli(sqlite_db, "export", "--format", "csv", "--out", str(tmp_path / "o")) == 0
    with sqlite_db.engine.connect() as conn:
        key, value = conn.execute(sa.text(
            "SELECT key, new_value FROM audit_event WHERE entity = 'export'")).one()
    assert key == f"csv:{tmp_path / 'o'}"
    assert "inspections=thematic" in value and "rows=3" in value and "pseudonymised=no" in value
    assert "files=cases.csv,codebook.csv" in value


def test_several_inspections_mix_with_an_inspection_column(
        sqlite_db: Database, tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    populated(sqlite_db, tmp_path / "first", "one")
    populated(sqlite_db, tmp_path, "two")
    assert cli(sqlite_db, "export", "--out", str(tmp_path / "all")) == 0
    rows = _rows(tmp_path / "all" / "cases.csv")
    assert [r["inspection"] for r in rows] == ["one"] * 3 + ["two"] * 3
    assert cli(sqlite_db, "export", "-i", "two", "--out", str(tmp_path / "two")) == 0
    assert {r["inspection"] for r in _rows(tmp_path / "two" / "cases.csv")} == {"two"}
