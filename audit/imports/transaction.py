"""One file, one transaction: the inspection it goes into, dry runs and the summary.

Everything an import writes runs inside `run_in_transaction`: any error (or a dry run's
deliberate rollback) and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from audit.imports.staging import BulkResult
from audit.inspections import inspection_for_writing, question_set_of
from audit.permissions import Actor, require
from audit.store.engine import Database
from audit.store.models import Inspection
from question_sets import QuestionSet

ProgressFn = Callable[[str, int, int | None], None]
"""progress(what, done, total): bytes read of a file, or a phase with total None."""


@dataclass(frozen=True)
class ImportSummary:
    """What an import did (or, with dry_run, would do)."""

    file: str
    inspection: str
    rows: int
    result: BulkResult
    dry_run: bool = False
    ignored_columns: tuple[str, ...] = ()
    cleared: int = 0  # answers hidden because their question no longer applies
    restored: int = 0  # hidden answers back because their question applies again
    allocated: int = 0  # cases whose allocation or due date changed (case files)


class DryRun(Exception):
    """Raised to roll the transaction back after a dry run has counted everything."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary


def lookup(conn: sa.Connection, inspection: str | None) -> tuple[Inspection, QuestionSet]:
    """The inspection an import writes into (named, else the only one) and its set."""
    with Session(bind=conn) as session:
        found = inspection_for_writing(session, inspection)
        return found, question_set_of(found)


def refuse_early(db: Database, actor: Actor) -> None:
    """Refuse someone who may not import before their file is read (the import's own
    transaction checks again: that check is the one that counts)."""
    with db.engine.connect() as conn:
        require(conn, actor, "import")


def run_in_transaction(db: Database,
                       work: Callable[[sa.Connection], ImportSummary]) -> ImportSummary:
    """Run `work` in one write transaction; a dry run's rollback returns its summary."""
    try:
        with db.write() as conn:
            return work(conn)
    except DryRun as dry:
        return dry.summary
