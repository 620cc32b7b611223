"""A sample report that mimics the real tables, built from the published figures.

Figures 4.3, 4.6 and 5.2 come from ``audit.demo.published`` (seed 002); the
profile table holds a count of 2 (to be suppressed) and one table holds hostile
text (formula injection, markup, pipes).
"""

import csv
from datetime import datetime

import pytest

from audit.demo import published
from audit.report.model import Chart, Column, Report, ReportMeta, ReportTable

REFERENCE = published.FOLDER
HOSTILE = ("=cmd|' /C calc'!A0", "<b>unclosed", "Smith & Co", "-2+3", "<font>",
           "Pipe | and\nnewline", "@SUM(A1)", "Typographic ’quotes’ – dash …")


def _csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else float("nan")


def factors_linked() -> ReportTable:
    """Figure 4.3: two samples side by side."""
    rows = tuple(
        {"factor": r["label"], "thematic_n": int(r["thematic_n"]),
         "thematic_pct": _pct(int(r["thematic_n"]), 59),
         "core_n": int(r["core_iom_n"]), "core_pct": _pct(int(r["core_iom_n"]), 268)}
        for r in _csv("fig4_3_factors_linked.csv")
    )
    thematic, core = "Thematic IOM sample", "Core programme IOM cases"
    return ReportTable(
        id="factors_linked", figure="4.3",
        caption="The factors most linked to the service user’s offending",
        section="The quality of case work",
        columns=(
            Column("factor", "Factor"),
            Column("thematic_n", "Number", "count", thematic, suppressible=True),
            Column("thematic_pct", "Percentage", "pct", thematic, True, "thematic_n"),
            Column("core_n", "Number", "count", core, suppressible=True),
            Column("core_pct", "Percentage", "pct", core, True, "core_n"),
        ),
        rows=rows,
        notes=("A case may have more than one factor linked to offending.",),
        base={thematic: 59, core: 268},
        chart=Chart("grouped_hbar", "factor",
                    (("thematic_pct", thematic), ("core_pct", core))),
    )


def factors_delivered() -> ReportTable:
    """Figure 4.6: yes/no per factor under lettered sub-heading rows."""
    rows: list[dict] = []
    styles: list[dict[str, str]] = []
    thematic, core = "Thematic IOM sample", "Core programme IOM cases"
    for letter, r in zip("abcdefgh", _csv("fig4_6_factors_delivered.csv"), strict=True):
        rows.append({"answer": f"{letter}) {r['label']}"})
        styles.append({"answer": "heading"})
        t_all = int(r["thematic_yes"]) + int(r["thematic_no"])
        c_all = int(r["core_iom_yes"]) + int(r["core_iom_no"])
        for answer in ("yes", "no"):
            t, c = int(r[f"thematic_{answer}"]), int(r[f"core_iom_{answer}"])
            rows.append({"answer": answer.capitalize(), "thematic_n": t,
                         "thematic_pct": _pct(t, t_all), "core_n": c,
                         "core_pct": _pct(c, c_all)})
            styles.append({})
    return ReportTable(
        id="factors_delivered", figure="4.6",
        caption="Were sufficient services delivered to address relevant offending-related "
                "factors?",
        section="The quality of case work",
        columns=(
            Column("answer", ""),
            Column("thematic_n", "Number", "count", thematic, suppressible=True),
            Column("thematic_pct", "Percentage", "pct", thematic, True, "thematic_n"),
            Column("core_n", "Number", "count", core, suppressible=True),
            Column("core_pct", "Percentage", "pct", core, True, "core_n"),
        ),
        rows=tuple(rows), row_styles=tuple(styles),
        notes=("Asked only where the factor was linked to offending.",),
    )


# Figure 5.2 shading: the report names 8 of 12 standards questions and one RO question.
_SHADED_52 = {"2.1.1", "2.1.2", "2.1.3", "2.2.2", "2.2.3", "2.3.1", "2.3.3", "2.4.1",
              "ro.agencies_harm"}


def iom_comparison() -> ReportTable:
    """Figure 5.2: non-IOM against IOM cases, 14 rows, shaded where the regression agrees."""
    rows, styles = [], []
    for r in _csv("fig5_2_core_iom_vs_non_iom.csv"):
        diff = float(r["iom_pct"]) - float(r["non_iom_pct"])
        rows.append({
            "question": f"{r['standard']}: {r['question']}",
            "non_iom_pct": float(r["non_iom_pct"]), "non_iom_n": int(r["non_iom_n"]),
            "iom_pct": float(r["iom_pct"]), "iom_n": int(r["iom_n"]),
            "diff": diff,
            "p": 0.0004 if r["published_significant"] != "no" else 0.112,
        })
        styles.append({"iom_pct": "shade"} if r["question_id"] in _SHADED_52 else {})
    return ReportTable(
        id="iom_comparison", figure="5.2",
        caption="Summary of inspection findings from HMI Probation core inspection "
                "programme 2018/2019",
        section="Understanding the impact of IOM",
        columns=(
            Column("question", "Question"),
            Column("non_iom_pct", "Percentage", "pct", "Non-IOM cases"),
            Column("non_iom_n", "Number", "count", "Non-IOM cases"),
            Column("iom_pct", "Percentage", "pct", "IOM cases"),
            Column("iom_n", "Number", "count", "IOM cases"),
            Column("diff", "Difference (pp)", "pp"),
            Column("p", "p", "p"),
        ),
        rows=tuple(rows), row_styles=tuple(styles),
        notes=("Shaded: IOM status had an independent effect in a logistic regression "
               "controlling for case type, risk of serious harm, likelihood of reoffending "
               "and provider.",),
        base={"Non-IOM cases": 2979, "IOM cases": 268}, tests=("chi2", "logit"),
        chart=Chart("grouped_hbar", "question",
                    (("non_iom_pct", "Non-IOM cases"), ("iom_pct", "IOM cases")),
                    title="Positive judgements by IOM status"),
    )


def index_offence() -> ReportTable:
    """Figure 4.7: one sample, one bar per offence."""
    rows = tuple({"offence": r["offence"], "n": int(r["number"]),
                  "pct": _pct(int(r["number"]), 59)} for r in _csv("fig4_7_index_offence.csv"))
    return ReportTable(
        id="index_offence", figure="4.7",
        caption="Index offences committed by those in case sample",
        section="The quality of work to keep people safe",
        columns=(Column("offence", "Offence"),
                 Column("n", "Number", "count", suppressible=True),
                 Column("pct", "Percentage", "pct", suppressible=True, count_of="n")),
        rows=rows, base={"Thematic IOM sample": 59},
        chart=Chart("hbar", "offence", (("pct", "Thematic IOM sample"),)),
    )


def profile() -> ReportTable:
    """Annex 2 profile with sub-headings; 'Low' risk of serious harm is 2 (suppressed)."""
    groups = {
        "Lead agency": [("CRC", 35), ("NPS", 24), ("Police", 1)],
        "Risk of serious harm": [("Low", 2), ("Medium", 28), ("High", 28), ("Very high", 2)],
        "Age (years)": [("18–25", 14), ("26–35", 23), ("36–55", 22), ("Over 55", 0)],
        "Total": [("All cases", 60)],
    }
    rows, styles = [], []
    for heading, items in groups.items():
        if heading != "Total":
            rows.append({"category": heading})
            styles.append({"category": "heading"})
        for label, n in items:
            rows.append({"category": label, "n": n, "pct": _pct(n, 60)})
            styles.append({"*": "bold"} if heading == "Total" else {})
    return ReportTable(
        id="profile", figure="A2.1", caption="Profile of the thematic case sample",
        section="Profile of the case sample",
        columns=(Column("category", "Characteristic"),
                 Column("n", "Number", "count", suppressible=True),
                 Column("pct", "Percentage", "pct", suppressible=True, count_of="n")),
        rows=tuple(rows), row_styles=tuple(styles), base={"Thematic IOM sample": 60},
    )


def hostile() -> ReportTable:
    """Site names a user could type: formulas, markup, pipes, ampersands."""
    rows = tuple({"site": text, "rating": "Good", "n": 10 + i, "pct": 50.0 + i}
                 for i, text in enumerate(HOSTILE))
    return ReportTable(
        id="site_ratings", figure="A2.2",
        caption="Ratings by site: Smith & Co <b>unclosed | <font>",
        section="Profile of the case sample",
        columns=(Column("site", "Site <name>"), Column("rating", "Rating", "rating"),
                 Column("n", "Cases", "count"), Column("pct", "Sufficient", "pct")),
        rows=rows, notes=("Note with <i>markup & ampersand | pipe",),
    )


def sample_report() -> Report:
    """The whole sample report, in report order."""
    meta = ReportMeta(
        title="Integrated Offender Management: joint thematic inspection",
        subtitle="Tables and charts – demonstration data",
        generated_at=datetime(2026, 11, 23, 9, 30),
        software_version="0.1.0",
        command="iom-audit --db demo.db report --out report.pdf --suppress-below 5",
        question_sets=("iom-thematic-2019 v1.0", "core-2018 v2.1"),
        samples=(("Thematic IOM sample (inspection 'demo-thematic')", 60),
                 ("Core programme cases with IOM status", 3247)),
        methods=("Differences between IOM and non-IOM cases were tested with the χ² test, "
                 "or Fisher’s exact test when an expected count was below 5; p-values were "
                 "adjusted with the Holm correction at α = 0.05.",
                 "The logistic regression adjusted for case type, risk of serious harm, "
                 "likelihood of reoffending and provider."),
    )
    return Report(meta, (profile(), hostile(), factors_linked(), factors_delivered(),
                         index_offence(), iom_comparison()))


@pytest.fixture
def report() -> Report:
    """The sample report."""
    return sample_report()
