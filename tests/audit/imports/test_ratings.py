"""`import ratings`: answers checked against their questions and rules, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.imports.ratings import import_ratings
from audit.permissions import Actor
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
from tests.helpers import set_role

HEADER = ["case_ref", "question_id", "answer"]


def test_import_stores_answers_and_starts_cases(any_db: Database, tmp_path: Path) -> None:
    populated(any_db, tmp_path)
    data = content(any_db, "thematic")
    answers = {(a[0], a[1]): a for a in data["answers"]}
    assert answers[("A1", "2.1.1")][3:] == ("yes", None, "Jo Smith")
    # an empty inspector cell falls back to 'import'; a note-only row keeps its note
    assert answers[("A1", "factor.drugs.linked")][5] == "import"
    assert answers[("A3", "2.1.3")][3:5] == (None, "note only, no answer")
    assert answers[("A1", "factor.drugs.delivered")][4] == '=HYPERLINK("x")'
    assert {c[0]: c[2] for c in data["cases"]} == {
        "A1": "in_progress", "A2": "in_progress", "A3": "not_started"}
    with any_db.engine.connect() as conn:
        events = conn.execute(sa.text(
            "SELECT key, old_value, new_value FROM audit_event WHERE entity = 'answer' "
            "AND field = '2.1.1'")).all()
    assert [tuple(e) for e in events] == [("A1/2.1.1/primary", None, "yes")]


def test_inspector_option_then_column_then_env(sqlite_db: Database, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    new_inspection(sqlite_db)
    cli(sqlite_db, "import", "cases", str(write_csv(tmp_path / "c.csv", CASES)))
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Env Person")
    set_role(sqlite_db, "Env Person", "lead")  # only a lead imports others' ratings
    rows = [[*HEADER, "inspector"], ["A1", "2.1.1", "yes", "Col Person"], ["A1", "2.1.2", "no", ""]]
    assert cli(sqlite_db, "import", "ratings", str(write_csv(tmp_path / "r.csv", rows))) == 0
    who = {a[1]: a[5] for a in content(sqlite_db, "thematic")["answers"]}
    assert who == {"2.1.1": "Col Person", "2.1.2": "Env Person"}
    assert cli(sqlite_db, "import", "ratings", str(tmp_path / "r.csv"), "--rater", "qa",
               "--inspector", "Opt Person") == 0
    qa = {a[1]: a[5] for a in content(sqlite_db, "thematic")["answers"] if a[2] == "qa"}
    assert qa == {"2.1.1": "Opt Person", "2.1.2": "Opt Person"}


BAD_RATINGS = [
    (["Z9", "2.1.1", "yes"], "column case_ref: value 'Z9': no such case"),
    (["A1", "9.9.9", "yes"], "column question_id: value '9.9.9': no such question"),
    (["A1", "2.1.1", "perhaps"], "column answer: value 'perhaps': 'perhaps' is not one of yes, no"),
    (["A1", "2.1.1", "na"], "column answer: value 'na': 'na' (not applicable) is not allowed"),
    (["A2", "safe.da_enquiries", "yes"],
     "column answer: value 'yes': safe.da_enquiries does not apply to this case "
     "(case.domestic_abuse is false)"),
    (["A3", "factor.ete.delivered", "yes"],
     "column answer: value 'yes': factor.ete.delivered does not apply to this case "
     "(answers['factor.ete.linked'] == 'yes' is false)"),
    (["A1", "2.1.1", ""], "column answer: value '': no answer (and no note) given"),
    (["A1", "iom.partners", "police;aliens"],
     "column answer: value 'police;aliens': 'aliens' is not one of police"),
]


@pytest.mark.parametrize(("row", "message"), BAD_RATINGS)
def test_each_error_is_located_and_nothing_is_stored(
        sqlite_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        row: list[str], message: str) -> None:
    populated(sqlite_db, tmp_path)
    before = dump(sqlite_db)
    capsys.readouterr()
    path = write_csv(tmp_path / "bad.csv", [HEADER, ["A2", "2.1.1", "yes"], row])
    assert cli(sqlite_db, "import", "ratings", str(path)) == 1
    err = capsys.readouterr().err
    assert f"{path}:3: {message}" in err, err
    assert dump(sqlite_db) == before


def test_duplicate_rows_are_refused(sqlite_db: Database, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path)
    before = dump(sqlite_db)
    # The QA row names someone else: one name on both ratings of a case is refused too.
    path = write_csv(tmp_path / "d.csv", [[*HEADER, "rater", "inspector"],
                                          ["A2", "2.1.1", "yes", "", ""],
                                          ["A2", "2.1.1", "yes", "qa", "QA Person"],
                                          ["A2", "2.1.1", "no", "primary", ""]])
    assert cli(sqlite_db, "import", "ratings", str(path)) == 1
    err = capsys.readouterr().err
    assert f"{path}:4: column question_id: duplicate: row 2 answers the same question" in err
    assert f"{path}:3:" not in err  # another rater is not a duplicate
    assert dump(sqlite_db) == before


def test_rules_see_stored_answers_overlaid_with_the_file(sqlite_db: Database,
                                                         tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    # factor.drugs.linked = yes is stored: a delivered answer alone is fine ...
    ok = write_csv(tmp_path / "ok.csv", [HEADER, ["A1", "factor.drugs.delivered", "yes"]])
    assert cli(sqlite_db, "import", "ratings", str(ok)) == 0
    # ... but not together with a change of linked to 'no' in the same file
    before = dump(sqlite_db)
    bad = write_csv(tmp_path / "bad.csv", [HEADER, ["A1", "factor.drugs.linked", "no"],
                                           ["A1", "factor.drugs.delivered", "yes"]])
    assert cli(sqlite_db, "import", "ratings", str(bad)) == 1
    assert dump(sqlite_db) == before


def test_changed_dependency_hides_stored_follow_up(sqlite_db: Database, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path)
    path = write_csv(tmp_path / "r.csv", [HEADER, ["A1", "factor.drugs.linked", "no"]])
    assert cli(sqlite_db, "import", "ratings", str(path)) == 0
    assert "1 stored answer(s) were hidden" in capsys.readouterr().out
    qids = {a[1] for a in content(sqlite_db, "thematic")["answers"] if a[0] == "A1"}
    assert "factor.drugs.delivered" not in qids
    with sqlite_db.engine.connect() as conn:
        removed = conn.execute(sa.text(
            "SELECT old_value, new_value FROM audit_event WHERE entity = 'answer' AND "
            "key = 'A1/factor.drugs.delivered/primary' ORDER BY id DESC")).first()
    assert tuple(removed) == ("no", None)
    back = write_csv(tmp_path / "b.csv", [HEADER, ["A1", "factor.drugs.linked", "yes"]])
    assert cli(sqlite_db, "import", "ratings", str(back)) == 0
    assert "1 hidden answer(s) were restored" in capsys.readouterr().out
    answers = {a[1]: a for a in content(sqlite_db, "thematic")["answers"] if a[0] == "A1"}
    assert "factor.drugs.delivered" in answers


def test_checks_hold_across_chunks(sqlite_db: Database, tmp_path: Path) -> None:
    populated(sqlite_db, tmp_path)
    before = dump(sqlite_db)
    rows = [HEADER, ["A2", "factor.ete.delivered", "yes"], ["A2", "2.1.2", "no"],
            ["A2", "2.1.3", "no"], ["A2", "factor.ete.linked", "no"], ["A2", "2.1.2", "yes"]]
    from audit.imports.problems import ImportRejected

    with pytest.raises(ImportRejected) as caught:
        import_ratings(sqlite_db, write_csv(tmp_path / "r.csv", rows), actor=Actor("Importer"),
                       chunk_rows=2)
    text = "\n".join(caught.value.lines)
    assert ":2: column answer: value 'yes': factor.ete.delivered does not apply" in text
    assert ":6: column question_id: duplicate: row 3" in text
    assert dump(sqlite_db) == before


def test_dry_run_counts_without_storing(any_db: Database, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    populated(any_db, tmp_path)
    before = dump(any_db)
    capsys.readouterr()
    path = write_csv(tmp_path / "r.csv", [HEADER, ["A1", "2.1.1", "no"], ["A1", "2.1.2", "no"],
                                          ["A2", "2.2.3", "na"]])
    assert cli(any_db, "import", "ratings", str(path), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "1 created, 1 updated, 1 unchanged" in out and "Dry run" in out
    assert dump(any_db) == before


def test_several_inspections_need_a_name(sqlite_db: Database, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    populated(sqlite_db, tmp_path, "one")
    new_inspection(sqlite_db, "two")
    path = write_csv(tmp_path / "r.csv", [HEADER, ["A1", "2.1.1", "no"]])
    assert cli(sqlite_db, "import", "ratings", str(path)) == 1
    assert "several inspections (one, two)" in capsys.readouterr().err
    assert cli(sqlite_db, "import", "ratings", str(path), "-i", "one") == 0


def test_unreadable_files_give_one_clean_line(sqlite_db: Database, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    new_inspection(sqlite_db)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "ragged.csv").write_text("case_ref,question_id,answer\nA,b,c,d,e\n")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    for name in ("empty.csv", "ragged.csv", "fake.xlsx", "missing.csv"):
        assert cli(sqlite_db, "import", "ratings", str(tmp_path / name)) == 1
        err = capsys.readouterr().err
        assert err.startswith("Error: ") and str(tmp_path / name) in err, err
        assert "Traceback" not in err and "--debug" not in err
