"""The demo reproduces the published figures of the 2020 IOM thematic inspection (seed 002)."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.demo.published import THEMATIC_SITES
from tests.audit.demo.conftest import Built, reference

# Figure 4.7 labels (as typed in the CSV) -> profile codes.
OFFENCES = {"Violence against the person": "violence",
            "Breach of restraining order or breach of non-molestation order": "breach_order",
            "Sexual offence": "sexual", "Burglary": "burglary", "Robbery": "robbery",
            "Theft and handling stolen goods": "theft", "Drug offences": "drugs",
            "Motoring offences": "motoring", "Other offences not listed above": "other"}


def counts(answers: pd.DataFrame, qid: str) -> dict[str, int]:
    return answers.loc[answers["question_id"] == qid, "value"].value_counts().to_dict()


def profile(cases: pd.DataFrame, column: str) -> dict[object, int]:
    return cases[column].value_counts(dropna=False).to_dict()


def test_annex_2_profile(thematic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, _ = thematic
    assert len(cases) == 60 and cases["iom"].all()
    assert profile(cases, "case_type") == {"post_release": 42, "community": 17,
                                           "non_statutory": 1}
    nonstat = cases[cases["case_type"] == "non_statutory"].iloc[0]
    assert nonstat["provider"] == "police"
    assert all(nonstat[f] is None for f in ("age_band", "gender", "ethnicity"))
    rosh = profile(cases, "rosh")
    assert rosh["low"] == 2 and rosh["medium"] + rosh["high"] == 56
    assert 0.36 <= (rosh["high"] + rosh.get("very_high", 0)) / 60 < 0.4  # "almost 40 per cent"
    assert cases["domestic_abuse"].sum() == 33
    assert profile(cases, "prev_convictions")["21_plus"] == 32
    assert {k: v for k, v in profile(cases, "age_band").items() if k} == {
        "18_25": 14, "26_35": 23, "36_55": 22}
    assert {k: v for k, v in profile(cases, "gender").items() if k} == {"male": 53, "female": 6}
    assert profile(cases, "ethnicity")["white"] == 47
    assert cases["ro_interviewed"].sum() == 44
    assert profile(cases, "mappa_level")["none"] >= 45
    assert cases["start_date"].map(lambda d: d.year in (2018, 2019)).all()
    providers = profile(cases, "provider")
    assert providers["police"] == 1 and 15 <= providers["nps"] <= 25


def test_annex_2_sites(demo: Built) -> None:
    import sqlalchemy as sa

    from audit.store.engine import open_database

    database = open_database(str(demo.path))
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.name, s.nps_division, s.crc, s.police_force FROM site s JOIN inspection "
            "i ON i.id = s.inspection_id WHERE i.name = 'iom-thematic-2019'")).all()
    database.dispose()
    assert sorted(map(tuple, rows)) == sorted(THEMATIC_SITES)
    per_site = demo.cases[demo.cases["inspection"] == "iom-thematic-2019"]["site"].value_counts()
    assert set(per_site) <= {8, 9}


def test_figure_4_7_index_offences(thematic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, _ = thematic
    published = {OFFENCES[r.offence]: r.number
                 for r in reference("fig4_7_index_offence.csv").itertuples()}
    got = {k: v for k, v in profile(cases, "index_offence").items() if k is not None}
    assert got == published


def test_figure_4_3_and_4_6_factors(thematic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    cases, answers = thematic
    linked = reference("fig4_3_factors_linked.csv")
    delivered = reference("fig4_6_factors_delivered.csv").set_index("factor")
    for row in linked.itertuples():
        got = counts(answers, f"factor.{row.factor}.linked")
        assert got.get("yes", 0) == row.thematic_n, row.factor
        assert got.get("yes", 0) + got.get("no", 0) == 59, row.factor
        got = counts(answers, f"factor.{row.factor}.delivered")
        assert got.get("yes", 0) == delivered.loc[row.factor, "thematic_yes"], row.factor
        assert got.get("no", 0) == delivered.loc[row.factor, "thematic_no"], row.factor


def test_figure_5_1_outcomes(thematic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, answers = thematic
    published = reference("fig5_1_outcomes.csv").replace({"stayed_the_same": "same"})
    for question, group in published.groupby("question"):
        want = dict(zip(group["answer"], group["number"], strict=True))
        assert counts(answers, f"outcome.{question}") == want, question


@pytest.mark.parametrize(("qid", "want"), [
    ("iom.reasons_known", {"yes": 43, "no": 16}),
    ("iom.plan_requirements", {"yes": 21, "no": 38}),
    ("iom.su_involved_review", {"yes": 16, "no": 43}),
    ("iom.review_adjusted", {"yes": 33, "no": 22, "na": 4}),
    ("iom.deselected", {"yes": 7, "no": 53}),
    ("iom.exit_strategy", {"yes": 1, "no": 6}),
    ("iom.complied", {"yes": 29, "no": 31}),
    ("iom.recalled", {"yes": 23, "no": 19}),
    ("2.1.2", {"yes": 50, "no": 9}),
])
def test_chapter_4_counts(thematic: tuple[pd.DataFrame, pd.DataFrame], qid: str,
                          want: dict[str, int]) -> None:
    assert counts(thematic[1], qid) == want


def test_chapter_4_rates(thematic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, answers = thematic

    def share(qid: str) -> float:
        got = counts(answers, qid)
        return got.get("yes", 0) / (got.get("yes", 0) + got.get("no", 0))

    assert 0.4 < share("iom.explained") < 0.5  # just under half
    assert 0.5 < share("iom.partner_info") < 0.6  # just over half
    assert share("iom.supported_engage") > 0.75
    assert share("iom.plan_roles") < 0.5
    for qid, published in (("2.1.1", 0.72), ("2.2.1", 0.69), ("2.2.2", 0.75)):
        assert abs(share(qid) - published) <= 0.02, qid
    desistance = min(share(q) for q in ("2.1.2", "2.2.2", "2.3.1"))
    for safe in ("2.1.3", "2.2.3", "2.3.3", "2.4.3"):  # Figure 4.9: keeping safe is weaker
        assert share(safe) < desistance, safe


def test_statuses_and_second_ratings(demo: Built) -> None:
    cases = demo.cases[demo.cases["inspection"] == "iom-thematic-2019"]
    statuses = profile(cases, "status")
    assert statuses["in_progress"] == 5 and statuses["complete"] == 45
    assert statuses["qa_checked"] + statuses["moderated"] == 10 and statuses["moderated"] >= 2
    answers = demo.answers[demo.answers["inspection"] == "iom-thematic-2019"]
    wide = answers.pivot_table(index=["case_ref", "question_id"], columns="rater",
                               values="value", aggfunc="first")
    double = wide.dropna(subset=["qa"])
    assert double.index.get_level_values("case_ref").nunique() == 10
    pair = double[double["primary"].isin(["yes", "no"])]
    agree = (pair["primary"] == pair["qa"]).mean()
    p_yes = ((pair["primary"] == "yes").mean() + (pair["qa"] == "yes").mean()) / 2
    chance = p_yes ** 2 + (1 - p_yes) ** 2
    kappa = (agree - chance) / (1 - chance)
    assert 0.6 <= kappa <= 0.8
    disagreements = double[double["primary"] != double["qa"]]
    moderated = wide.dropna(subset=["moderated"])
    assert set(moderated.index) < set(disagreements.index)
    assert ((moderated["moderated"] == moderated["primary"])
            | (moderated["moderated"] == moderated["qa"])).all()
    # Both decisions occur: the moderator sides with the primary rating and with QA.
    assert (moderated["moderated"] == moderated["primary"]).any()
    assert (moderated["moderated"] == moderated["qa"]).any()
    # A moderated case has every disagreement reconciled; one QA-checked case waits for
    # its reconciliation (no moderated answer yet).
    status = cases.set_index("case_ref")["status"]
    refs = disagreements.index.get_level_values("case_ref")
    for ref in set(refs):
        mine = disagreements.loc[ref]
        done = mine["moderated"].notna() if "moderated" in mine else pd.Series(False)
        assert done.all() == (status[ref] == "moderated"), ref
    waiting = [r for r in set(refs) if status[r] == "qa_checked"]
    assert len(waiting) == 1
    assert disagreements.loc[waiting[0]]["moderated"].isna().all()


def test_people_and_refs_are_fictional(demo: Built) -> None:
    assert demo.cases["case_ref"].str.match(r"^DEMO-(T-\d{4}|C-\d{6})$").all()
    assert demo.answers["inspector"].str.startswith("Demo ").all()
    import sqlalchemy as sa

    from audit.store.engine import open_database

    database = open_database(str(demo.path))
    with database.engine.connect() as conn:
        roles = dict(conn.execute(sa.text("SELECT name, role FROM inspector")).all())
    database.dispose()
    assert roles["Demo Lead Cedar"] == "lead"
    assert set(demo.answers["inspector"]) <= {n for n, r in roles.items() if r != "researcher"}
    assert all(name.startswith("Demo ") for name in roles)


def _core_groups(built: Built) -> tuple[pd.DataFrame, pd.DataFrame]:
    cases = built.cases[built.cases["inspection"] == "core-2018-19"]
    answers = built.answers[built.answers["inspection"] == "core-2018-19"].merge(
        cases[["id", "iom"]], left_on="case_id", right_on="id")
    return cases, answers


def figure_5_2_table(built: Built) -> pd.DataFrame:
    """Per question and group: yes, n (yes + no) and percentage, as Figure 5.2 counts them."""
    _, answers = _core_groups(built)
    table = (answers.assign(yes=answers["value"] == "yes",
                            n=answers["value"].isin(["yes", "no"]))
             .groupby(["question_id", "iom"])[["yes", "n"]].sum())
    table["pct"] = 100 * table["yes"] / table["n"]
    return table


def test_figure_5_2_exactly_at_the_default_size(demo: Built) -> None:
    cases, _ = _core_groups(demo)
    assert len(cases) == 3_247 and cases["iom"].sum() == 268
    iom = cases[cases["iom"].astype(bool)]
    assert iom["provider"].value_counts().to_dict() == {"crc": 173, "nps": 95}
    table = figure_5_2_table(demo)
    for row in reference("fig5_2_core_iom_vs_non_iom.csv").itertuples():
        for group, pct, n in ((False, row.non_iom_pct, row.non_iom_n),
                              (True, row.iom_pct, row.iom_n)):
            got = table.loc[(row.question_id, group)]
            assert got["n"] == n, (row.question_id, group)
            assert round(got["pct"]) == pct, (row.question_id, group)


def test_figure_4_3_and_4_6_core_iom(demo: Built) -> None:
    table = figure_5_2_table(demo)
    delivered = reference("fig4_6_factors_delivered.csv").set_index("factor")
    for row in reference("fig4_3_factors_linked.csv").itertuples():
        linked = table.loc[(f"factor.{row.factor}.linked", True)]
        assert (linked["yes"], linked["n"]) == (row.core_iom_n, 268)
        got = table.loc[(f"factor.{row.factor}.delivered", True)]
        want = delivered.loc[row.factor]
        assert (got["yes"], got["n"] - got["yes"]) == (want["core_iom_yes"], want["core_iom_no"])


def test_profile_confounds_the_comparison(demo: Built) -> None:
    """IOM cases differ in case mix, and the case mix relates to the answers."""
    cases, answers = _core_groups(demo)
    iom = cases["iom"].astype(bool)
    post = cases["case_type"] == "post_release"
    assert post[iom].mean() - post[~iom].mean() > 0.2
    high = cases["likelihood"] == "high"
    assert high[iom].mean() - high[~iom].mean() > 0.3
    merged = answers[answers["question_id"] == "2.2.2"].merge(
        cases[["id", "likelihood"]], left_on="case_id", right_on="id")
    merged = merged[~merged["iom"].astype(bool)]
    by_likelihood = merged.groupby("likelihood")["value"].apply(lambda v: (v == "yes").mean())
    assert by_likelihood["low"] - by_likelihood["high"] > 0.05


def test_iom_keeps_an_independent_effect_on_eight_of_twelve(demo: Built) -> None:
    """Chapter 5: adjusted for case type, RoSH, likelihood and provider, IOM status is an
    independent factor in 8 of the 12 questions (and in the RO harm question)."""
    import warnings

    import numpy as np
    import statsmodels.formula.api as smf

    cases, answers = _core_groups(demo)
    data = answers[answers["value"].isin(["yes", "no"])].merge(
        cases[["id", "provider", "case_type", "rosh", "likelihood"]], left_on="case_id",
        right_on="id")
    data = data.assign(y=(data["value"] == "yes").astype(int),
                       iom=data["iom"].astype(int)).astype({c: str for c in (
                           "provider", "case_type", "rosh", "likelihood")})
    independent = set()
    for qid, group in data.groupby("question_id"):
        if qid.startswith("factor."):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = smf.logit("y ~ iom + C(provider) + C(case_type) + C(rosh) + C(likelihood)",
                            group).fit(disp=0)
        if fit.pvalues["iom"] < 0.05 and np.exp(fit.params["iom"]) > 1:
            independent.add(qid)
    assert independent == {"2.1.2", "2.1.3", "2.2.2", "2.2.3", "2.3.3", "2.4.1", "2.4.2",
                           "2.4.3", "ro.agencies_harm"}
