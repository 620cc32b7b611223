"""Red team, input: control and invisible characters in refs and names, look-alike sites.

Why: NUL bytes and zero-width spaces were accepted in case refs and site names, giving
two sites that both look like "Leeds". Every way a ref or a name gets in - a case file,
a ratings file, `--inspector`, `inspectors add`, `init --inspection`, the app's start
screen, a site created by a use case - is tried with each kind of character, and must
refuse it (naming the row and the column in a file) and store nothing.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.errors import UsageError
from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.imports.ratings import import_ratings
from audit.inspections import create_inspection, get_or_create_site
from audit.people import add_inspector, identify
from audit.permissions import Actor
from audit.store.engine import Database
from tests.audit.imports.helpers import cli, new_inspection, write_csv
from tests.helpers import case_count

WHO = Actor("Ann Lee")
HEADER = ["case_ref", "iom", "site"]
# What the issue found accepted, and the rest of the family the rule refuses.
HOSTILE = {
    "NUL": "\x00",
    "C0 escape": "\x1b",
    "C1 next-line": "\x85",
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte-order mark": "\ufeff",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first-strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
}


def _sites(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(conn.execute(sa.text("SELECT name FROM site")).scalars())


def _refs(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return sorted(conn.execute(sa.text('SELECT case_ref FROM "case"')).scalars())


@pytest.mark.parametrize("column", ["case_ref", "site"])
@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_case_file_with_a_hidden_character_is_refused_with_row_and_column(
        sqlite_db: Database, tmp_path: Path, column: str, kind: str) -> None:
    new_inspection(sqlite_db)
    bad = {"case_ref": "C0002", "site": "Leeds"}
    bad[column] = bad[column][:3] + HOSTILE[kind] + bad[column][3:]
    path = write_csv(tmp_path / "cases.csv", [HEADER, ["C0001", "yes", "Leeds"],
                                              [bad["case_ref"], "no", bad["site"]]])
    with pytest.raises(ImportRejected) as refused:
        import_cases(sqlite_db, path, actor=WHO)
    assert refused.value.count == 1
    (line,) = refused.value.lines
    assert f"cases.csv:3: column {column}:" in line  # the header is row 1
    assert f"U+{ord(HOSTILE[kind]):04X}" in line or f"\\x{ord(HOSTILE[kind]):02x}" in line
    assert "\x00" not in line and HOSTILE[kind] not in line  # shown escaped, not raw
    assert case_count(sqlite_db) == 0 and _sites(sqlite_db) == []


def test_two_sites_that_look_like_leeds_are_impossible(sqlite_db: Database,
                                                       tmp_path: Path) -> None:
    new_inspection(sqlite_db)
    first = write_csv(tmp_path / "a.csv", [HEADER, ["C1", "yes", "Leeds"]])
    assert cli(sqlite_db, "import", "cases", str(first)) == 0
    # A zero-width space after it: refused. A no-break space, spaces around it, a
    # decomposed accent: the same site, not a second one.
    assert cli(sqlite_db, "import", "cases",
               str(write_csv(tmp_path / "b.csv", [HEADER, ["C2", "no", "Leeds\u200b"]]))) == 1
    same = write_csv(tmp_path / "c.csv", [HEADER, ["C3", "no", " Leeds\u00a0"],
                                          ["C4", "no", "Le\u0301eds"],
                                          ["C5", "no", "L\u00e9eds"]])
    assert cli(sqlite_db, "import", "cases", str(same)) == 0
    assert _sites(sqlite_db) == ["Leeds", "L\u00e9eds"]
    assert all(unicodedata.is_normalized("NFC", s) for s in _sites(sqlite_db))
    assert _refs(sqlite_db) == ["C1", "C3", "C4", "C5"]


def test_a_site_made_by_a_use_case_obeys_the_same_rule(sqlite_db: Database) -> None:
    with sqlite_db.write_session() as session:
        inspection = create_inspection(session, "t")
        leeds, _ = get_or_create_site(session, inspection, "Leeds")
        again, created = get_or_create_site(session, inspection, "  Leeds ")
        assert again.id == leeds.id and not created
        with pytest.raises(UsageError, match="U\\+200B"):
            get_or_create_site(session, inspection, "Leeds\u200b")
        with pytest.raises(UsageError, match="U\\+202E"):
            get_or_create_site(session, inspection, "\u202esdeeL")


def test_nfc_equal_refs_in_one_file_are_duplicates(sqlite_db: Database,
                                                   tmp_path: Path) -> None:
    new_inspection(sqlite_db)
    path = write_csv(tmp_path / "cases.csv", [HEADER, ["Jos\u00e9-1", "yes", "Leeds"],
                                              ["Jose\u0301-1", "no", "Leeds"],
                                              [" Jos\u00e9-1\t", "no", "Leeds"]])
    with pytest.raises(ImportRejected) as refused:
        import_cases(sqlite_db, path, actor=WHO)
    assert refused.value.count == 2
    assert all("column case_ref" in line and "duplicate: the same case_ref is on row 2"
               in line for line in refused.value.lines)
    assert case_count(sqlite_db) == 0


def test_a_ratings_file_finds_the_case_by_its_normalised_ref(sqlite_db: Database,
                                                             tmp_path: Path) -> None:
    new_inspection(sqlite_db)
    import_cases(sqlite_db, write_csv(tmp_path / "c.csv", [HEADER, ["Jos\u00e9-1", "yes",
                                                                    "Leeds"]]), actor=WHO)
    ratings = write_csv(tmp_path / "r.csv", [["case_ref", "question_id", "answer"],
                                             ["Jose\u0301-1 ", "2.1.1", "yes"]])
    assert import_ratings(sqlite_db, ratings, actor=WHO).result.created == 1
    hidden = write_csv(tmp_path / "h.csv", [["case_ref", "question_id", "answer"],
                                            ["Jos\u00e9-1\u200b", "2.1.2", "yes"]])
    with pytest.raises(ImportRejected) as refused:
        import_ratings(sqlite_db, hidden, actor=WHO)
    (line,) = refused.value.lines
    assert "h.csv:2: column case_ref:" in line and "U+200B" in line


@pytest.mark.parametrize("kind", ["NUL", "zero-width space", "right-to-left override"])
def test_inspector_names_in_a_ratings_file_are_checked(sqlite_db: Database, tmp_path: Path,
                                                       kind: str) -> None:
    new_inspection(sqlite_db)
    import_cases(sqlite_db, write_csv(tmp_path / "c.csv", [HEADER, ["C1", "yes", "Leeds"]]),
                 actor=WHO)
    path = write_csv(tmp_path / "r.csv", [
        ["case_ref", "question_id", "answer", "inspector"],
        ["C1", "2.1.1", "yes", "Jo Smith"],
        ["C1", "2.1.2", "yes", f"Jo{HOSTILE[kind]} Smith"]])
    with pytest.raises(ImportRejected) as refused:
        import_ratings(sqlite_db, path, actor=WHO)
    (line,) = refused.value.lines
    assert "r.csv:3: column inspector:" in line
    with pytest.raises(UsageError, match="--inspector"):
        import_ratings(sqlite_db, write_csv(tmp_path / "ok.csv", [
            ["case_ref", "question_id", "answer"], ["C1", "2.1.1", "yes"]]),
            actor=WHO, inspector=f"Jo{HOSTILE[kind]}")
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM answer")).scalar_one() == 0


@pytest.mark.parametrize("kind", ["NUL", "zero-width space", "byte-order mark",
                                  "first-strong isolate"])
def test_names_typed_on_the_command_line_and_in_the_app_are_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], kind: str) -> None:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Lee Lead")
    db_path = str(tmp_path / "t.db")
    from cli.app import run

    assert run(["--db", db_path, "init", "--inspection", f"t{HOSTILE[kind]}"]) == 1
    err = capsys.readouterr().err
    assert "inspection name" in err and err.count("\n") == 1
    assert run(["--db", db_path, "init", "--inspection", "t"]) == 0
    assert run(["--db", db_path, "inspectors", "add", f"Ann{HOSTILE[kind]} Lee",
                "--role", "inspector"]) == 1
    assert "name 'Ann\\" in capsys.readouterr().err
    from audit.store.engine import open_database

    db = open_database(db_path, purpose="write")
    try:
        with pytest.raises(UsageError, match="name 'Ann"):
            identify(db, f"Ann{HOSTILE[kind]} Lee", "inspector")
        with pytest.raises(UsageError):
            add_inspector(db, f"{HOSTILE[kind]}Ann Lee", "inspector",
                          actor=Actor("Lee Lead", "lead"))
        with db.engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM inspector UNION ALL "
                                         "SELECT name FROM inspection")).scalars().all()
    finally:
        db.dispose()
    assert sorted(names) == ["Lee Lead", "t"]


def test_a_name_is_trimmed_and_normalised_before_it_is_compared(sqlite_db: Database) -> None:
    first = identify(sqlite_db, "  Jos\u00e9\u00a0 Lee ", "inspector").actor
    again = identify(sqlite_db, "Jose\u0301 Lee", "inspector").actor
    assert first.name == again.name == "Jos\u00e9 Lee"
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM inspector")).scalar_one() == 1
