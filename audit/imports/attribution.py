"""Whose judgement a ratings file records: `--inspector`, else its inspector column.

Those names never say who acted: the trail records the importer. Answers may be
attributed to someone other than the importer only by a lead. On PostgreSQL they may be
attributed only to people already registered (nobody is created from a file), and a row
naming nobody is the login's own; on SQLite (one machine, one user) a new name is
registered as an inspector by the importer, through audit/people.py. The trail records
both people: each answer event names the importer, and a `rated_by` event per case,
rater and person names whom the written answers are attributed to (AnswerStaging).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit.errors import NotFoundError, PermissionDenied
from audit.identity import login_of
from audit.imports.cells import report
from audit.imports.problems import Problems
from audit.people import registered
from audit.permissions import Actor, refusal, role_of


def unnamed_rater(conn: sa.Connection, actor: Actor, default: str) -> str:
    """Whose judgement a row naming nobody records: on PostgreSQL the login (the person
    importing), else `default` (IOM_AUDIT_INSPECTOR or 'import', as before)."""
    return actor.name if login_of(conn) is not None else default


class Raters:
    """Checks the people a file attributes answers to, for the importer, in its transaction."""

    def __init__(self, conn: sa.Connection, actor: Actor, unnamed: str) -> None:
        self.conn = conn
        self.actor = actor
        self.own = {actor.name, unnamed}  # attributing to these is not to someone else
        self.role = role_of(conn, actor.name)
        self.registered_only = login_of(conn) is not None
        self._reasons: dict[str, str | None] = {}

    def _learn(self, names: list[str]) -> None:
        new = [n for n in names if n not in self._reasons and n not in self.own]
        if not new:
            return
        refused = refusal(self.actor.name, self.role, "import_others")
        known = registered(self.conn, new) if self.registered_only and not refused else set()
        for name in new:
            if refused or not self.registered_only or name in known:
                self._reasons[name] = refused
            else:
                self._reasons[name] = (f"{name!r} is not registered in this database (a lead "
                                       "registers people with `iom-audit inspectors add`)")

    def reason(self, name: str) -> str | None:
        """Why answers may not be attributed to `name` by this importer, or None."""
        if name in self.own:
            return None
        self._learn([name])
        return self._reasons[name]

    def check_option(self, name: str) -> None:
        """Refuse `--inspector NAME` before the file is read, when it may not be used."""
        why = self.reason(name)
        if why is None:
            return
        if self.registered_only and refusal(self.actor.name, self.role, "import_others") is None:
            raise NotFoundError(f"--inspector: {why}")
        raise PermissionDenied(f"--inspector {name}: {why}")

    def check(self, problems: Problems, rows: np.ndarray, names: pd.Series) -> None:
        """Add a located problem for every row of a chunk attributed to a refused name."""
        cats = [str(c) for c in names.cat.categories]
        self._learn(cats)
        reasons = np.array([None if c in self.own else self._reasons[c] for c in cats] + [None],
                           dtype=object)
        codes = names.cat.codes.to_numpy()
        per_row = reasons[codes]  # code -1 (missing) takes the trailing None
        bad = pd.notna(per_row)
        if bad.any():
            report(problems, rows, "inspector", names, bad, per_row)
