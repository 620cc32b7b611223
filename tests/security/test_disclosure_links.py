"""Disclosure: planted symbolic links are never followed; existing files need --force.

Why (issue 15): "Exports and `report --xlsx` follow a planted symlink and overwrite its
target", "Existing files are overwritten silently".
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from audit.disclosure import Disclosure
from audit.errors import UsageError
from audit.store.engine import Database
from tests.audit.imports.helpers import cli
from tests.databases import Prepare
from tests.security.disclosure_kit import (
    SAMPLE,
    events,
    leftovers,
    outside_file,
    sample_inspection,
)

FORMATS = {"csv": "cases.csv", "xlsx": "cases.xlsx", "parquet": "cases.parquet",
           "stata": "cases.dta", "spss": "cases.sav"}


@pytest.fixture
def db(prepare: Prepare) -> Database:
    """The sample inspection imported by the CLI (`populated`, two imports that each test
    paid for): a private copy of the database built once per session."""
    return prepare("sqlite", SAMPLE, sample_inspection)[0]


def _db_path(db: Database) -> Path:
    assert db.location.path is not None
    return db.location.path


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("which", ["data", "codebook"])
@pytest.mark.parametrize("force", [False, True])
def test_export_refuses_a_planted_link_at_a_file_name(
        db: Database, tmp_path: Path, fmt: str, which: str, force: bool,
        capsys: pytest.CaptureFixture[str]) -> None:
    victim = outside_file(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / (FORMATS[fmt] if which == "data" else "codebook.csv")).symlink_to(victim)
    capsys.readouterr()
    args = ["export", "--format", fmt, "--out", str(out)] + (["--force"] if force else [])
    assert cli(db, *args) == 1
    err = capsys.readouterr().err
    assert "symbolic link: refused" in err and err.count("\n") == 1
    assert victim.read_text() == "precious: not yours to overwrite\n"
    assert events(_db_path(db), "export") == []  # nothing disclosed, nothing recorded
    assert sorted(p.name for p in out.iterdir()) == [
        FORMATS[fmt] if which == "data" else "codebook.csv"]  # only the planted link


def test_export_refuses_an_output_folder_that_is_a_link(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").symlink_to(elsewhere, target_is_directory=True)
    assert cli(db, "export", "--out", str(tmp_path / "out"), "--force") == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []
    assert events(_db_path(db), "export") == []


@pytest.mark.parametrize("option", ["--out", "--xlsx"])
@pytest.mark.parametrize("force", [False, True])
def test_report_refuses_a_planted_link(db: Database, tmp_path: Path, option: str,
                                       force: bool, capsys: pytest.CaptureFixture[str]) -> None:
    victim = outside_file(tmp_path)
    link = tmp_path / ("r.pdf" if option == "--out" else "r.xlsx")
    link.symlink_to(victim)
    args = ["report", "--out", str(tmp_path / "r.pdf")]
    if option == "--xlsx":
        args += ["--xlsx", str(link)]
    capsys.readouterr()
    assert cli(db, *args, *(["--force"] if force else [])) == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert victim.read_text() == "precious: not yours to overwrite\n"
    assert link.is_symlink()
    assert not (tmp_path / "r.pdf").exists() or option == "--out"
    assert events(_db_path(db), "report") == []


def test_report_markdown_folder_and_files_refuse_links(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = outside_file(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "md").symlink_to(elsewhere, target_is_directory=True)
    assert cli(db, "report", "--out", str(tmp_path / "r.pdf"), "--markdown",
               str(tmp_path / "md")) == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "r.pdf").exists()
    real = tmp_path / "md2"
    real.mkdir()
    (real / "index.md").symlink_to(victim)
    assert cli(db, "report", "--out", str(tmp_path / "r.pdf"), "--markdown", str(real),
               "--force") == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert victim.read_text() == "precious: not yours to overwrite\n"
    assert not (tmp_path / "r.pdf").exists()
    assert events(_db_path(db), "report") == []


def test_tables_json_file_refuses_a_link(db: Database, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    victim = outside_file(tmp_path)
    (tmp_path / "t.json").symlink_to(victim)
    assert cli(db, "tables", "--json", str(tmp_path / "t.json"), "--force") == 1
    assert "symbolic link: refused" in capsys.readouterr().err
    assert victim.read_text() == "precious: not yours to overwrite\n"


def test_a_link_planted_while_the_files_are_written_is_refused(
        db: Database, tmp_path: Path) -> None:
    """The race: the name is checked again right before the event and the rename."""
    victim = outside_file(tmp_path)
    out = tmp_path / "out"

    def write(staged: dict[Path, Path]) -> None:
        for final, path in staged.items():
            path.write_text("identifiable data\n")
            final.symlink_to(victim)  # an attacker wins the race for one name

    recorded: list[str] = []
    with Disclosure([out / "cases.csv"], force=True, folders=[out]) as disclosure, \
            pytest.raises(UsageError, match="symbolic link: refused"):
        disclosure.publish(db, write, lambda conn, files: recorded.append("event"))
    assert recorded == []  # refused before the event
    assert victim.read_text() == "precious: not yours to overwrite\n"
    assert leftovers(out) == []


def test_existing_files_need_force_and_are_replaced_with_it(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "codebook.csv").write_text("mine\n")
    assert cli(db, "export", "--out", str(out)) == 1
    assert "codebook.csv exists: choose another name or add --force" in capsys.readouterr().err
    assert (out / "codebook.csv").read_text() == "mine\n" and not (out / "cases.csv").exists()
    assert events(_db_path(db), "export") == []
    assert cli(db, "export", "--out", str(out), "--force") == 0
    assert (out / "codebook.csv").read_text().startswith("variable,label")
    assert len(events(_db_path(db), "export")) == 1
    pdf = tmp_path / "r.pdf"
    pdf.write_text("my own notes\n")
    assert cli(db, "report", "--out", str(pdf)) == 1
    assert pdf.read_text() == "my own notes\n"
    assert cli(db, "report", "--out", str(pdf), "--force") == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert len(events(_db_path(db), "report")) == 1
    assert leftovers(out) == [] and leftovers(tmp_path) == []


def test_a_directory_in_the_way_is_refused_even_with_force(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out" / "cases.csv").mkdir(parents=True)
    assert cli(db, "export", "--out", str(tmp_path / "out"), "--force") == 1
    assert "exists and is not a file" in capsys.readouterr().err


def test_a_files_missing_folder_is_refused_and_only_a_named_folder_is_made(
        db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A typing mistake must not create folders (at the root of the disk, say).
    assert cli(db, "report", "--out", str(tmp_path / "no" / "such" / "r.pdf")) == 1
    assert f"the folder {tmp_path / 'no' / 'such'} does not exist: create it first" in \
        capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert cli(db, "report", "--out", str(tmp_path / "new" / "r.pdf")) == 1
    assert not (tmp_path / "new").exists()
    assert cli(db, "tables", "--json", str(tmp_path / "nodir" / "t.json")) == 1
    assert not (tmp_path / "nodir").exists()
    # A folder named as the output folder is made, its last level only.
    assert cli(db, "export", "--out", str(tmp_path / "a" / "b")) == 1
    assert not (tmp_path / "a").exists()
    assert cli(db, "export", "--out", str(tmp_path / "fresh")) == 0
    assert (tmp_path / "fresh" / "cases.csv").exists()


def test_a_refused_export_takes_back_the_folder_it_made(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.exports import exporters

    monkeypatch.setattr(exporters, "require",
                        lambda *a, **k: (_ for _ in ()).throw(UsageError("refused")))
    assert cli(db, "export", "--out", str(tmp_path / "made")) == 1
    assert not (tmp_path / "made").exists()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_files_renamed_into_place_read_back_with_independent_readers(
        db: Database, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out"
    assert cli(db, "export", "--format", fmt, "--out", str(out)) == 0
    assert cli(db, "export", "--format", fmt, "--out", str(out), "--force") == 0  # replaced
    path = out / FORMATS[fmt]
    if fmt == "csv":
        frame = pd.read_csv(path)
    elif fmt == "xlsx":
        sheet = openpyxl.load_workbook(path).active
        rows = list(sheet.iter_rows(values_only=True))
        frame = pd.DataFrame(rows[1:], columns=rows[0])
    elif fmt == "parquet":
        frame = pd.read_parquet(path)
    elif fmt == "stata":
        frame, _ = pyreadstat.read_dta(str(path))
    else:
        frame, _ = pyreadstat.read_sav(str(path))
    assert sorted(frame["case_ref"]) == ["A1", "A2", "A3"]
    assert pd.read_csv(out / "codebook.csv")["variable"].iloc[0] == "inspection"
    assert leftovers(out) == []
    assert len(events(_db_path(db), "export")) == 2


def test_report_files_read_back(db: Database, tmp_path: Path) -> None:
    assert cli(db, "report", "--out", str(tmp_path / "r.pdf"), "--xlsx",
               str(tmp_path / "r.xlsx"), "--markdown", str(tmp_path / "md")) == 0
    assert cli(db, "tables", "--json", str(tmp_path / "t.json")) == 0
    from pypdf import PdfReader

    assert len(PdfReader(tmp_path / "r.pdf").pages) >= 2
    assert "Contents" in openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames
    assert (tmp_path / "md" / "index.md").read_text().startswith("#")
    assert "tables" in pd.read_json(tmp_path / "t.json", typ="series")
    (who, key, field, value), (_, json_key, json_field, _) = events(_db_path(db), "report")
    assert key == str(tmp_path / "r.pdf") and field == "pdf,xlsx,markdown"
    assert f"{tmp_path / 'md' / 'index.md'}" in value and "r.xlsx" in value
    assert json_key == str(tmp_path / "t.json") and json_field == "json"
    assert who  # the person who ran it


def test_folders_made_for_a_refused_report_are_taken_back(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--out md/r.pdf --markdown md` makes md (named as a folder); refused, it goes again."""
    from audit.report import publish

    def refuse(*args: object, **kwargs: object) -> None:
        raise UsageError("refused")

    monkeypatch.setattr(publish, "require", refuse)
    md = tmp_path / "md"
    assert cli(db, "report", "--out", str(md / "r.pdf"), "--markdown", str(md)) == 1
    assert not md.exists()
    monkeypatch.undo()
    assert cli(db, "report", "--out", str(md / "r.pdf"), "--markdown", str(md)) == 0
    assert (md / "index.md").exists() and (md / "r.pdf").exists()
