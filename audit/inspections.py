"""Inspections and their sites: create, find, and choose the one a command works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

# Re-exported: their home is audit.defaults, which command-line help imports cheaply.
from audit.defaults import DEFAULT_INSPECTION as DEFAULT_INSPECTION
from audit.defaults import DEFAULT_QUESTION_SET as DEFAULT_QUESTION_SET
from audit.errors import NotFoundError, UsageError
from audit.people import ensure_first_lead
from audit.permissions import Actor, require
from audit.store.engine import Database
from audit.store.models import INSPECTION_KINDS, Case, Inspection, QuestionSetRecord, Site
from audit.text_rules import clean_name, normal
from question_sets import QuestionSet, UnknownSetError, load_set


def register_question_set(session: Session, qs: QuestionSet) -> None:
    """Record a set's digest, refusing a known id and version whose content changed."""
    known = session.exec(select(QuestionSetRecord).where(
        QuestionSetRecord.set_id == qs.id, QuestionSetRecord.version == qs.version)).first()
    if known is None:
        session.add(QuestionSetRecord(set_id=qs.id, version=qs.version, digest=qs.digest,
                                      title=qs.title))
    elif known.digest != qs.digest:
        raise UsageError(
            f"question set {qs.id} version {qs.version} is already known to this database with "
            "different content; give the changed set a new version number")


def create_inspection(session: Session, name: str, *, kind: str = "thematic",
                      question_set: str = DEFAULT_QUESTION_SET,
                      question_set_version: str | None = None) -> Inspection:
    """Create an inspection rated on a question set (refusing a duplicate name)."""
    name = clean_name(name, "inspection name")
    if not name:
        raise UsageError("an inspection needs a name")
    if kind not in INSPECTION_KINDS:
        raise UsageError(f"kind must be one of {', '.join(INSPECTION_KINDS)}, not {kind!r}")
    if session.exec(select(Inspection).where(Inspection.name == name)).first():
        raise UsageError(f"inspection {name!r} already exists")
    try:
        qs = load_set(question_set, question_set_version)
    except UnknownSetError as exc:
        raise NotFoundError(f"unknown question set {question_set!r}") from exc
    register_question_set(session, qs)
    inspection = Inspection(name=name, kind=kind, question_set_id=qs.id,
                            question_set_version=qs.version, question_set_digest=qs.digest)
    session.add(inspection)
    session.flush()
    return inspection


@dataclass(frozen=True)
class Created:
    """An inspection just created, and whether its creator became the database's lead."""

    name: str
    kind: str
    question_set_id: str
    question_set_version: str
    first_lead: bool


def start_inspection(db: Database, name: str, *, actor: Actor, kind: str = "thematic",
                     question_set: str = DEFAULT_QUESTION_SET) -> Created:
    """Create an inspection; whoever creates the first one in a database leads it."""
    with db.write_session() as session:
        require(session, actor, "create_inspection")
        inspection = create_inspection(session, name, kind=kind, question_set=question_set)
        first = ensure_first_lead(session, actor.name)
        return Created(inspection.name, inspection.kind, inspection.question_set_id,
                       inspection.question_set_version, first)


def question_set_of(inspection: Inspection) -> QuestionSet:
    """The question set an inspection is rated on, checked against its recorded digest."""
    qs = load_set(inspection.question_set_id, inspection.question_set_version)
    if inspection.question_set_digest and qs.digest != inspection.question_set_digest:
        raise UsageError(
            f"question set {qs.id} version {qs.version} has changed since inspection "
            f"{inspection.name!r} was created; restore it or give the change a new version")
    return qs


def all_inspections(session: Session) -> list[Inspection]:
    """Every inspection, oldest first."""
    return list(session.exec(select(Inspection).order_by(col(Inspection.id))))


def find_inspection(session: Session, name: str) -> Inspection:
    """The inspection with this name, or NotFoundError listing the ones there are."""
    name = normal(name)
    inspection = session.exec(select(Inspection).where(Inspection.name == name)).first()
    if inspection is None:
        names = ", ".join(i.name for i in all_inspections(session)) or "none yet"
        raise NotFoundError(f"no inspection named {name!r} (there are: {names})")
    return inspection


def inspection_for_writing(session: Session, name: str | None) -> Inspection:
    """The inspection a writing command works on: the named one, else the only one."""
    if name:
        return find_inspection(session, name)
    inspections = all_inspections(session)
    if not inspections:
        raise UsageError("the database holds no inspection yet: run `iom-audit init` first")
    if len(inspections) > 1:
        names = ", ".join(i.name for i in inspections)
        raise UsageError(f"the database holds several inspections ({names}): "
                         "name one with --inspection")
    return inspections[0]


def inspections_for_reading(session: Session, names: Sequence[str] | None) -> list[Inspection]:
    """The inspections a reading command covers: the named ones, else all of them."""
    if names:
        return [find_inspection(session, n) for n in names]
    inspections = all_inspections(session)
    if not inspections:
        raise UsageError("the database holds no inspection yet: run `iom-audit init` first")
    return inspections


def get_or_create_site(session: Session, inspection: Inspection, name: str) -> tuple[Site, bool]:
    """The inspection's site of this name, created when missing; (site, created).

    The name is normalised first (`audit.text_rules`): two sites never look alike."""
    name = clean_name(name, "site")
    if not name:
        raise UsageError("a site needs a name")
    site = session.exec(select(Site).where(Site.inspection_id == inspection.id,
                                           Site.name == name)).first()
    if site is not None:
        return site, False
    assert inspection.id is not None
    site = Site(inspection_id=inspection.id, name=name)
    session.add(site)
    session.flush()
    return site, True


@dataclass(frozen=True)
class StatusCount:
    """Cases of one inspection and site in one status."""

    inspection: str
    site: str | None
    status: str
    cases: int


def status_counts(session: Session) -> list[StatusCount]:
    """Case counts per inspection, site and status, aggregated in SQL."""
    stmt = (sa.select(col(Inspection.name), col(Site.name), col(Case.status), sa.func.count())
            .select_from(Case)
            .join(Inspection, col(Case.inspection_id) == Inspection.id)
            .outerjoin(Site, col(Case.site_id) == Site.id)
            .group_by(col(Inspection.name), col(Site.name), col(Case.status))
            .order_by(col(Inspection.name), col(Site.name), col(Case.status)))
    return [StatusCount(*row) for row in session.execute(stmt)]
