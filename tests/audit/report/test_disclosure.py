"""Disclosure control that holds: primary and complementary suppression, audited by LP.

The recoveries of issue 16 are rebuilt from case-level data (``tests.published``, the
2020 sample: 60 cases, one non-statutory Police case, 20 reoffenders of whom one
reduced): each is shown to work against the old rule (only the small cell starred) and
to fail against the new one. Every table of the demo and published reports is audited.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest

from audit.permissions import Actor
from audit.report.build import compile_report
from audit.report.complementary import _candidates, _components, _links, complementary
from audit.report.disclosure_audit import (
    PRIMARY,
    SECONDARY,
    AttackModel,
    audit_table,
    check_ranges,
    protected_targets,
)
from audit.report.disclosure_rule import DisclosureRule, rule_named
from audit.report.model import (
    CellRef,
    Column,
    NoteCount,
    Report,
    ReportTable,
    Share,
    Structure,
    Sum,
)
from audit.report.suppression import (
    SUPPRESSED,
    _primary,
    protect,
    protect_report,
    suppress,
)
from audit.store.engine import Database, open_database
from tests.databases import default_demo, fresh_sqlite
from tests.published import build_published

BUILDER = Actor("Demo Builder")
T5 = rule_named("threshold", 5)


@pytest.fixture(scope="module")
def published_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    db = fresh_sqlite(tmp_path_factory.mktemp("published") / "published.db")
    build_published(db)
    yield compile_report(db, actor=BUILDER)
    db.dispose()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_database(str(default_demo(tmp_path_factory.mktemp("demo") / "demo.db",
                                        BUILDER.name)))
    yield db
    db.dispose()


def _row(table: ReportTable, label: str, after: str | None = None,
         key: str = "item") -> int:
    """Index of the row labelled ``label`` (the first after the row labelled ``after``)."""
    start = 0
    if after is not None:
        start = next(i for i, r in enumerate(table.rows) if r.get(key) == after)
    return next(i for i, r in enumerate(table.rows) if i >= start and r.get(key) == label)


def _old_rule_marks(table: ReportTable) -> dict[CellRef, str]:
    """What the old rule hid: small counts of suppressible columns and their percentages."""
    marks = {}
    for i, row in enumerate(table.rows):
        for c in table.columns:
            if c.suppressible and c.kind == "count" and T5.is_small(row.get(c.id)):
                marks[CellRef(i, c.id)] = PRIMARY
                pct = next((p.id for p in table.columns if p.count_of == c.id), None)
                if pct:
                    marks[CellRef(i, pct)] = PRIMARY
    return marks


@pytest.mark.parametrize(("table_id", "label", "after", "key"), [
    ("profile", "Non-statutory", "Case type", "item"),  # 60 - 17 - 42 = 1
    ("profile", "Police", "Lead agency", "item"),  # 60 - NPS - CRC = 1
    ("outcomes", "Reduced", None, "answer"),  # 20 - 13 - 6 = 1 (20 = 13 / 65%)
])
def test_the_recoveries_of_issue_16_work_against_the_old_rule_and_fail_now(
        published_report: Report, table_id: str, label: str, after: str | None,
        key: str) -> None:
    table = published_report.table(table_id)
    cell = CellRef(_row(table, label, after, key), "n")
    assert table.value(cell) == 1
    old = _old_rule_marks(table)
    assert cell in old
    low, high = AttackModel(table, old, T5).range_of(cell)
    assert low == pytest.approx(1.0, abs=1e-6) and high == pytest.approx(1.0, abs=1e-6)
    # The old rule also printed the cells that give it back: a subtraction recovers it.
    result = protect(table, T5)
    assert result.table.rows[cell.row]["n"] == SUPPRESSED
    assert result.audit.safe, result.audit
    (checked,) = [r for r in result.audit.ranges if r.cell == cell]
    assert checked.high - checked.low >= 5
    assert result.secondary >= 1


def test_figure_5_1_hides_a_second_answer_of_the_block(published_report: Report) -> None:
    table = published_report.table("outcomes")
    result = protect(table, T5)
    block = [i for i, r in enumerate(table.rows) if r.get("question_id") == "outcome.frequency"]
    hidden = [i for i in block if result.table.rows[i]["n"] == SUPPRESSED]
    assert len(hidden) >= 2  # "Reduced" and at least one partner
    assert all(result.table.rows[i]["pct"] == SUPPRESSED for i in hidden)


def test_every_published_table_is_audited_and_safe(published_report: Report) -> None:
    published, results, summary = protect_report(published_report, 5)
    assert summary.audited == len(published_report.tables) == len(results)
    assert summary.derivable == ()
    assert summary.primary > 0 and summary.secondary > 0
    assert all(r.audit.safe for r in results)
    statement = next(m for m in published.meta.methods if m.startswith("Counts from 1 to 4"))
    assert f"{summary.primary} cell(s) were suppressed as small (primary)" in statement
    assert f"{summary.secondary} more to protect them (secondary)" in statement
    assert f"{summary.audited} table(s) were audited" in statement


def test_every_demo_table_is_audited_and_safe(demo_db: Database) -> None:
    report = compile_report(demo_db, actor=BUILDER)
    for rule in (T5, rule_named("ons-10-5", 0)):
        _, results, summary = protect_report(report, rule)
        assert summary.audited == len(report.tables) == 17
        bad = [(r.table.id, x) for r in results for x in r.audit.derivable]
        assert not bad and summary.derivable == ()


def _ratings_table(police_cases: int) -> ReportTable:
    """Figure A3 by the real builder: two big lead agencies and a small Police one."""
    import pandas as pd

    from audit.report.tables import TableHead, standard_ratings_table
    from question_sets import load_set

    qs = load_set("iom-thematic-2019")
    key = [q.id for q in qs.key_questions]
    rows = []
    for unit, n, yes in (("nps", 40, 30), ("crc", 50, 20), ("police", police_cases, 0)):
        for qid in key:
            rows += [{"unit_type": "provider", "inspection": "t", "unit": unit,
                      "question_id": qid, "value": "yes", "count": yes},
                     {"unit_type": "provider", "inspection": "t", "unit": unit,
                      "question_id": qid, "value": "no", "count": n - yes}]
    head = TableHead("standard_ratings", "A3", "Ratings", "Ratings")
    return standard_ratings_table(head, qs, pd.DataFrame(rows))  # the set's own rating rules


def test_a3_hides_the_percentage_and_rating_of_a_small_base() -> None:
    a3 = _ratings_table(police_cases=1)
    (police,) = [i for i, r in enumerate(a3.rows) if r.get("unit") == "Police"]
    assert a3.rows[police]["2.1_pct"] == 0.0 and a3.rows[police]["2.1_rating"] == "Inadequate"
    result = protect(a3, T5)
    shown = [c.id for c in a3.columns[1:] if result.table.rows[police][c.id] != SUPPRESSED]
    assert shown == []
    others = [r for r in result.table.rows if r.get("unit") in ("NPS", "CRC")]
    assert all(r["2.1_pct"] != SUPPRESSED for r in others)
    assert result.audit.safe
    big = _ratings_table(police_cases=12)
    assert protect(big, T5).table == big  # nothing small: nothing changes


def test_figure_5_2_of_the_published_sample_is_audited(published_report: Report) -> None:
    assert protect(published_report.table("iom_comparison"), T5).audit.safe


def _comparison_table(non_n: int, non_yes: int, iom_n: int, iom_yes: int) -> ReportTable:
    """A one-row Figure 5.2 built by the real builder's structure helper."""
    from audit.report.tables import _comparison_structure

    rows = [{"question": "q", "non_iom_n": non_n, "non_iom_yes": non_yes,
             "non_iom_pct": 100 * non_yes / non_n, "iom_n": iom_n, "iom_yes": iom_yes,
             "iom_pct": 100 * iom_yes / iom_n,
             "diff_pp": 100 * iom_yes / iom_n - 100 * non_yes / non_n, "p": 0.5,
             "p_adjusted": 0.5}]
    structure = _comparison_structure(rows)
    both = ("non_iom_pct", "iom_pct")
    return ReportTable("iom_comparison", "5.2", "c", (
        Column("question", "Question"),
        Column("non_iom_pct", "%", "pct"), Column("non_iom_n", "N", "count", suppressible=True),
        Column("iom_pct", "%", "pct"), Column("iom_n", "N", "count", suppressible=True),
        Column("diff_pp", "pp", "pp", follows=both), Column("p", "p", "p", follows=both),
        Column("p_adjusted", "p", "p", follows=both)), tuple(rows), structure=structure)


def test_figure_5_2_percentages_of_small_counts_or_bases_and_what_follows_them() -> None:
    # 2 "yes" of 300 (0.67%) gives the 2 back with the base printed; 1 of 3 is a small base.
    for args, hidden_side in (((300, 2, 40, 30), "non_iom"), ((300, 150, 3, 1), "iom"),
                              ((300, 299, 40, 30), "non_iom")):
        result = protect(_comparison_table(*args), T5)
        row = result.table.rows[0]
        assert row[f"{hidden_side}_pct"] == SUPPRESSED
        assert row["diff_pp"] == row["p"] == row["p_adjusted"] == SUPPRESSED
        assert result.audit.safe


def test_footnote_counts_never_state_a_small_number(published_report: Report) -> None:
    table = published_report.table("index_offence")
    raw_notes = " ".join(table.notes)
    assert "not known in 1 case(s)" in raw_notes  # the raw table keeps it for analysts
    result = protect(table, T5)
    notes = " ".join(result.table.notes)
    assert "not known in fewer than 5 case(s)" in notes
    assert " 1 case" not in notes
    # 60 cases, 59 known: printing the 59 anywhere (total, base line, percentages) gives
    # the 1 back, so the auditor demands they go too.
    assert "59" not in notes and "59" not in str(result.table.base)
    assert result.audit.safe
    (note,) = [r for r in result.audit.ranges if r.status == "note"]
    assert note.low <= 1 + 1e-6 and note.high >= 4 - 1e-6


def _block(values: list[int], total_stated: bool = True) -> ReportTable:
    """One block of counts with percentages of their (stated) total."""
    total = sum(values)
    rows = [{"item": f"r{i}", "n": v, "pct": 100 * v / total} for i, v in enumerate(values)]
    shares = tuple(Share(CellRef(i, "pct"), CellRef(i, "n"), total) for i in range(len(values)))
    sums = (Sum(tuple(CellRef(i, "n") for i in range(len(values))), total),) if total_stated \
        else ()
    return ReportTable("t", "1", "c", (Column("item", "Item"),
                                         Column("n", "N", "count", suppressible=True),
                                         Column("pct", "%", "pct", True, "n")),
                       tuple(rows), structure=Structure(sums, shares))


def _cross(table: list[list[int]]) -> ReportTable:
    """A two-way table with printed row and column totals (the classic case)."""
    rows: list[dict[str, object]] = []
    n_cols = len(table[0])
    for values in table:
        rows.append({**{f"c{j}": v for j, v in enumerate(values)}, "total": sum(values)})
    rows.append({**{f"c{j}": sum(r[j] for r in table) for j in range(n_cols)},
                 "total": sum(map(sum, table))})
    last = len(rows) - 1
    sums = [Sum(tuple(CellRef(i, f"c{j}") for j in range(n_cols)), CellRef(i, "total"))
            for i in range(last + 1)]
    sums += [Sum(tuple(CellRef(i, key) for i in range(last)), CellRef(last, key))
             for key in [*(f"c{j}" for j in range(n_cols)), "total"]]
    columns = (*(Column(f"c{j}", f"C{j}", "count", suppressible=True) for j in range(n_cols)),
               Column("total", "Total", "count", suppressible=True))
    return ReportTable("x", "1", "c", columns, tuple(rows), structure=Structure(tuple(sums)))


@pytest.mark.parametrize("table", [
    _block([1, 17, 42]), _block([1, 3, 20, 9]), _block([2, 2, 30]), _block([0, 1, 8]),
    _cross([[1, 7, 9], [8, 6, 12]]), _cross([[2, 9], [3, 14], [11, 10]]),
    _cross([[1, 10, 10], [10, 10, 10], [10, 10, 2]]),
], ids=lambda t: str([r.get("n", r.get("c0")) for r in t.rows]))
def test_the_integer_program_finds_the_smallest_pattern(table: ReportTable) -> None:
    primary = _primary(table, T5)
    pattern = complementary(table, primary, T5)
    best = smallest_by_enumeration(table, primary, T5)
    assert best is not None
    assert len(pattern.secondary) == best
    marks = {**primary, **{c: SECONDARY for c in pattern.secondary}}
    assert audit_table(table, marks, T5).safe


def test_the_auditor_catches_an_under_suppressed_table() -> None:
    table = _cross([[1, 7, 9], [8, 6, 12]])
    result = protect(table, T5)
    assert result.audit.safe and result.secondary >= 3
    for dropped in [c for c, m in result.marks.items() if m == SECONDARY]:
        weaker = {c: m for c, m in result.marks.items() if c != dropped}
        audit = audit_table(table, weaker, T5)
        assert not audit.safe
        assert any(r.cell == CellRef(0, "c0") for r in audit.derivable)


def test_the_auditor_catches_a_printed_small_count_and_a_left_difference() -> None:
    table = _comparison_table(300, 2, 40, 30)
    assert not audit_table(table, {}, T5).safe
    result = protect(table, T5)
    weaker = {c: m for c, m in result.marks.items() if c.key != "diff_pp"}
    assert any("diff_pp" in p for p in audit_table(table, weaker, T5).problems)


def test_ons_10_5_suppresses_below_10_and_rounds_the_rest_to_5() -> None:
    rule = rule_named("ons-10-5", 5)
    assert rule == DisclosureRule("ons-10-5", 10, 5)
    assert [rule.rounded(v) for v in (0, 10, 12, 13, 17, 18, 42, 43)] == [
        0, 10, 10, 15, 15, 20, 40, 45]
    table = _block([3, 12, 42, 23])  # total 80
    result = protect(table, rule)
    rows = result.table.rows
    assert rows[0]["n"] == SUPPRESSED and rows[0]["pct"] == SUPPRESSED
    printed = [r["n"] for r in rows if r["n"] != SUPPRESSED]
    assert printed and all(v % 5 == 0 for v in printed)
    for r in rows:
        if r["n"] != SUPPRESSED:
            assert r["pct"] == pytest.approx(100 * r["n"] / 80)  # of the rounded counts
    assert any("rounded to the nearest 5" in n for n in result.table.notes)
    assert result.audit.safe


def test_a_threshold_below_two_changes_nothing() -> None:
    table = _block([1, 17, 42])
    assert suppress(table, 0) is table
    assert suppress(table, None) is table


def test_a_note_count_is_reworded_and_kept_when_large() -> None:
    note = NoteCount("Not applicable in {n} case(s).", CellRef(0, "na"))
    for na, expected in ((1, "Not applicable in fewer than 5 case(s)."),
                         (7, "Not applicable in 7 case(s).")):
        table = ReportTable("t", "1", "c", (Column("item", "Item"),),
                            ({"item": "a", "na": na},), notes=(note.render(str(na)),),
                            structure=Structure(note_counts=(note,)))
        assert protect(table, T5).table.notes[0] == expected


def test_published_outputs_carry_the_suppressed_tables(published_report: Report,
                                                        tmp_path: Path) -> None:
    import openpyxl
    from pypdf import PdfReader

    from audit.report.markdown import write_markdown
    from audit.report.pdf import write_pdf
    from audit.report.xlsx import write_xlsx

    report = Report(published_report.meta,
                    (published_report.table("profile"), published_report.table("outcomes")))
    book = openpyxl.load_workbook(write_xlsx(report, tmp_path / "r.xlsx", suppress_below=5))
    sheet = book[book.sheetnames[1]]
    cells = {str(row[0]): row[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert cells["Non-statutory"][0] == SUPPRESSED
    assert cells["Community sentence"][0] == SUPPRESSED or cells[
        "Post-release supervision"][0] == SUPPRESSED
    methods = " ".join(str(v) for row in book["Methods"].iter_rows(values_only=True)
                       for v in row if v)
    assert "more to protect them (secondary)" in methods
    md = write_markdown(report, tmp_path / "md", suppress_below=5)
    text = md[0].read_text(encoding="utf-8")
    assert "| Non-statutory | \\* | \\* |" in text
    assert "| Post-release supervision | 42 |" not in text or \
        "| Community sentence | 17 |" not in text
    pdf = PdfReader(write_pdf(report, tmp_path / "r.pdf", suppress_below=5))
    words = " ".join(p.extract_text() for p in pdf.pages).split()
    assert "Non-statutory" in words
    assert words[words.index("Non-statutory") + 1] == "*"
    assert "(secondary);" in words


@pytest.fixture(scope="module")
def published_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("published_cli") / "published.db"
    db = fresh_sqlite(path)
    build_published(db)
    db.dispose()
    yield path


def test_tables_json_stays_raw_and_marks_cells_when_asked(published_path: Path,
                                                          tmp_path: Path) -> None:
    import json

    from cli.app import run

    raw, marked, ons = tmp_path / "raw.json", tmp_path / "marked.json", tmp_path / "ons.json"
    ids = "profile,outcomes"
    assert run(["--db", str(published_path), "tables", "--json", str(raw), "--tables", ids]) == 0
    assert run(["--db", str(published_path), "tables", "--json", str(marked), "--tables", ids,
                "--suppress-below", "5"]) == 0
    assert run(["--db", str(published_path), "tables", "--json", str(ons), "--tables", ids,
                "--disclosure", "ons-10-5"]) == 0
    raw_doc, doc = json.loads(raw.read_text()), json.loads(marked.read_text())
    assert "disclosure" not in raw_doc["meta"]
    raw_rows = raw_doc["tables"][0]["rows"]
    assert all("suppressed" not in r for r in raw_rows)
    assert next(r for r in raw_rows if r["item"] == "Non-statutory")["n"] == 1
    table = doc["tables"][0]
    assert {"id", "figure", "caption", "columns", "rows", "notes"} <= set(table)
    row = next(r for r in table["rows"] if r["item"] == "Non-statutory")
    assert row["n"] is None and row["suppressed"] == {"n": "primary", "pct": "primary"}
    kinds = {m for r in table["rows"] for m in r["suppressed"].values()}
    assert kinds == {"primary", "secondary"}
    assert all("known" not in r and "no" not in r for r in table["rows"])  # hidden keys go
    meta = doc["meta"]["disclosure"]
    assert meta["tables_audited"] == 2 and meta["derivable"] == []
    assert meta["primary"] == sum(m == "primary" for t in doc["tables"] for r in t["rows"]
                                  for m in r["suppressed"].values())
    ons_doc = json.loads(ons.read_text())
    assert ons_doc["meta"]["disclosure"]["rule"] == "ons-10-5"
    counts = [r["n"] for r in ons_doc["tables"][0]["rows"] if isinstance(r.get("n"), int)]
    assert counts and all(n % 5 == 0 for n in counts)


def test_report_takes_the_ons_rule(published_path: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from cli.app import run

    out = tmp_path / "r.pdf"
    assert run(["--db", str(published_path), "report", "--out", str(out), "--tables",
                "profile", "--disclosure", "ons-10-5"]) == 0
    text = " ".join(p.extract_text() for p in PdfReader(out).pages)
    assert "rounded to the nearest 5" in " ".join(text.split())
    assert run(["--db", str(published_path), "report", "--out", str(tmp_path / "x.pdf"),
                "--disclosure", "nonsense"]) != 0


def test_a_yes_no_figure_with_a_small_base_or_not_applicable_count() -> None:
    import pandas as pd

    from audit.report.tables import TableHead, yes_no_table
    from audit.views.samples import Sample
    from question_sets import load_set

    qs = load_set("iom-thematic-2019")
    head = TableHead("partner_info", "4.4", "c", "s")
    sample = Sample("thematic", "Thematic IOM sample", (1,))

    def figure(yes: int, no: int, na: int) -> ReportTable:
        counts = pd.DataFrame([{"question_id": "iom.partner_info", "value": v, "count": n}
                               for v, n in (("yes", yes), ("no", no), ("na", na))])
        return yes_no_table(head, qs, "iom.partner_info", sample, counts)

    small = protect(figure(2, 1, 1), T5)
    assert all(r["n"] == SUPPRESSED for r in small.table.rows)
    # "fewer than 5" of a base would say both its parts are small: the base is withheld.
    assert any("Base: withheld." in n for n in small.table.notes)
    assert not any("Base: 3" in n for n in small.table.notes)
    assert any("Not applicable in fewer than 5 case(s)" in n for n in small.table.notes)
    assert small.table.base == {} and small.audit.safe
    # 58 yes and 1 no of a stated base of 59: the 1 comes back by subtraction unless the
    # 58 goes too.
    lopsided = protect(figure(58, 1, 0), T5)
    assert [r["n"] for r in lopsided.table.rows] == [SUPPRESSED, SUPPRESSED]
    assert lopsided.audit.safe
    assert protect(figure(30, 29, 6), T5).table.rows[0]["n"] == 30


def test_the_self_pair_note_of_the_reliability_table() -> None:
    import pandas as pd

    from audit import qa_rules
    from audit.report.tables import TableHead, reliability_table
    from stats import reliability

    primary = pd.DataFrame({"q": ["yes", "no", "yes", "yes", "no", "yes"]})
    qa = pd.DataFrame({"q": ["yes", "no", "no", "yes", "no", "yes"]})
    result = reliability(primary, qa, ["q"], labels={"q": "Q"})
    head = TableHead("reliability", "A4", "c", "s")
    for left_out, expected in ((1, "fewer than 5 case(s) rated twice"),
                               (6, "6 case(s) rated twice")):
        table = reliability_table(head, result, self_pairs=left_out)
        assert qa_rules.self_pair_note(left_out) in table.notes
        notes = " ".join(protect(table, T5).table.notes)
        assert expected in notes


def test_under_ons_a_percentage_of_rounded_counts_still_gives_its_base_away(
        published_report: Report) -> None:
    # 59 of 60 cases have an index offence known; the note says "fewer than 10" unknown.
    # A printed 45% of a rounded 25 says the rounded total is 55..60, so the unknown is 1
    # to 2 at most: the percentages must go with the total, the counts may stay.
    table = published_report.table("index_offence")
    rule = rule_named("ons-10-5", 0)
    result = protect(table, rule)
    assert result.audit.safe
    secondary_pcts = [c for c, m in result.marks.items() if m == SECONDARY and c.key == "pct"]
    assert secondary_pcts
    for dropped in secondary_pcts:
        weaker = {c: m for c, m in result.marks.items() if c != dropped}
        if dropped.row == len(table.rows) - 1:
            continue  # the total's own 100% says nothing
        assert not audit_table(table, weaker, rule).safe


def test_under_ons_a_difference_is_of_the_printed_percentages() -> None:
    table = _comparison_table(300, 212, 140, 101)
    result = protect(table, rule_named("ons-10-5", 0))
    row = result.table.rows[0]
    assert row["non_iom_n"] == 300 and row["iom_n"] == 140
    assert row["non_iom_pct"] == pytest.approx(100 * 210 / 300)
    assert row["iom_pct"] == pytest.approx(100 * 100 / 140)
    assert row["diff_pp"] == pytest.approx(row["iom_pct"] - row["non_iom_pct"])
    assert result.audit.safe


def test_a_report_is_protected_once_for_all_its_files(published_report: Report,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No cache kept between calls: a protected report carries its rule, and protecting
    it again under that rule returns it as it is (the writers each ask)."""
    from audit.report import suppression

    once = suppression.suppress_report(published_report, 5)
    assert once.meta.protected == "threshold:5:1"
    calls: list[object] = []
    monkeypatch.setattr(suppression, "protect", lambda *a: calls.append(a) or None)
    assert suppression.suppress_report(once, 5) is once
    assert calls == []
    with pytest.raises(AttributeError):  # another rule protects again (here: the stub)
        suppression.suppress_report(once, 10)
    assert calls


def smallest_by_enumeration(table: ReportTable, primary: Mapping[CellRef, str],
                            rule: DisclosureRule) -> int | None:
    """The fewest secondary cells, by trying every pattern: the oracle the integer
    program is checked against on tiny tables."""
    from itertools import combinations

    cells = [c for part in _components(table) for c in _candidates(table, part)
             if c not in primary]
    links = _links(table, sorted(set(cells) | set(primary), key=lambda c: (c.row, c.key)))
    targets = [(c, s) for c, s in protected_targets(table, primary, rule) if s != SECONDARY]
    for size in range(len(cells) + 1):
        for extra in combinations(cells, size):
            hidden = set(primary) | set(extra)
            if any(count in hidden and pct not in hidden for pct, count in links):
                continue
            marks = {**primary, **{c: SECONDARY for c in extra}}
            model = AttackModel(table, marks, rule)  # the whole table, unlike `complementary`
            if all(r.protected for r in check_ranges(model, targets, rule)):
                return size
    return None


def _random_crosses(count: int, seed: int) -> list[ReportTable]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        values = rng.integers(0, 14, size=(2, 3)).tolist()
        if any(v < T5.threshold for row in values for v in row):
            out.append(_cross(values))
    return out


@pytest.mark.parametrize("table", [*_random_crosses(4, 2026), _block([3, 4, 30, 12]),
                                   _block([1, 2, 2, 40], total_stated=False)],
                         ids=lambda t: str([r.get("n", r.get("c0")) for r in t.rows]))
def test_cuts_from_the_auditors_duals_keep_the_smallest_pattern(table: ReportTable) -> None:
    """The cuts read off the attack's duals cut off only patterns that cannot protect:
    the search still ends on the fewest cells (the oracle), and in no more rounds than
    the no-good cut alone would take."""
    primary = _primary(table, T5)
    pattern = complementary(table, primary, T5)
    assert len(pattern.secondary) == smallest_by_enumeration(table, primary, T5)
    marks = {**primary, **{c: SECONDARY for c in pattern.secondary}}
    assert audit_table(table, marks, T5).safe


def test_a_ranges_support_is_the_published_cells_it_rests_on() -> None:
    table = _cross([[1, 7, 9], [8, 6, 12]])
    hidden = {CellRef(0, "c0"): PRIMARY, CellRef(0, "c1"): SECONDARY}
    target = CellRef(0, "c0")
    low, high, support = AttackModel(table, hidden, T5).range_and_support(target)
    assert high - low < T5.threshold  # too narrow: column 0's total gives c0 back
    assert support and not support & set(hidden)
    # Hiding every other published cell leaves the range as it was ...
    others = {c for c in AttackModel(table, hidden, T5).cells
              if c not in support and c not in hidden}
    wider = {**hidden, **{c: SECONDARY for c in others}}
    assert AttackModel(table, wider, T5).range_of(target) == pytest.approx((low, high))
    # ... while hiding the support as well opens it.
    everything = {**wider, **{c: SECONDARY for c in support}}
    low2, high2 = AttackModel(table, everything, T5).range_of(target)
    assert high2 - low2 > high - low
