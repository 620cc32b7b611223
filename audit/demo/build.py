"""Building the demo database: the thematic sample and the core programme, written through
the bulk import path, one transaction per inspection.

Everything is made up, but follows the published figures of the 2020 joint thematic
inspection of IOM (`audit.demo.published`). The same seed gives the same data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlmodel import col, select

from audit.demo import published
from audit.demo.core import (
    CORE_CRC_SITES,
    CORE_DEFAULT_CASES,
    CORE_NPS_SITES,
    build_core_chunk,
    core_chunks,
)
from audit.demo.people import PEOPLE, WHO
from audit.demo.thematic import build_thematic_frames
from audit.demo.workload import allocate_demo, workload
from audit.errors import UsageError
from audit.inspections import create_inspection
from audit.people import grant_role
from audit.permissions import Actor, require
from audit.store.engine import Database
from audit.store.models import Inspection, Inspector, Site, table_of
from question_sets import load_set

DEFAULT_SEED = 2019

THEMATIC_NAME = "iom-thematic-2019"

THEMATIC_SET = "iom-thematic-2019"

CORE_NAME = "core-2018-19"

CORE_SET = "hmip-adult-2018"


@dataclass(frozen=True)
class BuiltInspection:
    """What was built for one inspection."""

    name: str
    kind: str
    question_set: str
    cases: int
    answers: int
    statuses: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoSummary:
    """What `build_demo` built, and how long it took."""

    inspections: tuple[BuiltInspection, ...]
    seconds: float
    seed: int
    lead: str | None = None  # the builder, when the demo made them a lead

    @property
    def cases(self) -> int:
        return sum(i.cases for i in self.inspections)

    @property
    def answers(self) -> int:
        return sum(i.answers for i in self.inspections)


Progress = Callable[[int, int], None]
"""Called with (core cases written so far, core cases in total)."""


def _refuse_existing(db: Database) -> None:
    with db.session() as session:
        found = session.exec(select(Inspection.name).where(
            col(Inspection.name).in_([THEMATIC_NAME, CORE_NAME]))).all()
    if found:
        raise UsageError(f"the database {db.location.display()} already holds "
                         f"{' and '.join(repr(f) for f in sorted(found))}: the demo builds "
                         "those itself; use another --db (or a fresh database)")


def _people(conn: sa.Connection) -> None:
    """The fictional inspectors with their roles (registered, or given their demo role)
    through audit/people.py: each change is in the trail, and on PostgreSQL only a lead's
    login may make it."""
    table = table_of(Inspector)
    known = {str(n): str(r) for n, r in conn.execute(sa.select(table.c.name, table.c.role))}
    for name, role in PEOPLE:
        if known.get(name) != role:
            grant_role(conn, name, role, by=WHO)


def _site_details(conn: sa.Connection, inspection_id: int,
                  details: Sequence[tuple[str, str | None, str | None, str | None]]) -> None:
    table = table_of(Site)
    for name, nps, crc, police in details:
        conn.execute(sa.update(table).where(table.c.inspection_id == inspection_id,
                                            table.c.name == name)
                     .values(nps_division=nps, crc=crc, police_force=police))


def _core_site_details() -> list[tuple[str, str | None, str | None, str | None]]:
    return ([(s, s.removeprefix("NPS "), None, None) for s in CORE_NPS_SITES]
            + [(s, None, s.removeprefix("CRC "), None) for s in CORE_CRC_SITES])


Frames = Iterator[tuple[pd.DataFrame, pd.DataFrame]]


def _write(db: Database, name: str, kind: str, set_id: str, frames: Frames,
           details: Sequence[tuple[str, str | None, str | None, str | None]],
           rng: np.random.Generator,
           on_chunk: Callable[[int], None] | None = None) -> BuiltInspection:
    """Create one inspection and write its chunks through the bulk path.

    One transaction per inspection, not per chunk: a build that fails or is interrupted
    leaves nothing behind, so running the demo again is never refused because of a
    half-built inspection. SQLite's WAL keeps readers working meanwhile, and memory stays
    bounded because each chunk's frames are dropped once written. Each case is allocated
    to the inspector who rated it (`audit.demo.workload`), with a due date drawn by `rng`.
    """
    from audit.imports.stage_answers import upsert_answers
    from audit.imports.stage_cases import upsert_cases

    cases = answers = 0
    statuses: dict[str, int] = {}
    with db.write_session() as session:
        inspection = create_inspection(session, name, kind=kind, question_set=set_id)
        assert inspection.id is not None
        conn = session.connection()
        _people(conn)
        for case_frame, answer_frame in frames:
            upsert_cases(conn, inspection.id, case_frame, who=WHO)
            upsert_answers(conn, inspection.id, answer_frame, who=WHO,
                           question_set_version=inspection.question_set_version)
            allocate_demo(conn, inspection.id,
                          workload(case_frame, answer_frame, rng, date.today()), WHO)
            cases += len(case_frame)
            answers += len(answer_frame)
            for status, count in case_frame["status"].value_counts().items():
                statuses[str(status)] = statuses.get(str(status), 0) + int(count)
            if on_chunk is not None:
                on_chunk(len(case_frame))
        _site_details(conn, inspection.id, details)
    return BuiltInspection(name, kind, set_id, cases, answers, statuses)


def build_demo(db: Database, *, actor: Actor, cases: int | None = None,
               seed: int = DEFAULT_SEED, progress: Progress | None = None) -> DemoSummary:
    """Build the thematic sample and the core inspection (`cases` core cases in total).

    Refuses (UsageError) when either demo inspection already exists in the database. The
    person who builds it becomes one of its leads if the database does not know them, so
    they can try everything (`DemoSummary.lead`).
    """
    total = CORE_DEFAULT_CASES if cases is None else cases
    if total < CORE_DEFAULT_CASES:
        raise UsageError(f"--cases must be at least {CORE_DEFAULT_CASES:,} (the published "
                         "core sample of Figure 5.2)")
    started = time.perf_counter()
    with db.engine.connect() as conn:
        require(conn, actor, "create_inspection")
    _refuse_existing(db)
    # First, so that on PostgreSQL the builder is a lead (when the database has none yet)
    # before the demo's people are registered, which only a lead's login may do.
    lead = _lead_the_demo(db, actor)
    thematic_qs, core_qs = load_set(THEMATIC_SET), load_set(CORE_SET)
    thematic = _write(db, THEMATIC_NAME, "thematic", THEMATIC_SET,
                      iter([build_thematic_frames(seed, thematic_qs)]),
                      [(s, nps, crc, police) for s, nps, crc, police in published.THEMATIC_SITES],
                      np.random.default_rng([seed, 3, 1]))
    done = 0

    def on_chunk(written: int) -> None:
        nonlocal done
        done += written
        if progress is not None:
            progress(done, total)

    chunks = (build_core_chunk(seed, core_qs, c) for c in core_chunks(total))
    core = _write(db, CORE_NAME, "core", CORE_SET, chunks, _core_site_details(),
                  np.random.default_rng([seed, 3, 2]), on_chunk)
    return DemoSummary((thematic, core), time.perf_counter() - started, seed, lead)


def _lead_the_demo(db: Database, actor: Actor) -> str | None:
    """Make the builder a lead of the demo unless the database already knows them (an
    existing person keeps the role they have). Returns their name when appointed. On
    PostgreSQL a login appoints itself only while the database has no lead (people.py)."""
    with db.write_session() as session:
        known = session.exec(select(Inspector.id).where(Inspector.name == actor.name)).first()
        if known is not None:
            return None
        grant_role(session, actor.name, "lead", by=actor.name)
    return actor.name
