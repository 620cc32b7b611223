"""Who is rating, on which inspection, on which database: what every screen needs."""

from __future__ import annotations

from dataclasses import dataclass

from audit.store.engine import Database
from question_sets import QuestionSet


@dataclass(frozen=True)
class Workspace:
    """The confirmed identity and inspection (set once the start screen is done)."""

    db: Database
    who: str
    role: str
    inspection_id: int
    inspection: str
    qs: QuestionSet

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"
