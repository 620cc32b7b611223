"""Dashboard numbers: how far rating has got, per site and per inspector.

Counts are aggregated in SQL (GROUP BY), never by loading cases, so the dashboard of a
100,000-case inspection costs two small result sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from audit import lifecycle
from audit.errors import NotFoundError
from audit.inspections import question_set_of
from audit.store.engine import Database
from audit.store.models import Answer, Case, Inspection, Inspector, Site, table_of
from question_sets import QuestionSet
from question_sets.profile import CASE_STATUS

DONE = lifecycle.SIGNED_OFF


@dataclass(frozen=True)
class Progress:
    """Case counts by status for one site or one inspector."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Cases complete or beyond (QA-checked, moderated, locked)."""
        return sum(self.counts.get(s, 0) for s in DONE)

    def get(self, status: str) -> int:
        return self.counts.get(status, 0)


@dataclass(frozen=True)
class InspectionInfo:
    """An inspection as the app lists it."""

    id: int
    name: str
    kind: str
    question_set: str
    cases: int


@dataclass(frozen=True)
class Overview:
    """Everything the dashboard shows for one inspection."""

    inspection: str
    total: Progress
    sites: list[Progress]
    inspectors: list[Progress]


def _fold(rows: list[tuple[str | None, str, int]], unnamed: str) -> list[Progress]:
    grouped: dict[str, dict[str, int]] = {}
    for name, status, n in rows:
        grouped.setdefault(name or unnamed, {})[status] = n
    return [Progress(name, counts) for name, counts in sorted(grouped.items())]


def site_progress(db: Database, inspection_id: int) -> list[Progress]:
    """Counts per site and status (cases with no site under '(no site)')."""
    case_t, site_t = table_of(Case), table_of(Site)
    case, site = case_t.c, site_t.c
    stmt = (sa.select(site.name, case.status, sa.func.count())
            .select_from(case_t).outerjoin(site_t, case.site_id == site.id)
            .where(case.inspection_id == inspection_id)
            .group_by(site.name, case.status))
    with db.engine.connect() as conn:
        return _fold([tuple(r) for r in conn.execute(stmt)], "(no site)")


def inspector_progress(db: Database, inspection_id: int) -> list[Progress]:
    """Counts per inspector and status of the cases they gave primary answers on."""
    case_t, inspector_t = table_of(Case), table_of(Inspector)
    case, answer, inspector = case_t.c, table_of(Answer).c, inspector_t.c
    # One (inspector, case) pair per case rated, then counted by the case's status.
    # Filtering by inspection inside the subquery lets the database start from the
    # inspection's cases instead of every answer of every inspection.
    pairs = (sa.select(answer.inspector_id.label("who"), answer.case_id.label("case_id"))
             .join(case_t, case.id == answer.case_id)
             .where(answer.rater == "primary", answer.inspector_id.is_not(None),
                    case.inspection_id == inspection_id)
             .distinct().subquery())
    stmt = (sa.select(inspector.name, case.status, sa.func.count())
            .select_from(pairs)
            .join(case_t, case.id == pairs.c.case_id)
            .join(inspector_t, inspector.id == pairs.c.who)
            .where(case.inspection_id == inspection_id)
            .group_by(inspector.name, case.status))
    with db.engine.connect() as conn:
        return _fold([tuple(r) for r in conn.execute(stmt)], "(unknown)")


def overview(db: Database, inspection_id: int, *, with_inspectors: bool = True) -> Overview:
    """Per-site and per-inspector progress of one inspection, with the totals.

    Per-inspector counts read the inspection's answers and are the slow part at national
    scale; without them (`with_inspectors=False`) the overview is a count of cases.
    """
    sites = site_progress(db, inspection_id)
    totals: dict[str, int] = dict.fromkeys(CASE_STATUS, 0)
    for p in sites:
        for status, n in p.counts.items():
            totals[status] = totals.get(status, 0) + n
    with db.engine.connect() as conn:
        insp = table_of(Inspection).c
        name = conn.execute(sa.select(insp.name).where(insp.id == inspection_id)).scalar_one()
    return Overview(name, Progress("All sites", totals), sites,
                    inspector_progress(db, inspection_id) if with_inspectors else [])


def inspections(db: Database) -> list[InspectionInfo]:
    """Every inspection with its case count, oldest first."""
    insp, case = table_of(Inspection).c, table_of(Case).c
    counts = (sa.select(case.inspection_id, sa.func.count().label("n"))
              .group_by(case.inspection_id).subquery())
    stmt = (sa.select(insp.id, insp.name, insp.kind,
                      insp.question_set_id + " v" + insp.question_set_version,
                      sa.func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.inspection_id == insp.id).order_by(insp.id))
    with db.engine.connect() as conn:
        return [InspectionInfo(*r) for r in conn.execute(stmt)]


def question_set_for(db: Database, inspection_id: int) -> QuestionSet:
    """The question set an inspection is rated on (checked against its recorded digest)."""
    with db.session() as session:
        inspection = session.get(Inspection, inspection_id)
        if inspection is None:
            raise NotFoundError(f"no inspection with id {inspection_id}")
        return question_set_of(inspection)
