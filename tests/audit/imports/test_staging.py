"""The two ways a ratings import stores answers write the same rows and the same trail.

A file whose (case, rater) pairs hold no stored answer goes straight into `answer`
(`AnswerStaging._insert_new`); any other file is diffed against the stored answers
(`AnswerStaging._merge_diff`). Forcing the diff on a first import must change nothing:
same answers, same audit events (in the same order on SQLite), same case versions.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from audit.imports import stage_answers as bulk
from audit.imports.cases import import_cases
from audit.imports.ratings import import_ratings
from audit.imports.stage_answers import AnswerStaging, upsert_answers
from audit.permissions import Actor
from audit.rules import inapplicable
from audit.store.engine import Database
from benchmarks import datagen
from question_sets import load_set
from question_sets.loader import load_file
from tests.audit.imports.helpers import new_inspection

WHO = "Path Tester"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Cases and a ratings file with notes, note-only rows, inspectors and qa ratings."""
    made, _ = datagen.ensure_files(tmp_path / "gen", 24, seed=11)
    ratings = pd.read_csv(made.ratings, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(5)
    n = len(ratings)
    free = ratings["question_id"].isin(datagen.YES_NO).to_numpy()
    notes = np.full(n, "", dtype=object)
    shared = rng.random(n) < 0.2
    notes[shared] = [f"shared note {k % 4}" for k in range(int(shared.sum()))]
    own = rng.random(n) < 0.05
    notes[own] = [f"note of row {k}" for k in np.flatnonzero(own)]
    notes[3] = "'=1+1"  # neutralised formula, stored as =1+1
    answers = ratings["answer"].to_numpy(dtype=object)
    note_only = free & (rng.random(n) < 0.1)
    answers[note_only] = ""
    notes[note_only] = "only a note"
    inspectors = np.array(["Ann Lee", "Jo Smith", ""], dtype=object)[np.arange(n) % 3]
    frame = pd.DataFrame({"case_ref": ratings["case_ref"], "question_id": ratings["question_id"],
                          "answer": answers, "note": notes, "inspector": inspectors,
                          "rater": "primary"})
    qa = frame[free & (rng.random(n) < 0.3)].assign(rater="qa", inspector="QA Person")
    frame = pd.concat([frame, qa]).sort_index(kind="stable")
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    return made.cases, path


def _last_event(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM audit_event")).scalar_one()


def _written(db: Database, inspection: str, after: int) -> dict[str, list[tuple[Any, ...]]]:
    """Answers, events after event `after`, and cases of one inspection, ids as case_refs."""
    with db.engine.connect() as conn:
        answers = conn.execute(sa.text("""
            SELECT c.case_ref, a.question_id, a.rater, a.value, a.note, p.name,
                   a.question_set_version, a.updated_at
            FROM answer a JOIN "case" c ON c.id = a.case_id
            JOIN inspection i ON i.id = c.inspection_id
            LEFT JOIN inspector p ON p.id = a.inspector_id
            WHERE i.name = :n ORDER BY a.id"""), {"n": inspection}).all()
        events = conn.execute(sa.text("""
            SELECT e.entity, c.case_ref, e.key, e.field, e.old_value, e.new_value, e.who, e.at
            FROM audit_event e JOIN "case" c ON c.id = e.case_id
            JOIN inspection i ON i.id = c.inspection_id
            WHERE i.name = :n AND e.id > :after ORDER BY e.id"""),
                              {"n": inspection, "after": after}).all()
        cases = conn.execute(sa.text("""
            SELECT c.case_ref, c.status, c.version FROM "case" c
            JOIN inspection i ON i.id = c.inspection_id
            WHERE i.name = :n ORDER BY c.case_ref"""), {"n": inspection}).all()
    stamps = {r[-1] for r in answers} | {r[-1] for r in events}
    assert len(stamps) <= 1, "one import, one timestamp"
    return {"answers": [tuple(r[:-1]) for r in answers],
            "events": [tuple(r[:-1]) for r in events],
            "cases": [tuple(r) for r in cases]}


class Ways:
    """Counts which way each merge took."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.taken: list[str] = []
        insert, diff = AnswerStaging._insert_new, AnswerStaging._merge_diff

        def spy_insert(stage: AnswerStaging, at: Any) -> Any:
            self.taken.append("insert")
            return insert(stage, at)

        def spy_diff(stage: AnswerStaging, at: Any) -> Any:
            self.taken.append("diff")
            return diff(stage, at)

        monkeypatch.setattr(AnswerStaging, "_insert_new", spy_insert)
        monkeypatch.setattr(AnswerStaging, "_merge_diff", spy_diff)


def test_direct_insert_and_diff_write_the_same(any_db: Database, files: tuple[Path, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cases, ratings = files
    ways = Ways(monkeypatch)
    results, written = {}, {}
    for name in ("direct", "diffed"):
        new_inspection(any_db, name)
        import_cases(any_db, cases, inspection=name, actor=Actor(WHO))
        before = _last_event(any_db)
        with monkeypatch.context() as m:
            if name == "diffed":
                m.setattr(AnswerStaging, "only_new", lambda stage: False)
            results[name] = import_ratings(any_db, ratings, inspection=name, actor=Actor(WHO),
                                           chunk_rows=300).result
        written[name] = _written(any_db, name, before)
    assert ways.taken == ["insert", "diff"]
    assert results["direct"] == results["diffed"]
    assert results["direct"].created > 1000 and results["direct"].events > 1000
    direct, diffed = written["direct"], written["diffed"]
    if any_db.location.is_sqlite:  # same order too (PostgreSQL joins promise none)
        assert direct == diffed
    else:
        assert {k: sorted(v, key=repr) for k, v in direct.items()} == \
               {k: sorted(v, key=repr) for k, v in diffed.items()}
    entities = {e[0] for e in direct["events"]}
    # 'rating': whom the file attributes answers to, beside the importer (rated_by)
    assert entities == {"answer", "note", "case", "rating"}
    assert ("note", "=1+1") in {(e[0], e[5]) for e in direct["events"]}
    assert any(a[3] is None and a[4] == "only a note" for a in direct["answers"])
    assert {a[2] for a in direct["answers"]} == {"primary", "qa"}


def test_reimport_is_diffed_and_changes_nothing(any_db: Database, files: tuple[Path, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cases, ratings = files
    new_inspection(any_db, "thematic")
    import_cases(any_db, cases, actor=Actor(WHO))
    ways = Ways(monkeypatch)
    first = import_ratings(any_db, ratings, actor=Actor(WHO)).result
    before = _last_event(any_db)
    again = import_ratings(any_db, ratings, actor=Actor(WHO)).result
    assert ways.taken == ["insert", "diff"]
    assert (again.created, again.updated, again.removed, again.events) == (0, 0, 0, 0)
    assert again.unchanged == first.created + first.unchanged
    assert _last_event(any_db) == before


def test_new_rater_is_direct_but_stored_pairs_are_diffed(
        any_db: Database, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cases, ratings = files
    frame = pd.read_csv(ratings, dtype=str, keep_default_na=False)
    primary = frame[frame["rater"] == "primary"].drop(columns="rater")
    refs = sorted(primary["case_ref"].unique())
    folder = ratings.parent
    first = folder / "first.csv"
    primary[primary["case_ref"].isin(refs[:10])].to_csv(first, index=False)
    qa = folder / "qa.csv"
    # The same answers as a second rater's (QA independence: someone else's).
    primary[primary["case_ref"].isin(refs[:10])].assign(inspector="QA Person").to_csv(
        qa, index=False)
    overlap = folder / "overlap.csv"
    changed = primary[primary["case_ref"].isin(refs[9:])].copy()
    changed.loc[changed["question_id"] == "2.1.1", "answer"] = "yes"
    changed.to_csv(overlap, index=False)

    new_inspection(any_db, "thematic")
    import_cases(any_db, cases, actor=Actor(WHO))
    ways = Ways(monkeypatch)
    import_ratings(any_db, first, actor=Actor(WHO))
    qa_result = import_ratings(any_db, qa, actor=Actor(WHO), rater="qa").result
    result = import_ratings(any_db, overlap, actor=Actor(WHO)).result
    assert ways.taken == ["insert", "insert", "diff"]
    assert qa_result.created == len(primary[primary["case_ref"].isin(refs[:10])]) - \
        qa_result.unchanged
    was = primary[(primary["case_ref"] == refs[9]) & (primary["question_id"] == "2.1.1")]
    assert result.updated == int((was["answer"] != "yes").sum())
    with any_db.engine.connect() as conn:
        stored = dict(conn.execute(sa.text(
            'SELECT a.rater, COUNT(*) FROM answer a GROUP BY a.rater')).all())
        value = conn.execute(sa.text(
            'SELECT a.value FROM answer a JOIN "case" c ON c.id = a.case_id '
            "WHERE c.case_ref = :r AND a.question_id = '2.1.1' AND a.rater = 'primary'"),
            {"r": refs[9]}).scalar_one()
    assert value == "yes"
    assert stored["qa"] == qa_result.created
    assert stored["primary"] == int((primary["answer"] != "").sum() +
                                    ((primary["answer"] == "") & (primary["note"] != "")).sum())


def test_upsert_answers_without_note_column_keeps_notes(any_db: Database,
                                                        files: tuple[Path, Path]) -> None:
    cases, ratings = files
    new_inspection(any_db, "thematic")
    import_cases(any_db, cases, actor=Actor(WHO))
    with any_db.engine.connect() as conn:
        case_id = conn.execute(sa.text('SELECT MIN(id) FROM "case"')).scalar_one()
    rows = pd.DataFrame({"case_id": [case_id, case_id], "question_id": ["2.1.1", "2.1.2"],
                         "value": ["yes", None], "note": [None, "a note"],
                         "rater": ["primary", "primary"], "inspector": ["Ann Lee", None]})
    with any_db.write() as conn:
        first = upsert_answers(conn, 1, rows, who=WHO, question_set_version="v")
    with any_db.write() as conn:
        second = upsert_answers(conn, 1, rows.drop(columns="note").assign(value="no"), who=WHO,
                                question_set_version="v")
    assert (first.created, first.events) == (2, 3)  # an answer, a note, the case started
    assert (second.created, second.updated) == (0, 2)
    with any_db.engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT question_id, value, note FROM answer ORDER BY question_id")).all()
    assert [tuple(r) for r in stored] == [("2.1.1", "no", None), ("2.1.2", "no", "a note")]


# ------------------------------------------------------------------- rules, vectorised

CHAIN = """\
id: chain-test
version: "1.0"
title: Chained rules
sections:
  - id: s
    title: S
    questions:
      - id: a
        text: A?
        type: yes_no
        applies_when: "case.domestic_abuse"
      - id: b
        text: B?
        type: yes_no
        applies_when: "answers['a'] == 'yes'"
      - id: c
        text: C?
        type: yes_no
        applies_when: "answers['b'] == 'yes' or case.case_type == 'community'"
      - id: d
        text: D?
        type: yes_no
"""


@pytest.mark.parametrize("which", ["chain", "thematic"])
def test_inapplicable_agrees_with_question_set_applicable(which: str, tmp_path: Path) -> None:
    if which == "chain":
        (tmp_path / "chain-test-1.0.yaml").write_text(CHAIN)
        qs = load_file(tmp_path / "chain-test-1.0.yaml")
    else:
        qs = load_set("iom-thematic-2019")
    questions = sorted({q.id for q in qs.questions if q.rule is not None} |
                       {r for q in qs.questions if q.rule is not None
                        for r in q.rule.question_ids})
    rng = random.Random(7)
    profiles = pd.DataFrame(
        {"case_type": [rng.choice(["community", "post_release", "non_statutory", None])
                       for _ in range(60)],
         "domestic_abuse": [rng.choice([True, False, None]) for _ in range(60)],
         "child_safeguarding": [rng.choice([True, False, None]) for _ in range(60)]},
        index=range(100, 160), dtype=object)
    rows = []
    for case_id in range(100, 160):
        for rater in ("primary", "qa"):
            for qid in questions:
                if rng.random() < 0.6:
                    codes = list(qs.question(qid).codes) or ["yes", "no"]
                    rows.append((case_id, rater, qid, rng.choice(codes)))
    answers = pd.DataFrame(rows, columns=["case_id", "rater", "question_id", "value"])
    found = inapplicable(qs, answers, profiles)
    got = {tuple(r) for r in found[["case_id", "rater", "question_id"]].itertuples(index=False)}
    expected = set()
    for (case_id, rater), group in answers.groupby(["case_id", "rater"]):
        case = {k: v for k, v in profiles.loc[case_id].items() if v is not None}
        given = dict(zip(group["question_id"], group["value"], strict=True))
        verdict = qs.applicable(case, given)
        expected |= {(case_id, rater, q) for q in given if not verdict[q]}
    assert got == expected
    assert expected  # the data exercises the rules
    keys = list(found[["case_id", "rater"]].itertuples(index=False))
    for qid in qs.rule_order:  # rule by rule, groups in (case, rater) order
        mine = [k for k, q in zip(keys, found["question_id"], strict=True) if q == qid]
        assert mine == sorted(mine)


def test_a_file_of_notes_only(any_db: Database, files: tuple[Path, Path]) -> None:
    """No answer at all in a chunk: the parsed answers are an empty categorical."""
    cases, ratings = files
    new_inspection(any_db, "thematic")
    import_cases(any_db, cases, actor=Actor(WHO))
    frame = pd.read_csv(ratings, dtype=str, keep_default_na=False)
    notes = frame[frame["rater"] == "primary"].head(50).assign(answer="", note="just a note")
    path = ratings.parent / "notes.csv"
    notes.to_csv(path, index=False)
    result = import_ratings(any_db, path, actor=Actor(WHO), chunk_rows=20).result
    assert (result.created, result.events) == (50, 50)  # note events; no case starts
    with any_db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT value, note FROM answer")).all()
        statuses = conn.execute(sa.text('SELECT DISTINCT status FROM "case"')).scalars().all()
    assert {tuple(r) for r in stored} == {(None, "just a note")}
    assert statuses == ["not_started"]


def _indexes(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'answer' "
            "ORDER BY name")).all()
    return [(r[0], r[1]) for r in rows]


def _own_index(db: Database) -> None:
    """A secondary index of the test's own, whatever the schema has."""
    with db.write() as conn:
        conn.exec_driver_sql("CREATE INDEX ix_test_answer_value ON answer (value, rater)")


@contextmanager
def _ddl(db: Database) -> Any:
    """The DROP INDEX and CREATE INDEX statements run meanwhile."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("DROP INDEX", "CREATE INDEX")):
            seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)


def test_bulk_insert_builds_indexes_after_and_keeps_them(
        sqlite_db: Database, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite drops answer's secondary indexes for a bulk insert and builds them after."""
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    cases, ratings = files
    new_inspection(sqlite_db, "thematic")
    import_cases(sqlite_db, cases, actor=Actor(WHO))
    _own_index(sqlite_db)
    before = _indexes(sqlite_db)
    secondary = [(n, sql) for n, sql in before if sql and "UNIQUE" not in sql.upper()]
    with _ddl(sqlite_db) as ddl:
        result = import_ratings(sqlite_db, ratings, actor=Actor(WHO)).result
    assert result.created > 1000
    assert secondary  # the schema has one to rebuild
    assert ddl == [f'DROP INDEX "{n}"' for n, _ in secondary] + \
        [" ".join(sql.split()) for _, sql in secondary]
    assert _indexes(sqlite_db) == before
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"


def test_a_failed_bulk_insert_leaves_the_indexes(sqlite_db: Database,
                                                 files: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the caller goes on after the error and commits, the schema is intact."""
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    cases, _ = files
    new_inspection(sqlite_db, "thematic")
    import_cases(sqlite_db, cases, actor=Actor(WHO))
    _own_index(sqlite_db)
    before = _indexes(sqlite_db)
    with sqlite_db.engine.connect() as conn:
        case_id = conn.execute(sa.text('SELECT MIN(id) FROM "case"')).scalar_one()
    twice = pd.DataFrame({"case_id": [case_id] * 2, "question_id": ["2.1.1"] * 2,
                          "value": ["yes", "no"], "rater": ["primary"] * 2,
                          "inspector": ["Ann Lee"] * 2})
    with _ddl(sqlite_db) as ddl, sqlite_db.write() as conn:
        with pytest.raises(sa.exc.IntegrityError):
            upsert_answers(conn, 1, twice, who=WHO, question_set_version="v")
        threads = conn.exec_driver_sql("PRAGMA threads").scalar_one()
    assert ddl  # dropped, then built again though the insert failed
    assert threads == 0
    assert _indexes(sqlite_db) == before


def test_no_rebuild_for_small_imports_or_into_a_full_table(
        sqlite_db: Database, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cases, ratings = files
    new_inspection(sqlite_db, "thematic")
    import_cases(sqlite_db, cases, actor=Actor(WHO))
    frame = pd.read_csv(ratings, dtype=str, keep_default_na=False)
    primary, qa = frame[frame["rater"] == "primary"], frame[frame["rater"] == "qa"]
    primary.to_csv(ratings.parent / "primary.csv", index=False)
    qa.to_csv(ratings.parent / "qa.csv", index=False)
    with _ddl(sqlite_db) as ddl:  # below REBUILD_MIN_ROWS
        import_ratings(sqlite_db, ratings.parent / "primary.csv", actor=Actor(WHO))
    assert ddl == []
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    with _ddl(sqlite_db) as ddl:  # new answers, but fewer than twice the stored ones
        import_ratings(sqlite_db, ratings.parent / "qa.csv", actor=Actor(WHO))
    assert ddl == []
