"""Exports and reports are safe to open: no formula injection, no broken PDF markup.

OWASP "CSV injection": a spreadsheet runs a cell starting with =, +, -, @, tab, CR or
LF as a formula. Every such text cell an export writes must start with "'" instead,
and no XLSX cell may be a formula. Hypothesis writes the hostile text into notes,
site names and case references. Exports must also be logged as disclosures.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.cases import record_answer, save_note
from audit.inspections import create_inspection, get_or_create_site
from audit.permissions import Actor
from audit.store.engine import Database
from audit.store.models import Case
from audit.text_rules import name_problem, normal
from tests.databases import fresh_sqlite
from tests.helpers import FREE_QUESTIONS

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
HOSTILE = st.tuples(st.sampled_from(TRIGGERS),
                    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
                            max_size=20)).map("".join)
# A site name a person could store (audit/text_rules.py refuses invisible and control
# characters in names): the formula triggers at its start are what is tested here.
SITE = HOSTILE.filter(lambda s: bool(normal(s)) and name_problem(normal(s)) is None)
REF = st.tuples(st.sampled_from(TRIGGERS),
                st.text(alphabet="ABC0123=+-@|!()", min_size=1, max_size=10)).map("".join)


def _fill(db: Database, refs: list[str], sites: list[str], notes: list[str]) -> None:
    with db.write_session() as session:
        inspection = create_inspection(session, "insp")
        ids = []
        for i, ref in enumerate(refs):
            site, _ = get_or_create_site(session, inspection, sites[i % len(sites)])
            case = Case(inspection_id=inspection.id, case_ref=ref, site_id=site.id,
                        iom=bool(i % 2), case_type="post_release")
            session.add(case)
            session.flush()
            ids.append(case.id)
    for case_id, note in zip(ids, notes * len(ids), strict=False):
        v = record_answer(db, case_id, FREE_QUESTIONS[0], "yes", actor=Actor("=Ann"),
                          expected_version=1)
        save_note(db, case_id, FREE_QUESTIONS[0], note, actor=Actor("=Ann"),
                  expected_version=v.version)


def _unsafe(text: str) -> bool:
    if not text.startswith(TRIGGERS):
        return False
    try:
        float(text)  # a negative number is a number, not a formula
    except ValueError:
        return True
    return False


@pytest.mark.slow
# No health check suppressed: drawing the hostile texts takes ~1 ms (the filters reject
# almost nothing), the example's export is what is slow (~0.3 s), and with
# deadline=None too_slow would allow 30 s of drawing for the first ten examples.
@settings(max_examples=20, deadline=None)
@given(refs=st.lists(REF, min_size=1, max_size=4, unique_by=str.strip).filter(
           lambda rs: all(r.strip() for r in rs)),
       sites=st.lists(SITE, min_size=1, max_size=2, unique_by=normal),
       notes=st.lists(HOSTILE.filter(str.strip), min_size=1, max_size=3))
def test_exports_never_hold_a_formula(refs: list[str], sites: list[str],
                                      notes: list[str]) -> None:
    from audit.exports.exporters import export

    with tempfile.TemporaryDirectory() as folder:
        db = fresh_sqlite(Path(folder) / "x.db")
        try:
            _fill(db, refs, sites, notes)
            for fmt in ("csv", "xlsx"):
                for long in (False, True):
                    out = Path(folder) / f"{fmt}-{long}"
                    export(db, out, fmt=fmt, long=long, actor=Actor("Rita"))
                    data = out / (("answers" if long else "cases") + f".{fmt}")
                    _check(data, fmt)
            with db.engine.connect() as conn:
                logged = conn.execute(sa.text(
                    "SELECT COUNT(*) FROM audit_event WHERE entity = 'export' AND who = 'Rita'"
                )).scalar()
            assert logged == 4  # every export is a recorded disclosure
        finally:
            db.dispose()


def _check(path: Path, fmt: str) -> None:
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            cells = [c for row in csv.reader(f) for c in row]
        assert cells and not [c for c in cells if _unsafe(c)]
        return
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not _unsafe(cell.value), (cell.coordinate, cell.value)


def test_the_neutralised_text_keeps_the_original_after_its_quote(tmp_path: Path) -> None:
    from audit.exports.exporters import export

    db = fresh_sqlite(tmp_path / "x.db")
    _fill(db, ["=HYPERLINK(\"http://x\")"], ["@SUM(A1)"], ["-2+3 cmd|' /C calc'!A0"])
    export(db, tmp_path / "out", fmt="csv", long=True, actor=Actor("Rita"))
    db.dispose()
    with open(tmp_path / "out" / "answers.csv", newline="", encoding="utf-8") as f:
        cells = {c for row in csv.reader(f) for c in row}
    assert "'=HYPERLINK(\"http://x\")" in cells
    assert "'-2+3 cmd|' /C calc'!A0" in cells


MARKUP = ["<b>Sheffield</b> & Rotherham", "</para><para>Leeds", "Hull &amp; <i>East",
          "<font name='x'>York", "A < B > C"]


@pytest.mark.slow
def test_markup_in_site_names_and_notes_cannot_break_the_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from audit.imports.ratings import import_ratings
    from audit.report.build import compile_report
    from audit.report.pdf import write_pdf

    db = fresh_sqlite(tmp_path / "r.db")
    with db.write_session() as session:
        inspection = create_inspection(session, "Leeds <b>&</para>")
        ids = []
        for i in range(40):
            site, _ = get_or_create_site(session, inspection, MARKUP[i % len(MARKUP)])
            case = Case(inspection_id=inspection.id, case_ref=f"R-{i}", site_id=site.id,
                        iom=i % 3 != 0, case_type="post_release", rosh="high")
            session.add(case)
            session.flush()
            ids.append(case.id)
    # The answers and notes in one ratings file: the same answers, notes and statuses as
    # 440 saves one by one (5 s of CPU), which the report is not about.
    ratings = tmp_path / "ratings.csv"
    with open(ratings, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["case_ref", "question_id", "answer", "note"])
        for n in range(len(ids)):
            for qid in FREE_QUESTIONS:
                out.writerow([f"R-{n}", qid, "yes" if (n + len(qid)) % 3 else "no",
                              MARKUP[n % len(MARKUP)] if qid == FREE_QUESTIONS[0] else ""])
    import_ratings(db, ratings, actor=Actor("Ann"), inspection="Leeds <b>&</para>")
    with db.engine.connect() as conn:  # the markup is stored as written
        notes: dict[int, str] = dict(conn.execute(sa.text(
            "SELECT case_id, note FROM answer WHERE note IS NOT NULL")).all())
    assert notes == {case_id: MARKUP[n % len(MARKUP)] for n, case_id in enumerate(ids)}
    report = compile_report(db, actor=Actor("Lee Lead"))
    db.dispose()
    pdf = write_pdf(report, tmp_path / "report.pdf")
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert len(report.tables) > 0 and "Leeds" in text
