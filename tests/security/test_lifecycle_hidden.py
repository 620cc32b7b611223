"""Lost answers (issue 15, Why): an answer removed because a rule stopped applying was
gone for good; answering the rule question back did not restore it.

Now the answer (and its note) is kept hidden and comes back when its question applies
again, in the app and through both importers, each step in the trail. Hidden answers
count nowhere: compare, the report tables and exports are the same with or without
them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit import cases
from audit.imports.cases import import_cases
from audit.imports.ratings import import_ratings
from audit.store.engine import Database
from tests.audit.imports.helpers import cli, write_csv
from tests.helpers import make_inspection
from tests.security.lifecycle_setup import INSPECTOR, LEAD, events, people, version

GATE, FOLLOW = "iom.deselected", "iom.exit_strategy"  # asked when deselected == 'yes'


@pytest.fixture
def ids(any_db: Database) -> list[int]:
    made = make_inspection(any_db, cases=4)
    people(any_db)
    return made


def stored(db: Database, case_id: int) -> dict[str, tuple[str | None, str | None]]:
    view = cases.load_case(db, case_id, actor=LEAD)
    return {q: (a.value, a.note) for q, a in view.answers.get("primary", {}).items()}


def hidden(db: Database, case_id: int) -> list[tuple[str, str | None, str | None]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT question_id, value, note FROM hidden_answer WHERE case_id = :c "
            "ORDER BY id"), {"c": case_id})]


def answer(db: Database, case_id: int, qid: str, value: str | None) -> cases.Change:
    return cases.record_answer(db, case_id, qid, value, actor=INSPECTOR,
                               expected_version=version(db, case_id))


def test_an_answer_a_rule_hides_comes_back_with_its_note(any_db: Database,
                                                          ids: list[int]) -> None:
    cid = ids[0]
    answer(any_db, cid, GATE, "yes")
    answer(any_db, cid, FOLLOW, "yes")
    cases.save_note(any_db, cid, FOLLOW, "exit plan agreed with police", actor=INSPECTOR,
                    expected_version=version(any_db, cid))
    change = answer(any_db, cid, GATE, "no")  # the attack: the follow-up stops applying
    assert change.cleared == (FOLLOW,)
    assert FOLLOW not in stored(any_db, cid)
    assert hidden(any_db, cid) == [(FOLLOW, "yes", "exit plan agreed with police")]
    change = answer(any_db, cid, GATE, "yes")  # ... and applies again
    assert change.restored == (FOLLOW,)
    assert stored(any_db, cid)[FOLLOW] == ("yes", "exit plan agreed with police")
    assert hidden(any_db, cid) == []
    trail = [(e["entity"], e["field"], e["old_value"], e["new_value"])
             for e in events(any_db, cid)][-8:]
    assert trail == [
        ("answer", GATE, "yes", "no"),
        ("rule", FOLLOW, "shown", "hidden"),
        ("answer", FOLLOW, "yes", None),
        ("note", FOLLOW, "exit plan agreed with police", None),
        ("answer", GATE, "no", "yes"),
        ("rule", FOLLOW, "hidden", "shown"),
        ("answer", FOLLOW, None, "yes"),
        ("note", FOLLOW, None, "exit plan agreed with police")]


def test_a_profile_change_hides_and_brings_back_the_same_way(any_db: Database,
                                                             ids: list[int]) -> None:
    cid = ids[0]
    answer(any_db, cid, "iom.recalled", "yes")  # asked of post-release cases only
    cases.update_profile(any_db, cid, {"case_type": "community"}, actor=INSPECTOR,
                         expected_version=version(any_db, cid))
    assert "iom.recalled" not in stored(any_db, cid)
    cases.update_profile(any_db, cid, {"case_type": "post_release"}, actor=INSPECTOR,
                         expected_version=version(any_db, cid))
    assert stored(any_db, cid)["iom.recalled"] == ("yes", None)


def test_the_importers_hide_and_restore_by_the_same_rule(any_db: Database, ids: list[int],
                                                          tmp_path: Path) -> None:
    by_app, by_file = ids[0], ids[1]
    for value in ("yes", "no"):
        answer(any_db, by_app, GATE, value) if value == "no" else (
            answer(any_db, by_app, GATE, "yes"), answer(any_db, by_app, FOLLOW, "no"))
    header = ["case_ref", "question_id", "answer"]
    import_ratings(any_db, write_csv(tmp_path / "a.csv", [
        header, ["C-0002", GATE, "yes"], ["C-0002", FOLLOW, "no"]]), actor=INSPECTOR)
    summary = import_ratings(any_db, write_csv(tmp_path / "b.csv", [
        header, ["C-0002", GATE, "no"]]), actor=INSPECTOR)
    assert summary.cleared == 1
    assert stored(any_db, by_app) == stored(any_db, by_file)
    assert hidden(any_db, by_app) == hidden(any_db, by_file) == [(FOLLOW, "no", None)]
    summary = import_ratings(any_db, write_csv(tmp_path / "c.csv", [
        header, ["C-0002", GATE, "yes"]]), actor=INSPECTOR)
    assert summary.restored == 1 and stored(any_db, by_file)[FOLLOW] == ("no", None)
    # A case file's profile change goes through the same rule.
    answer(any_db, ids[2], "iom.recalled", "no")
    import_cases(any_db, write_csv(tmp_path / "p.csv", [["case_ref", "iom", "case_type"],
                                                         ["C-0003", "yes", "community"]]),
                 actor=INSPECTOR)
    assert hidden(any_db, ids[2]) == [("iom.recalled", "no", None)]
    summary = import_cases(any_db, write_csv(tmp_path / "q.csv", [
        ["case_ref", "iom", "case_type"], ["C-0003", "yes", "post_release"]]), actor=INSPECTOR)
    assert summary.restored == 1 and stored(any_db, ids[2])["iom.recalled"] == ("no", None)


def _outputs(db: Database, tmp_path: Path, tag: str,
             capsys: pytest.CaptureFixture[str]) -> tuple[str, object, dict[str, bytes]]:
    assert cli(db, "compare", "--by", "iom", "--questions", "all", "--json", "-") == 0
    compared = capsys.readouterr().out
    assert cli(db, "tables", "--json", "-") == 0
    tables = json.loads(capsys.readouterr().out)
    tables["meta"].pop("generated_at")
    out = tmp_path / f"export-{tag}"
    assert cli(db, "export", "--out", str(out), "--long") == 0
    capsys.readouterr()
    return compared, tables, {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_hidden_answers_count_nowhere(sqlite_db: Database, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    made = make_inspection(sqlite_db, cases=6)
    people(sqlite_db)
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD.name)
    for i, cid in enumerate(made):
        answer(sqlite_db, cid, "2.1.1", "yes" if i % 2 else "no")
        answer(sqlite_db, cid, GATE, "yes")
        answer(sqlite_db, cid, FOLLOW, "yes" if i % 3 else "no")
    for cid in made[:4]:
        answer(sqlite_db, cid, GATE, "no")  # hides four follow-up answers
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM hidden_answer")).scalar_one() == 4
    with_hidden = _outputs(sqlite_db, tmp_path, "a", capsys)
    row = {r["question_id"]: r for r in json.loads(with_hidden[0])["rows"]}[FOLLOW]
    assert sum(g["n"] for g in row["groups"].values()) == 2  # the two shown answers only
    with sqlite_db.write() as conn:  # the same database without the hidden answers
        conn.execute(sa.text("DELETE FROM hidden_answer"))
    without = _outputs(sqlite_db, tmp_path, "b", capsys)
    assert with_hidden == without
