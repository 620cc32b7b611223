"""The trail is a hash chain: `verify` passes on an honest database and names the first
event someone with the file changed, removed or added (issue 15, "the trail can be
rewritten").

Attacks are made as someone holding the SQLite file would: with a plain sqlite3
connection, dropping a trigger, editing, and putting the trigger back.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from hashlib import sha256
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit.cases import record_answer, save_note
from audit.permissions import Actor
from audit.purge import purge_inspection
from audit.store import chain, chain_bulk
from audit.store.chain_check import ChainReport, query_of, verify
from audit.store.engine import Database, open_database
from audit.store.models import utcnow
from audit.trail import record_many, verify_trail
from cli.app import run
from tests.databases import Prepare, default_demo
from tests.helpers import FREE_QUESTIONS, make_inspection, set_role

LEAD = "Lee Lead"


def _verify(db: Database) -> ChainReport:
    with db.engine.connect() as conn:
        return verify(query_of(conn), conn.dialect.name)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo database (built once for this file); tests work on copies."""
    return default_demo(tmp_path_factory.mktemp("trail-demo") / "demo.db", LEAD)


@pytest.fixture
def demo_copy(demo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", LEAD)
    target = tmp_path / "copy.db"
    shutil.copyfile(demo_file, target)
    return target


def _as_attacker(path: Path, *statements: str, trigger: str = "audit_event_no_update") -> None:
    """Drop a trigger, run the statements, put the trigger back (what the file allows)."""
    conn = sqlite3.connect(path)
    try:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (trigger,)).fetchone()[0]
        conn.execute(f"DROP TRIGGER {trigger}")
        for statement in statements:
            conn.execute(statement)
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def _event(path: Path, where: str) -> tuple[int, int, str, str]:
    conn = sqlite3.connect(path)
    try:
        found = conn.execute(f"SELECT id, seq, who, key FROM audit_event WHERE {where} "
                             "ORDER BY seq LIMIT 1 OFFSET 500").fetchone()
    finally:
        conn.close()
    return found


def _cli_verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, dict]:
    code = run(["--db", str(path), "verify", "--json", str(path.with_suffix(".json"))])
    out, err = capsys.readouterr()
    return code, out, err, json.loads(path.with_suffix(".json").read_text())


def test_verify_passes_on_the_demo_and_prints_the_chain_head(
        demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err, doc = _cli_verify(demo_copy, capsys)
    conn = sqlite3.connect(demo_copy)
    count, (seq, head) = (conn.execute("SELECT COUNT(*) FROM audit_event").fetchone()[0],
                          conn.execute("SELECT seq, hash FROM audit_event "
                                       "ORDER BY seq DESC LIMIT 1").fetchone())
    conn.close()
    assert code == 0, err
    assert f"{count:,} event(s) chained" in out
    assert f"Chain head: seq {seq}, hash {head}" in out
    assert doc["ok"] and doc["events"] == count and doc["head"] == {"seq": seq, "hash": head}
    assert doc["broken"] == [] and doc["missing_protection"] == [] and doc["unsealed"] == 0


@pytest.mark.parametrize("change", ["new_value = 'yes'", "who = 'Someone Else'",
                                    "at = '2019-01-01 00:00:00.000000'",
                                    "key = 'DEMO-C-000001/2.1.1/primary'", "field = NULL",
                                    "case_id = case_id + 1", "entity = 'note'"])
def test_a_hand_edited_event_is_named(demo_copy: Path, change: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    event_id, seq, who, key = _event(demo_copy, "entity = 'answer' AND new_value = 'no'")
    _as_attacker(demo_copy, f"UPDATE audit_event SET {change} WHERE id = {event_id}")
    code, _, err, doc = _cli_verify(demo_copy, capsys)
    assert code == 1
    assert f"broken at event {event_id} (seq {seq}," in err
    assert "does not match its hash" in err and (key in err or "DEMO-C-000001" in err)
    # Only that event: each link is checked against the stored hash before it.
    assert doc["broken_count"] == 1 and doc["broken"][0]["id"] == event_id


def test_a_deleted_event_is_found(demo_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event_id, seq, _, _ = _event(demo_copy, "entity = 'answer'")
    _as_attacker(demo_copy, f"DELETE FROM audit_event WHERE id = {event_id}",
                 trigger="audit_event_no_delete")
    code, _, err, doc = _cli_verify(demo_copy, capsys)
    assert code == 1 and doc["broken"][0]["seq"] == seq + 1
    assert f"(seq {seq} to {seq}) are missing" in err


def test_a_forged_sealed_event_is_found(demo_copy: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(demo_copy)
    seq = conn.execute("SELECT MAX(seq) FROM audit_event").fetchone()[0]
    conn.execute("INSERT INTO audit_event (at, who, entity, key, field, new_value, seq, hash) "
                 "VALUES ('2024-01-01 00:00:00.000000', 'Lee Lead', 'export', 'all', 'rows', "
                 f"'0', {seq + 1}, '{'0' * 64}')")
    conn.commit()
    conn.close()
    code, _, err, doc = _cli_verify(demo_copy, capsys)
    assert code == 1 and doc["broken"][0]["seq"] == seq + 1 and "by Lee Lead, export" in err


def test_a_rebuilt_chain_verifies_but_its_head_changes(demo_copy: Path) -> None:
    """The limit of any chain an attacker can recompute: the recorded head shows it."""
    db = open_database(str(demo_copy))
    recorded = _verify(db)
    db.dispose()
    event_id, seq, _, _ = _event(demo_copy, "entity = 'answer' AND new_value = 'no'")
    conn = sqlite3.connect(demo_copy)
    rows = conn.execute(f"{chain.EVENTS_WITH_SECRET} WHERE e.seq >= {seq} "
                        "ORDER BY e.seq").fetchall()
    prev = conn.execute("SELECT hash FROM audit_event WHERE seq = ?", (seq - 1,)).fetchone()[0]
    rehashed = []
    for (i, s, _, at, who, entity, case_id, key, field, old, new, digest, secret) in rows:
        new = "yes" if i == event_id else new
        prev = chain.event_hash(prev, s, at, who, entity, case_id, key, field,
                                chain.values_of(digest, secret, old, new))
        rehashed.append((new, prev, i))
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'audit_event_no_update'"
                       ).fetchone()[0]
    conn.execute("DROP TRIGGER audit_event_no_update")
    conn.executemany("UPDATE audit_event SET new_value = ?, hash = ? WHERE id = ?", rehashed)
    conn.execute(sql)
    conn.commit()
    conn.close()
    db = open_database(str(demo_copy))
    rebuilt = _verify(db)
    db.dispose()
    assert rebuilt.ok and rebuilt.head_seq == recorded.head_seq
    assert rebuilt.head_hash != recorded.head_hash


def test_the_hash_is_the_documented_canonical_form(sqlite_db: Database) -> None:
    """An independent reader: the form in docs/security.md, recomputed with hashlib."""
    case_id = make_inspection(sqlite_db, cases=1)[0]
    v = record_answer(sqlite_db, case_id, "2.1.1", "yes", actor=Actor("Ann"),
                      expected_version=1).version
    save_note(sqlite_db, case_id, "2.1.1", "a | note: with 'separators' ✓\n",
              actor=Actor("Bob"), expected_version=v)
    with sqlite_db.write() as conn:  # an event of no case, as exports and restores write
        record_many(conn, [{"at": utcnow(), "who": "Ann", "entity": "export", "key": "all",
                            "field": "rows", "old_value": None, "new_value": "12"}])
    doc = Path(__file__).parents[2].joinpath("docs", "security.md").read_text()
    assert 'hash = sha256_hex(prev + "|v1|" + seq + "|" + at' in doc

    def t(text: str | None) -> str:
        return "" if text is None else f"{len(text)}:{text}"

    with sqlite_db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT e.seq, e.hash, e.at, e.who, e.entity, e.case_id, e.key, e.field, "
            "e.old_value, e.new_value, k.secret FROM audit_event e "
            'LEFT JOIN "case" c ON c.id = e.case_id '
            "LEFT JOIN trail_key k ON k.inspection_id = c.inspection_id ORDER BY e.seq").all()
    prev = "0" * 64
    # Registering Ann and Bob (role events), the answer, the note, the export.
    assert {r[4] for r in rows} >= {"inspector", "answer", "note", "export"}
    for seq, stored, at, who, entity, case, key, fld, old, new, secret in rows:
        when = at.replace(" ", "T") + "Z"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", when)
        values = sha256(f"v1|{t(secret)}|{t(old)}|{t(new)}".encode()).hexdigest()
        line = (f"{prev}|v1|{seq}|{when}|{t(who)}|{t(entity)}|{'' if case is None else case}|"
                f"{t(key)}|{t(fld)}|{values}")
        assert sha256(line.encode("utf-8")).hexdigest() == stored
        prev = stored


TRICKY = [("2024-01-01 00:00:00.000000", "Ann", "answer", 1, "C-1/2.1.1/primary", "2.1.1"),
          ("2024-02-29 23:59:59.999999", "Zoë | 12:x", "note", None, "ref|with:colons", None),
          ("2024-03-01 00:00:00.000001", "𝔄nn", "case", 123456, "C-1 ✓", "")]


def test_bulk_chaining_gives_each_row_its_own_seq_in_either_column_order() -> None:
    """The two functions an import's INSERT calls per row count the same rows, so a
    change in the order SQLite computes a row's columns cannot misplace a hash."""
    rows = [(*row, None, value) for row, value in zip(TRICKY, ("yes", "a note", "high"),
                                                       strict=True)]
    expected, prev = [], chain.GENESIS
    for seq, (at, who, entity, case_id, key, fld, old, new) in enumerate(rows, start=8):
        prev = chain.event_hash(prev, seq, at, who, entity, case_id, key, fld,
                                chain.value_digest(None if case_id is None else "k", old, new))
        expected.append((seq, prev))
    for seq_first in (True, False):
        chainer = chain_bulk._Chainer(7, chain.GENESIS, "k")
        got = []
        for at, who, entity, case_id, key, fld, old, new in rows:
            args = (at, who, entity, case_id, key, fld, old, new)
            if seq_first:
                seq = chainer.next_seq()
                got.append((seq, chainer.hash(*args)))
            else:
                link = chainer.hash(*args)
                got.append((chainer.next_seq(), link))
        assert got == expected and chainer.seq == 10


# ---------------------------------------------------------------------- both backends

def _fill(db: Database, name: str, cases: int = 3) -> list[int]:
    ids = make_inspection(db, name, cases=cases, prefix=name[:3].upper(), site=f"{name} site")
    for case_id in ids:
        v = 1
        for qid in FREE_QUESTIONS[:3]:
            v = record_answer(db, case_id, qid, "yes" if case_id % 2 else "no",
                              actor=Actor("Ann"), expected_version=v).version
        save_note(db, case_id, "2.1.1", f"note of case {case_id}", actor=Actor("Ann"),
                  expected_version=v)
    return ids


def _two_inspections(db: Database) -> list[int]:
    set_role(db, LEAD, "lead")
    gone = _fill(db, "old-inspection")
    _fill(db, "current")
    return gone


@pytest.fixture(params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, prepare: Prepare) -> tuple[Database, list[int]]:
    """Two inspections rated through the use cases (24 saves) and the ids of the first
    one's cases: a private copy of what was built once per backend."""
    db, gone = prepare(request.param, "trail-chain-filled", _two_inspections)
    return db, gone


def test_verify_passes_after_edits_and_the_trail_is_sealed(
        filled: tuple[Database, list[int]]) -> None:
    db, _ = filled
    report = verify_trail(db, actor=Actor(LEAD))
    with db.engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT COUNT(*) FROM audit_event").scalar()
        seqs = conn.exec_driver_sql("SELECT seq FROM audit_event ORDER BY seq").scalars().all()
    assert report.ok and report.events == count and not report.unsealed
    assert seqs == list(range(1, count + 1))


def test_purge_then_verify_passes_and_a_redacted_value_edited_back_is_found(
        filled: tuple[Database, list[int]]) -> None:
    db, gone = filled
    with db.engine.connect() as conn:
        secrets_before = conn.exec_driver_sql("SELECT COUNT(*) FROM trail_key").scalar()
    purge_inspection(db, "old-inspection", actor=Actor(LEAD))
    report = verify_trail(db, actor=Actor(LEAD))
    assert report.ok and report.redacted > 0, report.problems()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM trail_key").scalar() == \
            secrets_before - 1
        target = conn.exec_driver_sql(
            "SELECT id FROM audit_event WHERE new_value = '[purged]' ORDER BY id").scalar()
    # Someone with the database puts a value back: the redaction digest no longer fits.
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_event_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER USER")
        conn.exec_driver_sql(f"UPDATE audit_event SET new_value = 'yes' WHERE id = {target}")
        report = verify(query_of(conn), conn.dialect.name)
        conn.rollback()
    assert not report.ok and report.broken[0].id == target
    assert "after a purge" in report.broken[0].reason


def test_purged_digests_cannot_be_matched_without_the_deleted_key(
        filled: tuple[Database, list[int]]) -> None:
    """After a purge, trying every possible answer against the kept digest finds nothing."""
    db, gone = filled
    with db.engine.connect() as conn:
        before = conn.exec_driver_sql(
            f"SELECT e.id, e.old_value, e.new_value, k.secret FROM audit_event e "
            f'JOIN "case" c ON c.id = e.case_id JOIN trail_key k ON '
            f"k.inspection_id = c.inspection_id WHERE e.case_id = {gone[0]} "
            "AND e.entity = 'answer'").all()
    purge_inspection(db, "old-inspection", actor=Actor(LEAD))
    with db.engine.connect() as conn:
        after = dict(conn.exec_driver_sql(
            f"SELECT id, value_digest FROM audit_event WHERE case_id = {gone[0]}").all())
    assert before
    for event_id, old, new, secret in before:
        kept = after[event_id]
        assert kept == chain.value_digest(secret, old, new)  # what the chain committed to
        guesses = {chain.value_digest(None, o, n) for o in (None, "yes", "no", "na")
                   for n in (None, "yes", "no", "na")}
        assert kept not in guesses


def test_an_unsealed_event_is_reported_then_sealed_by_the_next_write(
        filled: tuple[Database, list[int]]) -> None:
    """Events other code writes with plain SQL (e.g. a role change on PostgreSQL) are
    chained by the next transaction that seals."""
    db, gone = filled
    with db.engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO audit_event (at, who, entity, key, field, old_value, "
                             "new_value) VALUES (CURRENT_TIMESTAMP, 'dba', 'inspector', "
                             "'Ann', 'role', 'inspector', 'lead')"))
        conn.commit()
    report = verify_trail(db, actor=Actor(LEAD))
    assert report.ok and report.unsealed == 1
    record_answer(db, gone[0], FREE_QUESTIONS[5], "yes", actor=Actor("Ann"),
                  expected_version=_version(db, gone[0]))
    report = verify_trail(db, actor=Actor(LEAD))
    assert report.ok and report.unsealed == 0


def _version(db: Database, case_id: int) -> int:
    with db.engine.connect() as conn:
        return int(conn.exec_driver_sql(f'SELECT version FROM "case" WHERE id = {case_id}')
                   .scalar_one())


def test_imports_chain_their_events(any_db: Database, tmp_path: Path) -> None:
    """Bulk imports (chained inside the INSERT on SQLite, sealed at commit on PostgreSQL),
    first into an empty inspection and then as a diff, verify."""
    from audit.imports.cases import import_cases
    from audit.imports.ratings import import_ratings

    set_role(any_db, LEAD, "lead")
    make_inspection(any_db, "imp", cases=0)
    refs = [f"R-{i:03d}" for i in range(40)]
    cases = tmp_path / "cases.csv"
    cases.write_text("case_ref,iom,site,rosh\n" + "".join(
        f"{r},{'yes' if i % 2 else 'no'},Leeds,{['low', 'high'][i % 2]}\n"
        for i, r in enumerate(refs)))
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("case_ref,question_id,answer,note\n" + "".join(
        f"{r},{q},{['yes', 'no'][(i + j) % 2]},{'n' * j}\n"
        for i, r in enumerate(refs) for j, q in enumerate(FREE_QUESTIONS[:4])))
    import_cases(any_db, cases, inspection="imp", actor=Actor(LEAD))
    import_ratings(any_db, ratings, inspection="imp", actor=Actor(LEAD))
    assert verify_trail(any_db, actor=Actor(LEAD)).ok
    ratings.write_text(ratings.read_text().replace(",yes,", ",maybe,").replace(
        ",no,", ",yes,").replace(",maybe,", ",no,"))
    import_ratings(any_db, ratings, inspection="imp", actor=Actor(LEAD))
    report = verify_trail(any_db, actor=Actor(LEAD))
    with any_db.engine.connect() as conn:
        count = conn.exec_driver_sql("SELECT COUNT(*) FROM audit_event").scalar()
    assert report.ok and report.events == count > 40 * 4 * 2


def test_a_researcher_may_not_verify(sqlite_db: Database,
                                     capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    set_role(sqlite_db, LEAD, "lead")
    set_role(sqlite_db, "Rita Researcher", "researcher")
    monkeypatch.setenv("IOM_AUDIT_INSPECTOR", "Rita Researcher")
    assert run(["--db", str(sqlite_db.location.path), "verify"]) == 1
    assert "only the inspector or lead role may verify the audit trail" in \
        capsys.readouterr().err
