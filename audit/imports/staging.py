"""The bulk write path's shared SQL: many cases or answers merged in a few statements.

Rows are loaded into a temporary staging table (SQLite: `executemany` on one prepared
INSERT, or one `json_each` per million compact answer rows; PostgreSQL: `COPY`), then
merged with INSERT ... SELECT and UPDATE ... FROM. The audit events are written the same
way, from the staging table joined with the values stored *before* the merge, so a
4,000,000-answer import costs a handful of statements, never one ORM object per row.
Answers that cannot exist yet (no stored answer for their case and rater) skip the diff
and go straight into `answer`, with the same events. Everything runs in the caller's
transaction (`with db.write() as conn:`): an exception anywhere stores nothing.

`stage_cases.CaseStaging` and `stage_answers.AnswerStaging` take rows chunk by chunk (the
importer streams a file through them); `upsert_cases` and `upsert_answers` do one
DataFrame in one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from audit.store.models import UTCDateTime
from question_sets.profile import PROFILE

CASE_TABLE = '"case"'  # a reserved word in SQL, so always quoted


@dataclass(frozen=True)
class BulkResult:
    """What a bulk write did. `removed` counts answers deleted (no value and no note)."""

    created: int
    updated: int
    unchanged: int
    sites_created: tuple[str, ...] = ()
    events: int = 0
    removed: int = 0


def python_values(series: pd.Series, kind: str, sqlite: bool) -> list[Any]:
    """Plain Python values for the DBAPI (numpy scalars and NaN are not bindable)."""
    if kind == "int" and not series.hasnans:
        return series.to_numpy(dtype="int64").tolist()  # Python ints, fast
    values = series.astype(object).where(series.notna(), None).tolist()
    if kind == "int":
        return [None if v is None else int(v) for v in values]
    if kind == "bool":
        if sqlite:  # SQLAlchemy stores booleans as 0/1 in SQLite
            return [None if v is None else int(bool(v)) for v in values]
        return [None if v is None else bool(v) for v in values]
    if kind == "date":
        if sqlite:  # ... and dates as ISO text
            return [None if v is None else _as_date(v).isoformat() for v in values]
        return [None if v is None else _as_date(v) for v in values]
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values
    return [None if v is None else str(v) for v in values]


def _as_date(value: Any) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def load_rows(conn: sa.Connection, table: str, columns: Sequence[str],
              rows: Iterable[tuple[Any, ...]]) -> None:
    """Append rows to a (staging) table through the driver's fastest path."""
    raw = conn.connection.driver_connection
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # type: ignore[union-attr]
        return
    with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
            f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def trail_text(expr: str, kind: str) -> str:
    """SQL giving the audit-trail text of a value (bools as yes/no, dates ISO)."""
    if kind == "bool":
        return f"CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} THEN 'yes' ELSE 'no' END"
    if kind == "date" or kind == "int":
        return f"CAST({expr} AS VARCHAR(40))"
    return expr


def run_sql(conn: sa.Connection, statement: str, **params: Any) -> sa.CursorResult[Any]:
    text = sa.text(statement)
    if "at" in params:
        text = text.bindparams(sa.bindparam("at", type_=UTCDateTime()))
    return conn.execute(text, params)


def kind_of(column: str) -> str:
    if column in PROFILE:
        return PROFILE[column].kind
    return "int" if column == "site_id" else "code"


def _sa_type(kind: str) -> sa.types.TypeEngine[Any]:
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "bool": sa.Boolean(), "date": sa.Date(), "int": sa.Integer()}
    return types.get(kind, sa.String())


def temp_table(conn: sa.Connection, name: str, columns: dict[str, str]) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    table = sa.Table(name, sa.MetaData(), *(sa.Column(c, _sa_type(k)) for c, k in columns.items()),
                     prefixes=["TEMPORARY"])
    table.create(conn)
