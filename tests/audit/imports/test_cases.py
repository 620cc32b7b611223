"""`import cases`: creation, update with audit events, located errors, dry run, rules."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from audit.store.engine import Database
from tests.audit.imports.helpers import (
    CASES,
    cli,
    content,
    dump,
    new_inspection,
    populated,
    write_csv,
)


def test_import_creates_cases_and_sites(any_db: Database, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(any_db)
    assert cli(any_db, "import", "cases", str(write_csv(tmp_path / "c.csv", CASES))) == 0
    out = capsys.readouterr().out
    assert "3 created" in out and "New sites were created: North, South" in out
    cases = content(any_db, "thematic")["cases"]
    assert [c[0] for c in cases] == ["A1", "A2", "A3"]
    a3 = cases[2]
    # labels in any case are accepted for coded fields; 'Yes' for a boolean
    assert a3[3] == 1 and a3[4] == "crc" and a3[5] == "community" and a3[6] == "very_high"
    assert a3[9] is None  # an empty cell is unknown
    assert cases[0][16] == "2020-01-02"


def test_update_writes_old_and_new_values_and_leaves_other_fields(
        any_db: Database, tmp_path: Path) -> None:
    new_inspection(any_db)
    cli(any_db, "import", "cases", str(write_csv(tmp_path / "c.csv", CASES)))
    before = content(any_db, "thematic")["cases"][1]
    assert cli(any_db, "import", "cases", str(write_csv(
        tmp_path / "u.csv", [["case_ref", "iom", "site"], ["A2", "yes", "East"]]))) == 0
    after = content(any_db, "thematic")["cases"][1]
    assert after[1] == "East" and after[3] == 1
    assert after[4:] == before[4:]  # columns not in the file are left alone
    with any_db.engine.connect() as conn:
        events = conn.execute(sa.text(
            "SELECT field, old_value, new_value FROM audit_event WHERE key = 'A2' "
            "AND old_value IS NOT NULL ORDER BY field")).all()
        version = conn.execute(sa.text(
            "SELECT version FROM \"case\" WHERE case_ref = 'A2'")).scalar_one()
    assert [tuple(e) for e in events] == [("iom", "no", "yes"), ("site", "South", "East")]
    assert version == 2


def test_reimport_unchanged_changes_nothing(sqlite_db: Database, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(sqlite_db)
    path = write_csv(tmp_path / "c.csv", CASES)
    cli(sqlite_db, "import", "cases", str(path))
    before = dump(sqlite_db)
    capsys.readouterr()
    assert cli(sqlite_db, "import", "cases", str(path)) == 0
    assert "3 unchanged" in capsys.readouterr().out
    assert dump(sqlite_db) == before


BAD_CASES = [
    (["case_ref", "iom"], ["B1", "maybe"], "c.csv:2: column iom: value 'maybe': not yes or no"),
    (["case_ref", "iom", "rosh"], ["B1", "no", "huge"],
     "c.csv:2: column rosh: value 'huge': not one of low, medium, high, very_high"),
    (["case_ref", "iom", "start_date"], ["B1", "no", "31/12/2019"],
     "c.csv:2: column start_date: value '31/12/2019': not a date"),
    (["case_ref", "iom", "status"], ["B1", "no", "done"],
     "c.csv:2: column status: value 'done': not one of"),
    (["case_ref", "iom", "colour"], ["B1", "no", "red"], "c.csv:1: column colour: unknown column"),
    (["case_ref", "rosh"], ["B1", "low"], "c.csv:1: column iom: required column is missing"),
    (["case_ref", "iom"], ["", "no"], "c.csv:2: column case_ref: value '': case_ref is required"),
    (["case_ref", "iom", "iom"], ["B1", "no", "no"], "c.csv:1: column iom: column appears twice"),
]


@pytest.mark.parametrize(("header", "row", "message"), BAD_CASES)
def test_each_error_is_located_and_nothing_is_stored(
        sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        header: list[str], row: list[str], message: str) -> None:
    populated(sqlite_db, tmp_path)
    before = dump(sqlite_db)
    capsys.readouterr()
    # a good row first: one bad row refuses the whole file
    rows = [header, ["A1", *(["yes"] * (len(header) - 1))], row] if "iom" in header[1:2] \
        else [header, row]
    path = write_csv(tmp_path / "c.csv", rows)
    code = cli(sqlite_db, "import", "cases", str(path))
    err = capsys.readouterr().err
    assert code == 1
    assert message.replace("c.csv", str(path)).replace(":2:", f":{len(rows)}:") in err, err
    assert "nothing was stored" in err
    assert dump(sqlite_db) == before


def test_duplicate_case_ref_names_both_rows(sqlite_db: Database, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(sqlite_db)
    path = write_csv(tmp_path / "c.csv", [["case_ref", "iom"], ["X", "yes"], ["Y", "no"],
                                          ["X", "no"]])
    assert cli(sqlite_db, "import", "cases", str(path)) == 1
    assert f"{path}:4: column case_ref: value 'X': duplicate: the same case_ref is on row 2" \
        in capsys.readouterr().err
    assert dump(sqlite_db)["case"] == []


def test_ignore_unknown_skips_columns(sqlite_db: Database, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(sqlite_db)
    path = write_csv(tmp_path / "c.csv", [["case_ref", "iom", "colour"], ["X", "y", "red"]])
    assert cli(sqlite_db, "import", "cases", str(path), "--ignore-unknown") == 0
    assert "Ignored columns: colour" in capsys.readouterr().out


def test_first_fifty_errors_then_a_count(sqlite_db: Database, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(sqlite_db)
    rows = [["case_ref", "iom"]] + [[f"X{i}", "perhaps"] for i in range(120)]
    assert cli(sqlite_db, "import", "cases", str(write_csv(tmp_path / "c.csv", rows))) == 1
    err = capsys.readouterr().err.splitlines()
    located = [line for line in err if ": column iom: value 'perhaps'" in line]
    assert len(located) == 50 and located[0].startswith(f"{tmp_path / 'c.csv'}:2:")
    assert "... and 70 more errors" in err


def test_dry_run_reports_and_stores_nothing(any_db: Database, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(any_db)
    before = dump(any_db)
    path = write_csv(tmp_path / "c.csv", CASES)
    assert cli(any_db, "import", "cases", str(path), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "3 created" in out and "Dry run: nothing was stored" in out
    assert dump(any_db) == before


def test_several_inspections_need_a_name(sqlite_db: Database, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(sqlite_db, "one")
    new_inspection(sqlite_db, "two")
    path = write_csv(tmp_path / "c.csv", CASES)
    assert cli(sqlite_db, "import", "cases", str(path)) == 1
    assert "several inspections" in capsys.readouterr().err
    assert cli(sqlite_db, "import", "cases", str(path), "--inspection", "two") == 0
    assert len(content(sqlite_db, "two")["cases"]) == 3


def test_xlsx_with_typed_cells_and_sheet_in_errors(sqlite_db: Database, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    new_inspection(sqlite_db)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sample"
    sheet.append(["case_ref", "iom", "start_date"])
    sheet.append([1001, True, dt.datetime(2020, 5, 1)])
    sheet.append(["X2", "nope", None])
    book.save(tmp_path / "c.xlsx")
    assert cli(sqlite_db, "import", "cases", str(tmp_path / "c.xlsx")) == 1
    assert f"{tmp_path / 'c.xlsx'}[Sample]:3: column iom: value 'nope'" in capsys.readouterr().err
    sheet.delete_rows(3)
    book.save(tmp_path / "c.xlsx")
    assert cli(sqlite_db, "import", "cases", str(tmp_path / "c.xlsx")) == 0
    case = content(sqlite_db, "thematic")["cases"][0]
    assert case[0] == "1001" and case[3] == 1 and case[16] == "2020-05-01"


def test_profile_change_hides_answers_that_no_longer_apply(
        any_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populated(any_db, tmp_path)
    qids = {a[1] for a in content(any_db, "thematic")["answers"] if a[0] == "A1"}
    assert "safe.da_enquiries" in qids
    path = write_csv(tmp_path / "u.csv", [["case_ref", "iom", "domestic_abuse"],
                                          ["A1", "yes", "no"]])
    assert cli(any_db, "import", "cases", str(path)) == 0
    assert "1 stored answer(s) were hidden" in capsys.readouterr().out
    qids = {a[1] for a in content(any_db, "thematic")["answers"] if a[0] == "A1"}
    assert "safe.da_enquiries" not in qids
    # Kept, not lost: the question applies again and the answer is back.
    back = write_csv(tmp_path / "b.csv", [["case_ref", "iom", "domestic_abuse"],
                                          ["A1", "yes", "yes"]])
    assert cli(any_db, "import", "cases", str(back)) == 0
    assert "1 hidden answer(s) were restored" in capsys.readouterr().out
    qids = {a[1] for a in content(any_db, "thematic")["answers"] if a[0] == "A1"}
    assert "safe.da_enquiries" in qids
