"""Conflicts, drafts, leads, blind QA, the palette and the report, driven by the pilot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.command import CommandPalette

from audit import cases, drafts
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspector
from cli.app import run
from tests.databases import Prepare
from tests.helpers import KEY_QUESTIONS, rate_qa
from tests.tui.conftest import INSPECTOR, answer_required, case_id, fill_inspection
from tests.tui.test_rating_flow import SIZE, open_first_case, rows
from tui.app import IomAuditApp
from tui.screens.case import CaseScreen
from tui.screens.comparison import ComparisonScreen
from tui.screens.disagreements import DisagreementsScreen
from tui.screens.modals import ConflictModal, DraftsModal
from tui.screens.report import ReportScreen


async def test_conflict_keep_mine(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        cid = screen.case_id
        # Someone else answers the same question after the case was opened.
        cases.record_answer(db, cid, "2.1.1", "no", actor=Actor("Other Person"),
                            expected_version=screen.version)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConflictModal)
        assert (app.screen.mine, app.screen.theirs) == ("yes", "no")
        await pilot.press("m")
        await pilot.pause()
        assert screen.values["2.1.1"] == "yes"
    assert rows(db, Answer, case_id=cid, question_id="2.1.1")[0]["value"] == "yes"


async def test_conflict_take_theirs(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        cases.record_answer(db, screen.case_id, "2.1.1", "no", actor=Actor("Other Person"),
                            expected_version=screen.version)
        await pilot.press("y")
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert screen.values["2.1.1"] == "no"
    assert rows(db, Answer, case_id=screen.case_id, question_id="2.1.1")[0]["value"] == "no"


async def test_another_answer_elsewhere_is_no_conflict(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        cases.record_answer(db, screen.case_id, "2.1.2", "no", actor=Actor("Other Person"),
                            expected_version=screen.version)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, CaseScreen)
        assert screen.values == {"2.1.1": "yes", "2.1.2": "no"}  # theirs shown too


async def test_drafts_are_offered_back(db: Database) -> None:
    cid = case_id(db, "C0000")
    drafts.save_draft(db, cid, "2.1.3", "typed before the crash", actor=Actor("Ann Inspector"))
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_case(app, pilot)
        await pilot.pause()
        assert isinstance(app.screen, DraftsModal)
        await pilot.press("r")
        await pilot.pause()
    assert rows(db, Answer, case_id=cid)[0]["note"] == "typed before the crash"
    assert not drafts.drafts(db, cid, actor=Actor("Ann Inspector"))


async def lead_app(db: Database) -> IomAuditApp:
    with db.write_session() as session:
        session.add(Inspector(name="Ann Inspector", role="lead"))
    return IomAuditApp(db)


async def fill_case(db: Database, ref: str) -> None:
    """Answer every required applicable question of a case (factors not linked)."""
    answer_required(db, ref)


def _filled(*refs: str) -> Callable[[Database], None]:
    """`db`'s inspection with the required questions of `refs` answered (`fill_case`)."""
    def build(db: Database) -> None:
        fill_inspection(db)
        for ref in refs:
            answer_required(db, ref)
    return build


@pytest.fixture
def one_filled(prepare: Prepare) -> Database:
    """`db` after `fill_case(db, "C0000")`: a copy of what the use cases made once."""
    return prepare("sqlite", "tui-filled-C0000", _filled("C0000"))[0]


@pytest.fixture
def two_filled(prepare: Prepare) -> Database:
    """`db` after `fill_case` of C0000 and C0001: a copy of what the use cases made once."""
    return prepare("sqlite", "tui-filled-C0000-C0001", _filled("C0000", "C0001"))[0]


async def test_lead_locks_and_the_case_is_read_only(one_filled: Database) -> None:
    db = one_filled
    app = await lead_app(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        await pilot.press("C")  # QA-checked
        await pilot.pause()
        assert screen.view is not None and screen.view.status == "qa_checked"
        await pilot.press("L")
        await pilot.pause()
        assert screen.read_only
        await pilot.press("x")  # refused: the status line says why, nothing changes
        await pilot.pause()
        assert "The case is locked" in str(screen.query_one("#case-status").render())
        assert "Clear" not in {str(getattr(k, "description", ""))
                               for k in app.screen.query_one("Footer").children}
    assert rows(db, Case, id=screen.case_id)[0]["status"] == "locked"
    assert rows(db, Answer, case_id=screen.case_id, question_id="2.1.1")


async def test_inspector_cannot_lock(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_case(app, pilot)
        assert screen.check_action("toggle_lock", ()) is False
        await pilot.press("L")
        await pilot.pause()
    assert rows(db, Case, id=screen.case_id)[0]["status"] == "not_started"


async def test_blind_qa_then_moderation(db: Database) -> None:
    cid = case_id(db, "C0000")
    version = cases.record_answer(
        db, cid, "2.1.1", "yes", actor=Actor("Bo Rater"),
        expected_version=cases.load_case(db, cid, actor=Actor("Reader")).version).version
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("Q")  # blind QA of the highlighted case
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.rater == "qa"
        assert screen.values == {}  # the primary "yes" is hidden
        await pilot.press("n")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("D")  # refused until the blind QA rating is complete
        await pilot.pause()
        assert not isinstance(app.screen, DisagreementsScreen)
        rate_qa(db, cid, INSPECTOR, questions=KEY_QUESTIONS[1:])  # the rest of the QA
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, DisagreementsScreen)
        assert [r.question_id for r in app.screen.rows] == ["2.1.1"]
        await pilot.press("p")  # agree on the primary answer
        await pilot.pause()
    by_rater = {r["rater"]: r["value"]
                for r in rows(db, Answer, case_id=cid, question_id="2.1.1")}
    assert by_rater == {"primary": "yes", "qa": "no", "moderated": "yes"}
    assert version


async def test_palette_reaches_screens(db: Database) -> None:
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        for key in "report":
            await pilot.press(key)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReportScreen)


async def build_report_in_app(app: IomAuditApp) -> str:
    """Open the report screen, build with ctrl+b, wait for the worker; the screen's log."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+b")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        return "\n".join(app.screen.query_one("#report-log").lines)  # type: ignore[attr-defined]


async def test_report_builds_files(two_filled: Database, tmp_path: Path) -> None:
    db = two_filled
    app = await lead_app(db)
    app.report_dir = tmp_path
    log = await build_report_in_app(app)
    assert (tmp_path / "iom-audit-report.pdf").stat().st_size > 1000, log
    assert (tmp_path / "iom-audit-report.xlsx").stat().st_size > 1000, log


async def test_the_report_screen_takes_the_clis_options(two_filled: Database,
                                                        tmp_path: Path) -> None:
    """Word file, ONS 10-5, marking and organisation from the form, read back from the files
    by independent readers (python-docx, pypdf) and from the trail."""
    import docx
    from pypdf import PdfReader
    from textual.widgets import Input, Select

    db = two_filled
    app = await lead_app(db)
    app.report_dir = tmp_path
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#xlsx", Input).value = ""
        screen.query_one("#docx", Input).value = str(tmp_path / "r.docx")
        screen.query_one("#disclosure", Select).value = "ons-10-5"
        screen.query_one("#marking", Input).value = "OFFICIAL-SENSITIVE"
        screen.query_one("#organisation", Input).value = "HM Inspectorate of Probation"
        await pilot.press("ctrl+b")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        log = "\n".join(screen.query_one("#report-log").lines)  # type: ignore[attr-defined]
    assert "Written:" in log, log
    pdf_text = "\n".join(page.extract_text() for page in
                         PdfReader(tmp_path / "iom-audit-report.pdf").pages)
    assert "OFFICIAL-SENSITIVE" in pdf_text and "HM Inspectorate of Probation" in pdf_text
    assert "ONS" in pdf_text
    word = docx.Document(str(tmp_path / "r.docx"))
    body = "\n".join(p.text for p in word.paragraphs)
    header = "\n".join(p.text for s in word.sections for p in s.header.paragraphs)
    assert "OFFICIAL-SENSITIVE" in header + body and word.tables
    assert not (tmp_path / "iom-audit-report.xlsx").exists()
    with db.engine.connect() as conn:
        shown = conn.execute(sa.text("SELECT new_value FROM audit_event WHERE entity = 'report'"
                                     " ORDER BY id DESC LIMIT 1")).scalar_one()
    assert "docx" in shown and "ons-10-5" in shown


async def test_the_report_screen_refuses_a_wrong_suffix(db: Database, tmp_path: Path) -> None:
    from textual.widgets import Input

    app = await lead_app(db)
    app.report_dir = tmp_path
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#docx", Input).value = str(tmp_path / "r.pdf")
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert any("should end in .docx" in str(n.message) for n in app._notifications)
    assert not list(tmp_path.glob("*.pdf")) and not list(tmp_path.glob("*.xlsx"))


async def test_the_report_screen_refuses_an_inspector_as_the_cli_does(
        one_filled: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One rule in the domain: the app says what `iom-audit report` says, and writes nothing."""
    db = one_filled
    with db.write_session() as session:
        session.add(Inspector(name="Lee Lead", role="lead"))  # roles apply: Ann is an inspector
    app = IomAuditApp(db)
    app.report_dir = tmp_path
    log = await build_report_in_app(app)
    refusal = "only the lead or researcher role may compile reports (Ann Inspector has the " \
              "inspector role)"
    assert refusal in log
    assert not list(tmp_path.glob("iom-audit-report.*"))
    capsys.readouterr()
    assert run(["--db", str(db.location.path), "report", "--out",
                str(tmp_path / "cli.pdf")]) == 1
    assert capsys.readouterr().err.strip() == f"Error: {refusal}"
    assert not (tmp_path / "cli.pdf").exists()


async def test_comparison_opens_a_case_behind_a_cell(db: Database) -> None:
    for ref in ("C0000", "C0001"):
        cid = case_id(db, ref)
        cases.record_answer(
            db, cid, "2.1.1", "yes", actor=Actor("Bo Rater"),
            expected_version=cases.load_case(db, cid, actor=Actor("Reader")).version)
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("m")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ComparisonScreen)
        await pilot.press("right", "enter")  # the IOM cell of the first question
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [c.case_ref for c in app.screen.behind] == ["C0000"]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.view is not None and app.screen.view.case_ref == "C0000"


@pytest.mark.parametrize("picked", ["lead", "researcher"])
async def test_a_new_name_cannot_claim_a_role_once_a_lead_exists(
        db: Database, monkeypatch: pytest.MonkeyPatch, picked: str) -> None:
    """Only a lead gives roles, in the app as with `iom-audit inspectors`: a newcomer who
    picks lead (QA, locking) or researcher (the aggregate report) rates as an inspector."""
    from textual.widgets import Input, Select

    monkeypatch.delenv("IOM_AUDIT_INSPECTOR")
    with db.write_session() as session:
        session.add(Inspector(name="Lee Lead", role="lead"))
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#name", Input).value = "Newcomer Nell"
        app.screen.query_one("#role", Select).value = picked
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert app.workspace is not None and app.workspace.role == "inspector"
    assert rows(db, Inspector, name="Newcomer Nell")[0]["role"] == "inspector"


async def test_the_first_person_on_a_database_without_a_lead_may_lead(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """As `iom-audit init` makes its runner the lead of a new database, and the trail says so."""
    from textual.widgets import Input, Select

    monkeypatch.delenv("IOM_AUDIT_INSPECTOR")
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#name", Input).value = "First Fay"
        app.screen.query_one("#role", Select).value = "lead"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
    assert rows(db, Inspector, name="First Fay")[0]["role"] == "lead"
    with db.engine.connect() as conn:
        event = conn.exec_driver_sql("SELECT who, new_value FROM audit_event WHERE entity = "
                                     "'inspector' AND key = 'First Fay'").one()
    assert tuple(event) == ("First Fay", "lead")


async def test_a_long_site_name_wraps_on_the_dashboard(db: Database) -> None:
    """Labels wrap, never cut: a site's whole name is on the screen, over two lines."""
    from tui.widgets.progress_row import ProgressRow

    long_name = "National Probation Service South West and South Central"
    with db.engine.begin() as conn:
        first = conn.execute(sa.text("SELECT min(id) FROM site")).scalar_one()
        conn.execute(sa.text("UPDATE site SET name = :n WHERE id = :i"),
                     {"n": long_name, "i": first})
    app = IomAuditApp(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows_shown = [r for r in app.screen.query(ProgressRow) if r.progress.name == long_name]
        assert rows_shown, [r.progress.name for r in app.screen.query(ProgressRow)]
        label = rows_shown[0].query_one(".name")
        assert label.size.height >= 2
        lines = label.render_lines(label.region.reset_offset)
        shown = " ".join(strip.text.strip() for strip in lines)
        assert " ".join(shown.split()) == long_name
