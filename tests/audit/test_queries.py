"""Data queries on answers (audit/queries.py), on SQLite and PostgreSQL.

Ivy Inspector gives the primary rating of case C-0001 and completes it; Quinn QA rates
its blind QA (so Quinn is its QA rater); Lee Lead leads. The story: Quinn opens a query,
Ivy changes the answer with a reason (or responds), Quinn closes it; locking is refused
while the query is open or answered and allowed once it is closed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from audit import cases, queries
from audit.errors import AuditError, NotFoundError, PermissionDenied, UsageError
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case, Query, QueryMessage
from audit.trail import case_history
from audit.views import queries as views
from tests.databases import Prepare
from tests.helpers import make_inspection, rate_qa, set_role
from tests.security.lifecycle_setup import (
    INSPECTOR,
    LEAD,
    OTHER,
    answer_all,
    events,
    status,
    version,
)

QA = Actor("Quinn QA")
RESEARCHER = Actor("Rita Researcher")


def _story(db: Database) -> list[int]:
    """C-0001 complete (Ivy), its blind QA rated (Quinn); C-0002 and C-0003 untouched."""
    ids = make_inspection(db)
    set_role(db, LEAD.name, "lead")
    for person in (INSPECTOR, OTHER, QA):
        set_role(db, person.name, "inspector")
    set_role(db, RESEARCHER.name, "researcher")
    answer_all(db, ids[0])
    cases.set_status(db, ids[0], "complete", actor=INSPECTOR,
                     expected_version=version(db, ids[0]))
    rate_qa(db, ids[0], QA.name)
    return ids


@pytest.fixture(params=["sqlite", "postgres"])
def story(request: pytest.FixtureRequest, prepare: Prepare) -> tuple[Database, list[int]]:
    """A copy of `_story`'s cases (rated answer by answer: built once, not per test), on
    SQLite and on PostgreSQL."""
    db, ids = prepare(request.param, "queries-story", _story)
    return db, ids


def _lock(db: Database, case_id: int) -> cases.Change:
    return cases.set_status(db, case_id, "locked", actor=LEAD,
                            expected_version=version(db, case_id))


def _answer(db: Database, case_id: int, qid: str = "2.1.1") -> str | None:
    return cases.load_case(db, case_id, actor=LEAD).values().get(qid)


def _query_events(db: Database, case_id: int) -> list[tuple[Any, ...]]:
    return [(e["who"], e["field"], e["old_value"], e["new_value"])
            for e in events(db, case_id) if e["entity"] == "query"]


def _messages(db: Database, query_id: int) -> list[tuple[str, str]]:
    return [(m.author, m.action) for m in views.thread(db, query_id, actor=LEAD).messages]


def test_a_query_opened_answered_and_closed_between_two_inspectors(
        story: tuple[Database, list[int]]) -> None:
    db, ids = story
    case = ids[0]
    opened = queries.open_query(db, case, "2.1.1", "Where is the evidence of a RoSH "
                                "assessment before release?", actor=QA)
    assert (opened.status, opened.assignee, opened.case_ref) == ("open", INSPECTOR.name,
                                                                 "C-0001")
    # Open: locking is refused, in one sentence naming how many.
    with pytest.raises(UsageError) as refused:
        _lock(db, case)
    assert str(refused.value) == ("case C-0001 cannot be locked while 1 data query on it is "
                                  "not closed (iom-audit query list, or the Queries screen)")
    assert status(db, case) == "complete"

    changed = queries.change_answer(db, opened.id, "no", "the RoSH was assessed after "
                                    "release", actor=INSPECTOR)
    assert changed.status == "answered" and _answer(db, case) == "no"
    # The case was signed off: the change reopened it, with the query's reason.
    assert changed.reopened_from == "complete" and status(db, case) == "in_progress"
    with pytest.raises(UsageError, match="1 data query on it is not closed"):
        _lock(db, case)  # answered, not closed: still in QA's hands

    closed = queries.close_query(db, opened.id, actor=QA)
    assert closed.status == "closed"
    _lock(db, case)
    assert status(db, case) == "locked"

    assert _messages(db, opened.id) == [(QA.name, "open"), (INSPECTOR.name, "change"),
                                        (QA.name, "close")]
    thread = views.thread(db, opened.id, actor=LEAD)
    assert (thread.messages[1].old_value, thread.messages[1].new_value) == ("yes", "no")
    assert _query_events(db, case) == [
        (QA.name, "2.1.1", None, "open"),
        (QA.name, "comment", None, "Where is the evidence of a RoSH assessment before "
                                   "release?"),
        (QA.name, "assignee", None, INSPECTOR.name),
        (INSPECTOR.name, "2.1.1", "open", "answered"),
        (INSPECTOR.name, "reason", None, "the RoSH was assessed after release"),
        (QA.name, "2.1.1", "answered", "closed"),
    ]
    # `history` reads the whole story, the query numbered, in order with the answer change.
    lines = [(e.who, e.what, e.field, e.old, e.new)
             for e in case_history(db, "C-0001", actor=LEAD)["insp"]]
    start = lines.index((QA.name, f"query #{opened.id}", "2.1.1", None, "open"))
    assert lines[start + 3:] == [
        (INSPECTOR.name, f"query #{opened.id}", "2.1.1", "open", "answered"),
        (INSPECTOR.name, f"query #{opened.id}", "reason", None,
         "the RoSH was assessed after release"),
        (INSPECTOR.name, "case", "status", "complete", "in_progress"),
        (INSPECTOR.name, "case", "reason", None, "the RoSH was assessed after release"),
        (INSPECTOR.name, "answer", "2.1.1", "yes", "no"),
        (QA.name, f"query #{opened.id}", "2.1.1", "answered", "closed"),
        (LEAD.name, "case", "status", "in_progress", "locked"),
    ]


def test_a_response_a_reopening_and_a_second_round(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.2", "Is this right?", actor=QA).id
    assert queries.respond(db, q, "Yes: see the plan of 3 May", actor=INSPECTOR).status == \
        "answered"
    assert _answer(db, ids[0], "2.1.2") == "yes" and status(db, ids[0]) == "complete"
    assert queries.reopen_query(db, q, "The plan is dated after the review", actor=QA).status \
        == "open"
    assert queries.respond(db, q, "Agreed, it was late", actor=INSPECTOR).status == "answered"
    assert queries.respond(db, q, "(and noted on file)", actor=INSPECTOR).status == "answered"
    assert queries.close_query(db, q, "Fine", actor=LEAD).status == "closed"
    assert queries.reopen_query(db, q, "One more thing", actor=LEAD).status == "open"
    with pytest.raises(UsageError, match=r"cannot be locked while 1 data query"):
        _lock(db, ids[0])
    assert [a for _, a in _messages(db, q)] == ["open", "respond", "reopen", "respond",
                                                "respond", "close", "reopen"]
    # The second response left the status where it was: no status event for it.
    moves = [(old, new) for _, field, old, new in _query_events(db, ids[0]) if field == "2.1.2"]
    assert moves == [(None, "open"), ("open", "answered"), ("answered", "open"),
                     ("open", "answered"), ("answered", "closed"), ("closed", "open")]


def test_who_may_open_a_query(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    for person in (OTHER, INSPECTOR):  # an inspector who does not QA the case
        with pytest.raises(PermissionDenied) as refused:
            queries.open_query(db, ids[0], "2.1.1", "Hm?", actor=person)
        assert str(refused.value) == (f"only a lead or a QA rater of case C-0001 may open a "
                                      f"query on it ({person.name} is neither)")
    with pytest.raises(PermissionDenied, match="only the inspector or lead role may open, "
                                               "answer or close data queries"):
        queries.open_query(db, ids[0], "2.1.1", "Hm?", actor=RESEARCHER)
    # The QA rater of one case is no QA rater of another.
    with pytest.raises(PermissionDenied, match="QA rater of case C-0002"):
        queries.open_query(db, ids[1], "2.1.1", "Hm?", actor=QA)
    # A lead may query, but not an answer they gave themselves.
    cases.record_answer(db, ids[1], "2.1.1", "yes", actor=LEAD,
                        expected_version=version(db, ids[1]))
    with pytest.raises(PermissionDenied, match="Lee Lead gave the primary answer to 2.1.1 of "
                                               "case C-0002: a query on it must come from "
                                               "someone else"):
        queries.open_query(db, ids[1], "2.1.1", "Hm?", actor=LEAD)
    assert queries.open_query(db, ids[0], "2.1.3", "Hm?", actor=LEAD).assignee == \
        INSPECTOR.name
    _no_queries_on(db, ids[1])


def _no_queries_on(db: Database, case_id: int) -> None:
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Query)
                            .where(Query.case_id == case_id)).scalar() == 0


def test_a_qa_rater_still_rating_blind_cannot_query_the_primary_rating(
        story: tuple[Database, list[int]]) -> None:
    db, ids = story
    cases.record_answer(db, ids[1], "2.1.1", "yes", actor=INSPECTOR,
                        expected_version=version(db, ids[1]))
    cases.record_answer(db, ids[1], "2.1.1", "no", actor=OTHER, rater="qa",
                        expected_version=version(db, ids[1]))  # Oli starts its blind QA
    with pytest.raises(PermissionDenied, match="case C-0002: its primary rating stays hidden "
                                               "from Oli Other until their blind QA rating "
                                               "is complete"):
        queries.open_query(db, ids[1], "2.1.1", "Hm?", actor=OTHER)
    q = queries.open_query(db, ids[1], "2.1.1", "Why?", actor=LEAD).id
    with pytest.raises(PermissionDenied, match="stays hidden from Oli Other"):
        views.thread(db, q, actor=OTHER)
    assert views.case_queries(db, ids[1], actor=OTHER) == []
    assert views.list_queries(db, actor=OTHER) == []
    assert [r.id for r in views.case_queries(db, ids[1], actor=INSPECTOR)] == [q]


def test_what_may_be_queried(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    with pytest.raises(NotFoundError, match="no question 'nope'"):
        queries.open_query(db, ids[0], "nope", "Hm?", actor=LEAD)
    with pytest.raises(UsageError, match="rater must be one of"):
        queries.open_query(db, ids[0], "2.1.1", "Hm?", actor=LEAD, rater="boss")
    # C-0002 has no answers: a missing required answer may be queried, nobody assigned...
    missing = queries.open_query(db, ids[1], "2.1.1", "Why is this unanswered?", actor=LEAD)
    assert missing.assignee is None
    # ... but not a question that is optional or does not apply to the case.
    for optional_or_not_asked in ("iom.partners", "factor.drugs.delivered"):
        with pytest.raises(UsageError) as refused:
            queries.open_query(db, ids[1], optional_or_not_asked, "Hm?", actor=LEAD)
        assert str(refused.value) == (
            f"{optional_or_not_asked} of case C-0002 has no primary answer to query (a "
            "query on a missing answer is for a required question that applies to the case)")
    # One query at a time per answer.
    first = queries.open_query(db, ids[0], "2.1.1", "Why?", actor=QA)
    with pytest.raises(UsageError) as refused:
        queries.open_query(db, ids[0], "2.1.1", "And?", actor=LEAD)
    assert str(refused.value) == (f"query #{first.id} on 2.1.1 of case C-0001 is still open: "
                                  "add to its thread instead")
    # A QA answer may be queried too (by a lead): its author, the QA rater, answers it.
    on_qa = queries.open_query(db, ids[0], "2.1.1", "Why yes?", actor=LEAD, rater="qa")
    assert on_qa.assignee == QA.name
    assert queries.respond(db, on_qa.id, "I read the plan", actor=QA).status == "answered"


def test_the_allocated_inspector_is_the_assignee_of_a_missing_answer(
        story: tuple[Database, list[int]]) -> None:
    db, ids = story
    with db.write_session() as session:
        case = session.get(Case, ids[2])
        assert case is not None
        case.allocated_to = cases.person_id(session, OTHER.name)
        session.add(case)
    q = queries.open_query(db, ids[2], "2.1.1", "Still to rate?", actor=LEAD)
    assert q.assignee == OTHER.name
    assert queries.respond(db, q.id, "On it", actor=OTHER).status == "answered"


def test_who_may_respond_change_close_and_reopen(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.1", "Why?", actor=QA).id
    with pytest.raises(PermissionDenied) as refused:
        queries.respond(db, q, "Because", actor=OTHER)
    assert str(refused.value) == (f"only the assignee (Ivy Inspector), the person who gave "
                                  f"the answer or a lead may answer query #{q} (Oli Other may "
                                  "not)")
    with pytest.raises(PermissionDenied, match="may answer query"):
        queries.respond(db, q, "Because", actor=QA)
    with pytest.raises(PermissionDenied, match="only the inspector or lead role may"):
        queries.respond(db, q, "Because", actor=RESEARCHER)
    with pytest.raises(AuditError):  # Oli may not change Ivy's answer through the query
        queries.change_answer(db, q, "no", "I think so", actor=OTHER)
    with pytest.raises(PermissionDenied, match="only a lead or a QA rater of case C-0001 may "
                                               f"close query #{q} \\(Ivy Inspector is "
                                               "neither\\)"):
        queries.close_query(db, q, "done", actor=INSPECTOR)
    with pytest.raises(UsageError) as refused:
        queries.close_query(db, q, actor=QA)
    assert str(refused.value) == (f"query #{q} has no response yet: closing it needs a "
                                  "comment saying why")
    with pytest.raises(UsageError, match=f"query #{q} is already open"):
        queries.reopen_query(db, q, "again", actor=QA)
    assert _answer(db, ids[0]) == "yes"
    assert _messages(db, q) == [(QA.name, "open")]  # every refusal left the thread as it was
    assert queries.close_query(db, q, "Withdrawn: my mistake", actor=QA).status == "closed"
    with pytest.raises(UsageError, match=f"query #{q} is closed: a lead or QA rater re-opens"):
        queries.respond(db, q, "late", actor=INSPECTOR)
    with pytest.raises(UsageError, match=f"query #{q} is closed"):
        queries.change_answer(db, q, "no", "late", actor=INSPECTOR)
    with pytest.raises(UsageError, match=f"query #{q} is already closed"):
        queries.close_query(db, q, actor=QA)
    with pytest.raises(PermissionDenied, match=f"may re-open query #{q}"):
        queries.reopen_query(db, q, "again", actor=INSPECTOR)
    with pytest.raises(NotFoundError, match="no query #999"):
        queries.respond(db, 999, "?", actor=INSPECTOR)


def test_a_change_is_all_or_nothing(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.1", "Why?", actor=QA).id
    before = _query_events(db, ids[0])
    with pytest.raises(UsageError, match="the primary answer to 2.1.1 is already yes: "
                                         "respond instead"):
        queries.change_answer(db, q, "yes", "no change", actor=INSPECTOR)
    with pytest.raises(UsageError, match="changing an answer through a query needs a reason"):
        queries.change_answer(db, q, "no", "   ", actor=INSPECTOR)
    with pytest.raises(UsageError, match="2.1.1"):  # not an answer to the question
        queries.change_answer(db, q, "maybe", "a typo", actor=INSPECTOR)
    assert _answer(db, ids[0]) == "yes" and status(db, ids[0]) == "complete"
    assert _query_events(db, ids[0]) == before
    assert _messages(db, q) == [(QA.name, "open")]


@pytest.mark.parametrize("text, refusal", [
    ("", "a comment opening a query is needed"),
    ("   \n\t ", "a comment opening a query is needed"),
    ("x" * 2001, "at most 2,000 are kept"),
    ("see \x1b[2J", "holds a control character"),
    ("nul\x00", "holds a control character"),
    ("hidden\u202eRTL", "invisible formatting character"),
])
def test_hostile_comments_are_refused(story: tuple[Database, list[int]], text: str,
                                      refusal: str) -> None:
    db, ids = story
    with pytest.raises(UsageError, match=refusal):
        queries.open_query(db, ids[0], "2.1.1", text, actor=QA)
    _no_queries_on(db, ids[0])


def test_a_comment_is_kept_as_typed_with_its_line_breaks(
        story: tuple[Database, list[int]]) -> None:
    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.1", "  Two things:\n\t1. [b]the plan[/b]  ",
                           actor=QA).id
    assert views.thread(db, q, actor=LEAD).messages[0].text == \
        "Two things:\n\t1. [b]the plan[/b]"


def test_no_query_is_opened_or_reopened_on_a_locked_case(
        story: tuple[Database, list[int]]) -> None:
    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.2", "Why?", actor=QA).id
    queries.respond(db, q, "Because", actor=INSPECTOR)
    queries.close_query(db, q, actor=QA)
    _lock(db, ids[0])
    with pytest.raises(PermissionDenied, match="case C-0001 is locked"):
        queries.open_query(db, ids[0], "2.1.1", "Why?", actor=QA)
    with pytest.raises(PermissionDenied, match="case C-0001 is locked"):
        queries.reopen_query(db, q, "again", actor=LEAD)
    with pytest.raises(PermissionDenied, match="case C-0001 is locked"):
        queries.change_answer(db, q, "no", "late", actor=INSPECTOR)
    assert status(db, ids[0]) == "locked"


def test_several_queries_are_counted_in_the_refusal(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    for qid in ("2.1.1", "2.1.2", "2.1.3"):
        queries.open_query(db, ids[0], qid, "Why?", actor=QA)
    with pytest.raises(UsageError, match="while 3 data queries on it are not closed"):
        _lock(db, ids[0])


def test_the_read_models(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    a = queries.open_query(db, ids[0], "2.1.1", "Why?", actor=QA).id
    b = queries.open_query(db, ids[0], "2.1.2", "Why?", actor=QA).id
    c = queries.open_query(db, ids[1], "2.1.1", "Unanswered?", actor=LEAD).id
    queries.respond(db, b, "Because", actor=INSPECTOR)
    mine = {r.id: r.awaiting for r in views.my_queries(db, actor=INSPECTOR)}
    assert mine == {a: "respond"}
    assert {r.id: r.awaiting for r in views.my_queries(db, actor=QA)} == {b: "close"}
    # A lead: every answered query, and open ones nobody is assigned to.
    assert {r.id: r.awaiting for r in views.my_queries(db, actor=LEAD)} == {
        b: "close", c: "respond"}
    assert views.my_queries(db, actor=OTHER) == []
    assert [(s.site, s.open, s.answered, s.closed) for s in views.by_site(db, actor=LEAD)] == [
        ("Sheffield", 2, 1, 0)]
    assert [r.id for r in views.list_queries(db, actor=LEAD, status="answered")] == [b]
    assert views.unclosed_by_question(views.case_queries(db, ids[0], actor=LEAD),
                                      "primary") == {"2.1.1": "open", "2.1.2": "answered"}
    with pytest.raises(PermissionDenied, match="read case records"):
        views.list_queries(db, actor=RESEARCHER)
    with pytest.raises(UsageError, match="one of open, answered, closed"):
        views.list_queries(db, actor=LEAD, status="pending")


def test_purge_removes_the_queries_and_redacts_their_trail(
        story: tuple[Database, list[int]]) -> None:
    from audit.purge import purge_inspection

    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.1", "QUERY-MARKER in the comment", actor=QA).id
    queries.respond(db, q, "QUERY-MARKER in the response", actor=INSPECTOR)
    result = purge_inspection(db, "insp", actor=LEAD)
    assert result.removed["queries"] == 1
    with db.engine.connect() as conn:
        for model in (Query, QueryMessage):
            assert conn.execute(sa.select(sa.func.count()).select_from(model)).scalar() == 0
        texts = conn.execute(sa.text("SELECT old_value, new_value FROM audit_event "
                                     "WHERE entity = 'query'")).all()
    assert texts and all(v in (None, "[purged]") for row in texts for v in row)


def test_allowed_steps_say_what_the_steps_would_allow(story: tuple[Database, list[int]]) -> None:
    db, ids = story
    q = queries.open_query(db, ids[0], "2.1.1", "Why?", actor=QA).id
    assert queries.allowed_steps(db, q, actor=INSPECTOR) == {"respond", "change"}
    assert queries.allowed_steps(db, q, actor=QA) == {"close"}
    assert queries.allowed_steps(db, q, actor=LEAD) == {"respond", "change", "close"}
    assert queries.allowed_steps(db, q, actor=OTHER) == frozenset()
    assert queries.allowed_steps(db, q, actor=RESEARCHER) == frozenset()
    queries.respond(db, q, "Because", actor=INSPECTOR)
    assert queries.allowed_steps(db, q, actor=QA) == {"close", "reopen"}
    queries.close_query(db, q, actor=QA)
    assert queries.allowed_steps(db, q, actor=INSPECTOR) == frozenset()
    assert queries.allowed_steps(db, q, actor=QA) == {"reopen"}
    assert queries.allowed_steps(db, 999, actor=LEAD) == frozenset()


# ---------------------------------------------------------------- at the same time (PG)

def _in_thread(work: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.postgres
def test_a_query_opened_while_the_case_is_being_locked_waits_and_is_refused(
        postgres_db: Database) -> None:
    db = postgres_db
    ids = make_inspection(db)
    set_role(db, LEAD.name, "lead")
    answer_all(db, ids[0])
    rate_qa(db, ids[0], QA.name)
    # The lead's lock holds the case row (as set_status does) while a query is opened.
    with db.engine.connect() as conn:
        tx = conn.begin()
        conn.execute(sa.text('SELECT id FROM "case" WHERE id = :i FOR UPDATE'), {"i": ids[0]})
        thread, out = _in_thread(lambda: queries.open_query(db, ids[0], "2.1.1", "Why?",
                                                            actor=QA))
        time.sleep(0.5)
        assert thread.is_alive() and out == []  # it waits for the case row
        conn.execute(sa.text('UPDATE "case" SET status = \'locked\', version = version + 1 '
                             'WHERE id = :i'), {"i": ids[0]})
        tx.commit()
    thread.join(10)
    assert isinstance(out[0], PermissionDenied) and "case C-0001 is locked" in str(out[0])
    _no_queries_on(db, ids[0])


@pytest.mark.postgres
def test_a_lock_while_a_query_is_being_opened_waits_and_is_refused(
        postgres_db: Database) -> None:
    db = postgres_db
    ids = make_inspection(db)
    set_role(db, LEAD.name, "lead")
    answer_all(db, ids[0])
    rate_qa(db, ids[0], QA.name)
    before = version(db, ids[0])
    # A query being opened holds the case row until it commits.
    with db.engine.connect() as conn:
        tx = conn.begin()
        conn.execute(sa.text('SELECT id FROM "case" WHERE id = :i FOR UPDATE'), {"i": ids[0]})
        lead_id = conn.execute(sa.text("SELECT id FROM inspector WHERE name = :n"),
                               {"n": LEAD.name}).scalar()
        conn.execute(sa.text(
            "INSERT INTO query (case_id, question_id, rater, status, opened_by, opened_at, "
            "updated_at) VALUES (:c, '2.1.1', 'primary', 'open', :o, now(), now())"),
            {"c": ids[0], "o": lead_id})
        thread, out = _in_thread(lambda: cases.set_status(db, ids[0], "locked", actor=LEAD,
                                                          expected_version=before))
        time.sleep(0.5)
        assert thread.is_alive() and out == []
        tx.commit()
    thread.join(10)
    assert isinstance(out[0], UsageError) and "1 data query" in str(out[0])
    assert status(db, ids[0]) == "in_progress"
