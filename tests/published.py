"""Case-level data whose marginals are the published figures of seed 002.

`build_published(db)` creates a thematic inspection (60 IOM cases; Figures 4.3, 4.6, 4.7,
5.1) and a core-programme inspection (268 IOM and 2,979 non-IOM cases; Figures 4.3 and
4.6 core columns, Figure 5.2), reading the numbers from `audit.demo.published` (the
published figures shipped with the package, identical to `shared/reference/*.csv`), so a
test can run the tool on them and compare its output with the publication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from audit.demo import published
from audit.inspections import create_inspection
from audit.store.engine import Database
from audit.store.models import Answer, Case, utcnow

NA_QUESTIONS = {"2.2.3", "2.3.3", "2.4.1", "2.4.2", "2.4.3", "ro.agencies_desistance",
                "ro.agencies_harm"}


def yes_count(pct: str, n: str) -> int:
    """A yes count consistent with a published (rounded) percentage of n."""
    return int(round(float(pct) * int(n) / 100))


@dataclass
class _Writer:
    db: Database
    answers: list[dict[str, Any]]

    def add(self, case_id: int, qid: str, value: str) -> None:
        self.answers.append({"case_id": case_id, "question_id": qid, "value": value,
                             "question_set_version": "1.0", "rater": "primary",
                             "updated_at": utcnow()})


def _insert_cases(db: Database, inspection_id: int, rows: list[dict[str, Any]]) -> list[int]:
    now = utcnow()
    keys = set().union(*rows)
    for r in rows:
        for k in keys:
            r.setdefault(k, None)
        r.setdefault("status", "complete")
        r.setdefault("version", 1)
        r["updated_at"] = now
        r["inspection_id"] = inspection_id
    with db.write() as conn:
        conn.execute(sa.insert(Case.__table__), rows)  # type: ignore[attr-defined]
        ids = conn.execute(sa.select(Case.id).where(Case.inspection_id == inspection_id)
                           .order_by(Case.id)).scalars().all()
    return list(ids)


def _spread(writer: _Writer, case_ids: list[int], qid: str, counts: list[tuple[str, int]],
            rest: str | None = None) -> list[int]:
    """Give the first cases each value its count; the remaining cases `rest` (or nothing).

    Returns the cases that got the first value (e.g. the 'yes' cases).
    """
    i = 0
    first: list[int] = []
    for k, (value, n) in enumerate(counts):
        for cid in case_ids[i:i + n]:
            writer.add(cid, qid, value)
            if k == 0:
                first.append(cid)
        i += n
    if rest is not None:
        for cid in case_ids[i:]:
            writer.add(cid, qid, rest)
    return first


def build_published(db: Database, *, seed: int = 2020) -> dict[str, int]:
    """Create the two inspections; returns their ids by name."""
    rng = np.random.default_rng(seed)
    with db.write_session() as session:
        thematic = create_inspection(session, "thematic", kind="thematic",
                                     question_set="iom-thematic-2019")
        core = create_inspection(session, "core", kind="core", question_set="hmip-adult-2018")
        ids = {"thematic": thematic.id, "core": core.id}

    # Thematic sample: 59 statutory cases with an assessment and one non-statutory case.
    offences = [code for code, n in published.index_offences().items() for _ in range(n)]
    cases = [{"case_ref": f"T{i:03d}", "iom": True, "provider": "crc" if i % 3 else "nps",
              "case_type": "community" if i < 17 else "post_release",
              "index_offence": offences[i]} for i in range(59)]
    cases.append({"case_ref": "T059", "iom": True, "provider": "police",
                  "case_type": "non_statutory"})
    theme_ids = _insert_cases(db, ids["thematic"], cases)
    assessed = theme_ids[:59]
    w = _Writer(db, [])
    delivered = {r["factor"]: r for r in published.rows("fig4_6_factors_delivered.csv")}
    for r in published.rows("fig4_3_factors_linked.csv"):
        order = [int(x) for x in rng.permutation(assessed)]
        linked = _spread(w, order, f"factor.{r['factor']}.linked",
                         [("yes", int(r["thematic_n"]))], rest="no")
        d = delivered[r["factor"]]
        _spread(w, linked, f"factor.{r['factor']}.delivered",
                [("yes", int(d["thematic_yes"])), ("no", int(d["thematic_no"]))])
    outcome = published.outcomes()
    order = [int(x) for x in rng.permutation(theme_ids[:58])]
    reoffended = _spread(w, order, "outcome.reoffended",
                         [(code, outcome["reoffended"][code]) for code in ("yes", "no")])
    for q in ("frequency", "seriousness"):
        _spread(w, reoffended, f"outcome.{q}", list(outcome[q].items()))
    # Chapter 4 counts: plans set out IOM requirements in 21 of 59 cases, and so on.
    stated = published.STATED
    for qid in ("iom.plan_requirements", "iom.reasons_known", "iom.su_involved_review", "2.1.2"):
        _spread(w, assessed, qid, [("yes", stated[qid]["yes"])], rest="no")
    adjusted = stated["iom.review_adjusted"]
    _spread(w, assessed, "iom.review_adjusted", [("yes", adjusted["yes"]),
                                                 ("no", adjusted["no"])], rest="na")

    # Core programme: Figure 5.2 rates per group, with covariates for the regression.
    n_iom, n_non = published.CORE_IOM, published.CORE_NON_IOM
    core_cases = []
    for i in range(n_iom + n_non):
        iom = i < n_iom
        core_cases.append({
            "case_ref": f"C{i:05d}", "iom": iom,
            "provider": ("crc" if i < 173 else "nps") if iom else str(rng.choice(["nps", "crc"])),
            "case_type": str(rng.choice(["community", "post_release"],
                                        p=[0.25, 0.75] if iom else [0.6, 0.4])),
            "rosh": str(rng.choice(["low", "medium", "high"], p=[0.2, 0.5, 0.3])),
            "likelihood": str(rng.choice(["low", "medium", "high"],
                                         p=[0.1, 0.3, 0.6] if iom else [0.3, 0.4, 0.3])),
        })
    core_ids = _insert_cases(db, ids["core"], core_cases)
    iom_ids, non_ids = core_ids[:n_iom], core_ids[n_iom:]
    for r in published.rows("fig5_2_core_iom_vs_non_iom.csv"):
        for group, pool in (("iom", iom_ids), ("non_iom", non_ids)):
            n = int(r[f"{group}_n"])
            yes = yes_count(r[f"{group}_pct"], r[f"{group}_n"])
            order = [int(x) for x in rng.permutation(pool)]
            rest = "na" if r["question_id"] in NA_QUESTIONS else None
            _spread(w, order[:n] + (order[n:] if rest else []), r["question_id"],
                    [("yes", yes), ("no", n - yes)], rest=rest)
    for r in published.rows("fig4_3_factors_linked.csv"):
        d = delivered[r["factor"]]
        order = [int(x) for x in rng.permutation(iom_ids)]
        linked = _spread(w, order, f"factor.{r['factor']}.linked",
                         [("yes", int(r["core_iom_n"]))], rest="no")
        _spread(w, linked, f"factor.{r['factor']}.delivered",
                [("yes", int(d["core_iom_yes"])), ("no", int(d["core_iom_no"]))])
    with db.write() as conn:
        conn.execute(sa.insert(Answer.__table__), w.answers)  # type: ignore[attr-defined]
    return ids  # type: ignore[return-value]
