"""`compare --by` with three or more groups: pairwise comparisons in the JSON and the text,
checked against scipy/statsmodels from the counts the command itself reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats as sps
from scipy.stats.contingency import expected_freq
from statsmodels.stats.multitest import multipletests

from audit.formatting import format_p
from cli.app import run
from tests.databases import fresh_sqlite
from tests.published import build_published


@pytest.fixture(scope="module")
def published_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("groups") / "p.db"
    db = fresh_sqlite(path)
    build_published(db)
    db.dispose()
    return str(path)


@pytest.fixture(scope="module")
def by_case_type(published_db: str) -> dict:
    """`compare --by case_type --json -` as a reader would parse it."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert run(["--db", published_db, "compare", "--by", "case_type",
                    "--no-independent-effect", "--json", "-"]) == 0
    return json.loads(buffer.getvalue())


def _table(row: dict, *levels: str) -> np.ndarray:
    return np.array([[row["groups"][lv]["yes"], row["groups"][lv]["no"]] for lv in levels])


def test_pairs_in_the_json_equal_scipy_and_holm(by_case_type: dict) -> None:
    out = by_case_type
    assert out["levels"] == ["community", "post_release", "non_statutory"]
    significant = 0
    for row in out["rows"]:
        pairs = row["pairwise"]
        assert [(p["a"], p["b"]) for p in pairs] == [
            ("community", "post_release"), ("community", "non_statutory"),
            ("post_release", "non_statutory")]
        # The core sample has no non-statutory case: the omnibus test is over the other two.
        assert row["groups"]["non_statutory"]["n"] == 0
        both = _table(row, "community", "post_release")
        assert row["p_value"] == pytest.approx(
            sps.chi2_contingency(both, correction=False).pvalue, rel=1e-12)
        assert "left out of the test" in row["note"]
        first = pairs[0]
        assert expected_freq(both).min() >= 5 and first["test"] == "chi2"
        assert first["p_value"] == pytest.approx(row["p_value"], rel=1e-12)
        assert all(p["test"] is None and p["p_value"] is None for p in pairs[1:])
        # Holm over one testable pair leaves it as it is.
        assert first["p_adjusted"] == pytest.approx(
            multipletests([first["p_value"]], method="holm")[1][0])
        (y1, n1), (y2, n2) = ((row["groups"][lv]["yes"], row["groups"][lv]["n"])
                              for lv in ("community", "post_release"))
        assert first["diff_pp"] == pytest.approx(100 * (y1 / n1 - y2 / n2))
        assert first["cohens_h"] == pytest.approx(
            2 * np.arcsin(np.sqrt(y1 / n1)) - 2 * np.arcsin(np.sqrt(y2 / n2)))
        significant += bool(first["significant"])
    assert significant >= 1  # else the text test below proves nothing


def test_text_output_names_the_pairs_that_differ(
        published_db: str, by_case_type: dict, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run(["--db", published_db, "compare", "--by", "case_type",
                "--no-independent-effect"]) == 0
    text = capsys.readouterr().out
    assert "Pairs that differ" in text and "Holm's method within each question" in text
    for row in by_case_type["rows"]:
        pair = row["pairwise"][0]
        high, low = (("Community sentence", "Post-release supervision")
                     if pair["diff_pp"] > 0 else
                     ("Post-release supervision", "Community sentence"))
        line = f"{row['question_id']}: {high} > {low} (p adj. {format_p(pair['p_adjusted'])})"
        assert (line in text) is bool(pair["significant"]), line


def test_two_groups_keep_their_keys_and_gain_effect_sizes(
        published_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--db", published_db, "compare", "--by", "iom", "--json", "-",
                "--no-independent-effect"]) == 0
    out = json.loads(capsys.readouterr().out)
    for row in out["rows"]:
        for key in ("diff_pp", "diff_ci", "odds_ratio", "or_ci", "p_value", "p_adjusted"):
            assert key in row
        iom, non = row["groups"]["iom"], row["groups"]["non_iom"]
        rr = sps.contingency.relative_risk(iom["yes"], iom["n"], non["yes"], non["n"])
        assert row["risk_ratio"] == pytest.approx(rr.relative_risk, rel=1e-12)
        assert row["rr_ci"] == pytest.approx(list(rr.confidence_interval(0.95)), rel=1e-10)
        assert row["cohens_h"] == pytest.approx(
            2 * np.arcsin(np.sqrt(iom["pct"] / 100)) - 2 * np.arcsin(np.sqrt(non["pct"] / 100)))
        assert row["pairwise"] == []


def test_three_answered_levels_against_scipy(published_db: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Risk of serious harm: low, medium and high all answered, so three tested pairs."""
    assert run(["--db", published_db, "compare", "--by", "rosh", "--questions", "all",
                "--no-independent-effect", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["levels"] == ["low", "medium", "high"]
    checked = 0
    for row in out["rows"]:
        if row["test"] is None:
            continue
        table = _table(row, *out["levels"])
        if expected_freq(table).min() >= 5:
            assert row["test"] == "chi2" and row["resamples"] is None
            assert row["p_value"] == pytest.approx(
                sps.chi2_contingency(table, correction=False).pvalue, rel=1e-12)
        else:
            assert row["test"] == "chi2_monte_carlo" and row["resamples"] == 9999
            assert row["p_se"] == pytest.approx(
                np.sqrt(row["p_value"] * (1 - row["p_value"]) / 9999))
        raw = []
        for pair in row["pairwise"]:
            two = _table(row, pair["a"], pair["b"])
            if expected_freq(two).min() < 5:
                assert pair["test"] == "fisher"
                ref = sps.fisher_exact(two).pvalue
            else:
                assert pair["test"] == "chi2"
                ref = sps.chi2_contingency(two, correction=False).pvalue
            assert pair["p_value"] == pytest.approx(ref, rel=1e-12)
            raw.append(ref)
        np.testing.assert_allclose([p["p_adjusted"] for p in row["pairwise"]],
                                   multipletests(raw, method="holm")[1], rtol=1e-12)
        checked += 1
    assert checked >= 10
