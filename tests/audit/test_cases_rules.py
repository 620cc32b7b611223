"""Rules on `case.site` and `case.status` hold the same when rating in the app as in a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.cases import load_case, record_answer, set_status
from audit.errors import UsageError
from audit.inspections import create_inspection, get_or_create_site
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case

SET = """\
id: local
version: "1.0"
title: Local rules
sections:
  - id: s
    title: S
    questions:
      - id: leeds_only
        text: Asked at the Leeds site only?
        type: yes_no
        applies_when: "case.site == 'Leeds'"
      - id: after_qa
        text: Asked once a case is QA-checked?
        type: yes_no
        applies_when: "case.status in ['qa_checked', 'locked']"
"""


@pytest.fixture
def cases(sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    (tmp_path / "local.yaml").write_text(SET)
    monkeypatch.setenv("IOM_AUDIT_QUESTION_SETS", str(tmp_path))
    with sqlite_db.write_session() as session:
        insp = create_inspection(session, "local", question_set="local")
        made = {}
        for site_name in ("Leeds", "Hull"):
            site, _ = get_or_create_site(session, insp, site_name)
            case = Case(inspection_id=insp.id, case_ref=site_name, site_id=site.id)
            session.add(case)
            session.flush()
            assert case.id is not None
            made[site_name] = case.id
    return made


def test_a_site_rule_applies_in_the_app(sqlite_db: Database, cases: dict[str, int]) -> None:
    view = load_case(sqlite_db, cases["Leeds"], actor=Actor("Reader"))
    assert view.rule_case()["site"] == "Leeds"
    record_answer(sqlite_db, cases["Leeds"], "leeds_only", "yes", actor=Actor("Ann"),
                  expected_version=view.version)
    hull = load_case(sqlite_db, cases["Hull"], actor=Actor("Reader"))
    with pytest.raises(UsageError, match="does not apply"):
        record_answer(sqlite_db, cases["Hull"], "leeds_only", "yes", actor=Actor("Ann"),
                      expected_version=hull.version)


def test_a_status_rule_follows_the_work_flow(sqlite_db: Database,
                                             cases: dict[str, int]) -> None:
    case_id = cases["Hull"]
    view = load_case(sqlite_db, case_id, actor=Actor("Reader"))
    assert view.rule_case()["status"] == "not_started"
    with pytest.raises(UsageError, match="does not apply"):
        record_answer(sqlite_db, case_id, "after_qa", "yes", actor=Actor("Lee"),
                      expected_version=view.version)
    version = set_status(sqlite_db, case_id, "complete", actor=Actor("Lee"),
                         expected_version=view.version).version
    version = set_status(sqlite_db, case_id, "qa_checked", actor=Actor("Lee"),
                         expected_version=version).version
    # Once QA-checked the primary rating is signed off: a question asked of QA-checked
    # cases belongs to the QA rating (a primary answer would reopen the case first).
    record_answer(sqlite_db, case_id, "after_qa", "no", actor=Actor("Lee"),
                  expected_version=version, rater="qa")
    assert load_case(sqlite_db, case_id, actor=Actor("Reader")).values("qa") == {
        "after_qa": "no"}
