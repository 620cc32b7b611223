"""The groups a comparison sets side by side: which case fields, and each one's SQL.

Apart from `audit.views.frames` (pandas) so that a comparison can build its queries, and
start its long read (`audit.views.answer_lists`), before the statistics stack is loaded.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from audit.store.models import Case, Inspection, Site
from question_sets.profile import PROFILE

IOM_LEVELS = ("iom", "non_iom")


def group_expression(by: str) -> sa.SQLColumnExpression[Any]:
    """The SQL expression giving a case's group level for `--by FIELD`.

    `iom` maps to the levels `iom` / `non_iom` (unknown stays NULL and is left out);
    booleans to yes/no; `inspection` and `site` to their names; coded fields to codes.
    """
    if by == "iom":
        return sa.case((col(Case.iom).is_(True), "iom"), (col(Case.iom).is_(False), "non_iom"),
                       else_=None)
    if by == "inspection":
        return col(Inspection.name)
    if by == "site":
        return col(Site.name)
    if by == "status":
        return col(Case.status)
    spec = PROFILE.get(by)
    if spec is None:
        raise KeyError(by)
    column = getattr(Case, by)
    if spec.kind == "bool":
        return sa.case((column.is_(True), "yes"), (column.is_(False), "no"), else_=None)
    if spec.kind != "code":
        raise KeyError(by)
    return column


def groupable_fields() -> list[str]:
    """Fields a comparison may group by: coded and yes/no profile fields, inspection, site."""
    return [c for c, f in PROFILE.items() if f.kind in {"code", "bool"}] + ["inspection", "site"]
