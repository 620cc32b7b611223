"""Who is rating, on which inspection, on which database: what every screen needs."""

from __future__ import annotations

from dataclasses import dataclass

from audit.permissions import Actor, allows
from audit.store.engine import Database
from question_sets import QuestionSet


@dataclass(frozen=True)
class Workspace:
    """The confirmed identity and inspection (set once the start screen is done)."""

    db: Database
    actor: Actor
    inspection_id: int
    inspection: str
    qs: QuestionSet

    @property
    def who(self) -> str:
        return self.actor.name

    @property
    def role(self) -> str:
        return self.actor.role

    def may(self, action: str) -> bool:
        """Whether to offer an action (the use case decides; this only dims a key)."""
        return allows(self.actor.role, action)
