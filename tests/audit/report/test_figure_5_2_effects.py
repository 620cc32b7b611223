"""Figure 5.2 shades every fitted, significant positive independent effect, whatever
covariate was dropped, and its note names the covariates the models actually used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from audit.report.charts import table_chart
from audit.report.model import SHADE, Report
from audit.report.tables import TableHead, iom_comparison_table
from question_sets import load_set
from stats import compare_groups

HEAD = TableHead("iom_comparison", "5.2", "IOM and non-IOM cases compared", "IOM")
COVARIATES = ("case_type", "rosh", "likelihood", "provider")


def cases(seed: int = 7, n: int = 1600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "iom": rng.choice(["iom", "non_iom"], n, p=[0.3, 0.7]),
        "case_type": rng.choice(["community", "post_release"], n),
        "rosh": rng.choice(["low", "medium", "high"], n),
        "likelihood": rng.choice(["low", "medium", "high"], n),
        "provider": rng.choice(["nps", "crc"], n),
    })
    iom = (df.iom == "iom").to_numpy()

    def answers(p_iom: float, p_non: float) -> np.ndarray:
        p = np.where(iom, p_iom, p_non)
        return np.where(rng.random(n) < p, "yes", "no").astype(object)

    df["2.1.1"] = answers(0.8, 0.5)  # strong effect; only nps cases answer it (below)
    df.loc[df.provider != "nps", "2.1.1"] = None
    df["2.1.2"] = answers(0.8, 0.5)  # strong effect, every covariate used
    df["2.2.1"] = answers(0.3, 0.6)  # strong negative effect: not shaded
    df["2.2.2"] = answers(0.6, 0.6)  # no effect
    df["2.3.1"] = answers(1.0, 0.5)  # every IOM case yes: separation, no number
    return df


@pytest.fixture(scope="module")
def table():
    df = cases()
    questions = ["2.1.1", "2.1.2", "2.2.1", "2.2.2", "2.3.1"]
    result = compare_groups(df, "iom", questions, levels=("iom", "non_iom"),
                            covariates=COVARIATES)
    return result, iom_comparison_table(HEAD, result, load_set("iom-thematic-2019"))


def test_a_fitted_effect_is_shaded_whatever_was_dropped(table) -> None:
    result, t = table
    dropped = result.row("2.1.1").independent_effect
    assert dropped.status == "single_level" and dropped.dropped == ("provider",)
    assert dropped.p < 1e-5 and dropped.odds_ratio > 1  # the p = 5e-6 case
    shaded = {row["question_id"] for i, row in enumerate(t.rows)
              if t.style_of(i, "iom_pct") == SHADE}
    assert shaded == {"2.1.1", "2.1.2"}
    flags = {row["question_id"]: row["independent_effect"] for row in t.rows}
    assert flags == {"2.1.1": True, "2.1.2": True, "2.2.1": False, "2.2.2": False,
                     "2.3.1": False}
    assert result.row("2.2.1").independent_effect.p < 0.05  # negative: fitted, unshaded
    assert result.row("2.3.1").independent_effect.status == "separation"


def test_the_note_names_what_the_models_used_with_labels(table) -> None:
    _, t = table
    notes = " ".join(t.notes)
    assert ("controlling for case type, risk of serious harm and likelihood of "
            "reoffending.") in notes
    assert "Lead agency was left out of the model for question 2.1.1: it had one level " \
           "only among the cases answering." in notes
    assert "No regression could be fitted for question 2.3.1" in notes
    for code in ("provider", "case_type", "rosh", "likelihood,", "likelihood."):
        assert code not in notes


def test_the_note_says_every_covariate_when_none_was_dropped() -> None:
    df = cases().drop(columns=["2.1.1"])
    result = compare_groups(df, "iom", ["2.1.2"], levels=("iom", "non_iom"),
                            covariates=COVARIATES)
    t = iom_comparison_table(HEAD, result, load_set("iom-thematic-2019"))
    assert ("controlling for case type, risk of serious harm, likelihood of reoffending "
            "and lead agency.") in " ".join(t.notes)
    assert "left out" not in " ".join(t.notes)


def test_the_chart_marks_the_shaded_questions(table) -> None:
    _, t = table
    [drawing] = table_chart(t, 480)
    # Bars carry the question's short label (wrapped over lines), never its id.
    text = " ".join(s.text for s in drawing.getContents() if hasattr(s, "text"))
    qs = load_set("iom-thematic-2019")
    for qid in ("2.1.1", "2.1.2"):
        assert " ".join(f"{qs.question(qid).label} †".split()) in text
    assert qs.question("2.2.1").label in text
    assert f"{qs.question('2.2.1').label} †" not in text
    assert "2.1.1" not in text


def test_the_pdf_shows_the_marks_and_the_note(table, tmp_path) -> None:
    from audit.report.pdf import write_pdf
    from tests.audit.report.conftest import sample_report

    _, t = table
    base = sample_report()
    path = write_pdf(Report(base.meta, (t,)), tmp_path / "fig52.pdf", suppress_below=5)
    text = " ".join(" ".join((page.extract_text() or "").split())
                    for page in PdfReader(path).pages)
    assert "Lead agency was left out of the model for question 2.1.1" in text
    assert f"{load_set('iom-thematic-2019').question('2.1.1').label} †" in text
    assert text.count("†") >= 4  # two shaded rows x two cells, plus the chart labels
