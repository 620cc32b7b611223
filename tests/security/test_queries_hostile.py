"""Data queries under attack: a case file locking a case with an open query, a second
login on PostgreSQL acting through the app and writing SQL directly, and the trail's
record of who did what.

What holds: a case file cannot lock what the app may not lock (row, column and the same
sentence); a login acts only as itself (the trail names the login) and cannot forge a
trail event in another's name. What does not: a login holding the documented grants may
UPDATE `query` directly, as it may `answer` (docs/security.md says so); such a change
leaves no event in the trail, which is how it shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from audit import cases, queries
from audit.errors import PermissionDenied
from audit.imports.cases import import_cases
from audit.imports.problems import ImportRejected
from audit.permissions import Actor
from audit.store.engine import Database, open_database
from audit.views.progress import question_set_for
from tests.audit.imports.helpers import dump, write_csv
from tests.helpers import make_inspection, rate_qa, required_answers, set_role
from tests.security.lifecycle_setup import LEAD, answer_all, events, status, version
from tests.security.pg_grants import documented_login

QA = Actor("Quinn QA")


def test_a_case_file_cannot_lock_a_case_with_an_open_query(any_db: Database,
                                                           tmp_path: Path) -> None:
    ids = make_inspection(any_db, cases=2)
    set_role(any_db, LEAD.name, "lead")
    for case_id in ids:
        answer_all(any_db, case_id)
    q = queries.open_query(any_db, ids[0], "2.1.1", "Why yes?", actor=LEAD).id
    path = write_csv(tmp_path / "lock.csv", [["case_ref", "iom", "status"],
                                             ["C-0001", "no", "locked"],
                                             ["C-0002", "yes", "locked"]])
    before = dump(any_db)
    with pytest.raises(ImportRejected) as caught:
        import_cases(any_db, path, actor=LEAD)
    assert caught.value.lines == [
        f"{path}:2: column status: value 'locked': case C-0001 cannot be locked while 1 data "
        "query on it is not closed (iom-audit query list, or the Queries screen)"]
    assert dump(any_db) == before
    queries.respond(any_db, q, "Read the plan", actor=Actor("Ivy Inspector"))
    with pytest.raises(ImportRejected) as caught:
        import_cases(any_db, path, actor=LEAD)  # answered is not closed
    assert len(caught.value.lines) == 1 and "1 data query" in caught.value.lines[0]
    queries.close_query(any_db, q, actor=LEAD)
    import_cases(any_db, path, actor=LEAD)
    assert [status(any_db, i) for i in ids] == ["locked", "locked"]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[tuple[Database, str, Database]]:
    """The owner's database (C-0001 answered by the login, its QA rated by Quinn) and a
    real login with exactly the documented grants: (owner, login, login's database)."""
    owner = open_database(postgres_url)
    with documented_login(postgres_url, "iomq") as (login, url):
        ids = make_inspection(owner, cases=1)
        set_role(owner, LEAD.name, "lead")
        set_role(owner, QA.name, "inspector")
        as_login = open_database(url, migrate=False)
        try:
            # The login is the primary rater: it answers every required question.
            view = cases.load_case(owner, ids[0], actor=LEAD)
            qs = question_set_for(owner, view.inspection_id)
            for qid, value in required_answers(qs, view.rule_case()).items():
                cases.record_answer(as_login, ids[0], qid, value, actor=Actor(login),
                                    expected_version=version(owner, ids[0]))
            rate_qa(owner, ids[0], QA.name)
            yield owner, login, as_login
        finally:
            as_login.dispose()
            owner.dispose()


@pytest.mark.postgres
def test_a_second_login_acts_only_as_itself_and_the_trail_says_who(
        pg: tuple[Database, str, Database]) -> None:
    owner, login, as_login = pg
    case_id = 1
    q = queries.open_query(owner, case_id, "2.1.1", "Why yes?", actor=QA)
    assert q.assignee == login
    # The login cannot act under another name: not QA's, not the lead's.
    for other in (QA, LEAD):
        with pytest.raises(PermissionDenied, match=f"you are logged in to the database as "
                                                   f"{login}: you cannot act as {other.name}"):
            queries.close_query(as_login, q.id, "done", actor=other)
    # Acting as itself it may not close (it is the assignee, not QA) ...
    with pytest.raises(PermissionDenied, match=f"may close query #{q.id}"):
        queries.close_query(as_login, q.id, "done", actor=Actor(login))
    # ... but it changes its answer, and every event of that names the login.
    queries.change_answer(as_login, q.id, "no", "read again", actor=Actor(login))
    steps = [(e["who"], e["entity"], e["field"]) for e in events(owner, case_id)
             if e["entity"] in ("query", "answer")][-3:]
    assert steps == [(login, "query", "2.1.1"), (login, "query", "reason"),
                     (login, "answer", "2.1.1")]
    # A forged trail event in QA's name is refused by the database itself.
    with pytest.raises(sa.exc.DBAPIError), as_login.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_event (at, who, entity, case_id, key, field, old_value, "
            "new_value) VALUES (now(), :who, 'query', :c, 'C-0001/2.1.1/primary#1', "
            "'2.1.1', 'answered', 'closed')"), {"who": QA.name, "c": case_id})
    # Writing the query table directly is not prevented (the documented grants allow it,
    # as for answers) ... but it leaves no event: the trail shows no one closing it.
    with as_login.engine.begin() as conn:
        conn.execute(sa.text("UPDATE query SET status = 'closed' WHERE id = :q"), {"q": q.id})
    closing = [e for e in events(owner, case_id)
               if e["entity"] == "query" and e["new_value"] == "closed"]
    assert closing == []
    # The lead can still lock only through the use case, which reads the query as closed:
    # the record of who closed it is what is missing, and `history` shows that gap.
    cases.set_status(owner, case_id, "locked", actor=LEAD,
                     expected_version=version(owner, case_id))
