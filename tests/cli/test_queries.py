"""`iom-audit query ...`: the story between two inspectors on the command line, its JSON,
and refusals as one line (exit 1, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit import cases
from audit.store.engine import Database
from cli.app import run
from tests.cli.test_lazy_imports import loaded_by
from tests.helpers import rate_qa, set_role
from tests.security.lifecycle_setup import INSPECTOR, LEAD, answer_all, status, version
from tests.tui.conftest import build_db, case_id

QA = "Quinn QA"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """Inspection 't': Ivy gave C0000's primary rating and completed it, Quinn its QA."""
    database = build_db(tmp_path / "q.db", cases=3)
    set_role(database, LEAD.name, "lead")
    set_role(database, INSPECTOR.name, "inspector")
    set_role(database, QA, "inspector")
    cid = case_id(database, "C0000")
    answer_all(database, cid)
    cases.set_status(database, cid, "complete", actor=INSPECTOR,
                     expected_version=version(database, cid))
    rate_qa(database, cid, QA)
    return database


def iom(db: Database, who: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `iom-audit --db DB ARGS` as `who`: (exit code, stdout, stderr)."""
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", who)
    monkeypatch.setenv("COLUMNS", "160")
    code = run(["--db", str(db.location.path), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_story_on_the_command_line(db: Database, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    def go(who: str, *args: str) -> tuple[int, str, str]:
        return iom(db, who, monkeypatch, capsys, *args)

    assert go(QA, "query", "open", "C0000", "2.1.1", "--comment",
              "Where is the RoSH assessment?") == (
        0, "Opened query #1 on 2.1.1 (primary) of case C0000, assigned to Ivy Inspector.\n",
        "")
    code, out, _ = go(INSPECTOR.name, "query", "list", "--mine")
    assert code == 0 and "Waiting for you: 1" in out and "you to respond" in out
    code, _, err = go(LEAD.name, "query", "list", "--json", "-")
    assert code == 0 and err == ""
    cid = case_id(db, "C0000")
    code, _, err = iom(db, LEAD.name, monkeypatch, capsys, "query", "close", "1")
    assert (code, err) == (1, "Error: query #1 has no response yet: closing it needs a "
                              "comment saying why\n")
    assert go(INSPECTOR.name, "query", "change", "1", "no", "--reason",
              "The assessment was after release") == (
        0, "Changed the primary answer to 2.1.1 of case C0000 to no; query #1 is answered: "
           "QA closes or re-opens it.\nCase C0000 was Complete: it is now In progress "
           "(reopened with your reason).\n", "")
    code, out, _ = go(QA, "query", "list", "--mine")
    assert "you to close or re-open" in out
    assert go(QA, "query", "close", "1", "--comment", "Agreed") == (
        0, "Query #1 on 2.1.1 (primary) of case C0000 is closed.\n", "")
    code, out, _ = go(LEAD.name, "query", "show", "1", "--json", "-")
    shown = json.loads(out)
    assert [(m["author"], m["action"], m["text"], m["old_value"], m["new_value"])
            for m in shown["messages"]] == [
        (QA, "open", "Where is the RoSH assessment?", "yes", None),
        (INSPECTOR.name, "change", "The assessment was after release", "yes", "no"),
        (QA, "close", "Agreed", None, None)]
    assert {k: shown[k] for k in ("id", "case_ref", "question_id", "rater", "status",
                                  "assignee", "opened_by", "site")} == {
        "id": 1, "case_ref": "C0000", "question_id": "2.1.1", "rater": "primary",
        "status": "closed", "assignee": INSPECTOR.name, "opened_by": QA, "site": "Leeds"}
    code, out, _ = go(LEAD.name, "history", "C0000")
    assert code == 0 and "query #1" in out and "open → answered" in out
    assert "answered → closed" in out and "The assessment was after release" in out
    assert status(db, cid) == "in_progress"


def test_lists_by_site_and_status(db: Database, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    for qid in ("2.1.1", "2.1.2"):
        assert iom(db, QA, monkeypatch, capsys, "query", "open", "C0000", qid,
                   "--comment", "Why?")[0] == 0
    assert iom(db, INSPECTOR.name, monkeypatch, capsys, "query", "respond", "2", "--text",
               "See the plan")[1] == ("Query #2 on 2.1.2 (primary) of case C0000 is answered: "
                                      "QA closes or re-opens it.\n")
    code, out, _ = iom(db, LEAD.name, monkeypatch, capsys, "query", "list", "--by-site",
                       "--json", "-")
    assert json.loads(out) == [{"inspection": "t", "site": "Leeds", "open": 1, "answered": 1,
                                "closed": 0}]
    code, out, _ = iom(db, LEAD.name, monkeypatch, capsys, "query", "list", "--by-site")
    assert "Leeds" in out and "Queries by site: 2" in out
    code, out, _ = iom(db, LEAD.name, monkeypatch, capsys, "query", "list", "--status",
                       "answered", "--json", "-")
    assert [(r["id"], r["status"]) for r in json.loads(out)] == [(2, "answered")]
    assert iom(db, LEAD.name, monkeypatch, capsys, "query", "reopen", "2", "--comment",
               "Not the right plan")[1] == ("Query #2 on 2.1.2 (primary) of case C0000 is "
                                            "open again.\n")
    code, _, err = iom(db, LEAD.name, monkeypatch, capsys, "query", "list", "-i", "nope")
    assert code == 1 and err.startswith("Error: no inspection named 'nope'")


@pytest.mark.parametrize("who, args, message", [
    (INSPECTOR.name, ["query", "open", "C0000", "2.1.1", "--comment", "x"],
     "Error: only a lead or a QA rater of case C0000 may open a query on it (Ivy Inspector "
     "is neither)"),
    ("Rita Researcher", ["query", "list"],
     "Error: only the inspector or lead role may read case records (Rita Researcher has the "
     "researcher role)"),
    (QA, ["query", "open", "C9999", "2.1.1", "--comment", "x"],
     "Error: no case 'C9999' in inspection 't'"),
    (QA, ["query", "open", "C0000", "2.1.1", "--comment", "\x1b[31mred"],
     "Error: a comment opening a query holds a control character (\\x1b, at character 1): "
     "only line breaks and tabs may be used"),
    (QA, ["query", "show", "7"], "Error: no query #7"),
    (QA, ["query", "respond", "7", "--text", "x"], "Error: no query #7"),
    (QA, ["query", "list", "--status", "pending"],
     "Error: a query's status is one of open, answered, closed, not 'pending'"),
])
def test_refusals_are_one_line(db: Database, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], who: str, args: list[str],
                               message: str) -> None:
    set_role(db, "Rita Researcher", "researcher")
    code, out, err = iom(db, who, monkeypatch, capsys, *args)
    assert (code, out, err) == (1, "", message + "\n")


def test_a_case_cannot_be_locked_from_the_command_line_import_while_queried(
        db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    iom(db, QA, monkeypatch, capsys, "query", "open", "C0000", "2.1.1", "--comment", "Why?")
    path = tmp_path / "lock.csv"
    path.write_text("case_ref,iom,status\nC0000,yes,locked\n")
    code, _, err = iom(db, LEAD.name, monkeypatch, capsys, "import", "cases", str(path))
    assert code == 1
    assert (f"{path}:2: column status: value 'locked': case C0000 cannot be locked while 1 "
            "data query on it is not closed") in err
    assert "Traceback" not in err


def test_query_help_loads_no_heavy_package() -> None:
    assert loaded_by(["query", "--help"]) == []
    assert loaded_by(["query", "open", "--help"]) == []
