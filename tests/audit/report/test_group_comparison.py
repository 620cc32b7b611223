"""The report's comparison of three or more groups (lead agencies): per-group rates, the
omnibus test, and the pairs that differ, checked against scipy and statsmodels; the pairs
and p-values are withheld with a suppressed percentage."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from statsmodels.stats.multitest import multipletests

from audit.report.registry import REGISTRY
from audit.report.suppression import protect, rule_of
from audit.report.tables import group_comparison_table
from question_sets.loader import load_set
from stats import compare_groups

QS = load_set("hmip-adult-2018")
QID = next(q.id for q in QS.questions if q.key)
ENTRY = next(e for e in REGISTRY if e.id == "lead_agency_comparison")


def _table(data: dict[str, tuple[int, int]]):  # type: ignore[no-untyped-def]
    groups, answers = [], []
    for level, (yes, no) in data.items():
        groups += [level] * (yes + no)
        answers += ["yes"] * yes + ["no"] * no
    result = compare_groups(pd.DataFrame({"provider": groups, QID: answers}), "provider",
                            [QID], levels=tuple(data), independent_effect=False)
    return result, group_comparison_table(ENTRY, result, QS)


def test_rates_omnibus_and_pairs_equal_the_libraries() -> None:
    data = {"nps": (160, 40), "crc": (120, 80), "police": (110, 90)}
    result, table = _table(data)
    (row,) = table.rows
    for level, (yes, no) in data.items():
        assert row[f"{level}_pct"] == pytest.approx(100 * yes / (yes + no))
        assert row[f"{level}_n"] == yes + no
    chi2, p, _, _ = chi2_contingency([[y, n] for y, n in data.values()], correction=False)
    assert row["p"] == pytest.approx(p)
    pairs = result.row(QID).pairwise
    holm = multipletests([pr.p_value for pr in pairs], method="holm")[1]
    assert [pr.p_adjusted for pr in pairs] == pytest.approx(list(holm))
    # Named by label, the higher rate first; only the significant pairs.
    assert row["pairs"].startswith("NPS > CRC") and "NPS > Police" in row["pairs"]
    assert "CRC > Police" not in row["pairs"]
    assert [c.group for c in table.columns if c.id.endswith("_pct")] == ["NPS", "CRC",
                                                                         "Police"]


def test_two_agencies_name_their_one_pair_from_the_questions_test() -> None:
    _, table = _table({"nps": (160, 40), "crc": (100, 100)})
    assert table.rows[0]["pairs"].startswith("NPS > CRC (p adj.")
    _, same = _table({"nps": (100, 100), "crc": (101, 99)})
    assert same.rows[0]["pairs"] == "none"


def test_a_small_group_hides_its_rate_and_everything_computed_from_it() -> None:
    _, table = _table({"nps": (160, 40), "crc": (120, 80), "police": (2, 1)})
    result = protect(table, rule_of(5))
    row = result.table.rows[0]
    assert row["police_n"] == "*" and row["police_pct"] == "*"
    for derived in ("p", "p_adjusted", "pairs"):  # each gives the percentage back
        assert row[derived] == "*", derived
    assert result.audit.safe
    from audit.report.text import table_footnotes

    assert not any("3" in note for note in table_footnotes(result.table))  # nor a base line
