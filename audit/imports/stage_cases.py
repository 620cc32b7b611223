"""Cases of one inspection staged chunk by chunk, then merged in a few statements."""


from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from audit.imports.staging import (
    CASE_TABLE,
    BulkResult,
    kind_of,
    load_rows,
    python_values,
    run_sql,
    temp_table,
    trail_text,
)
from audit.store import chain_bulk
from audit.store.models import utcnow
from question_sets.profile import CASE_STATUS, PROFILE

CASE_COLUMNS: tuple[str, ...] = ("site", "status", *PROFILE)
"""Columns `upsert_cases` understands besides `case_ref`."""


class CaseStaging:
    """Cases of one inspection staged chunk by chunk, then merged once."""

    TABLE = "iom_stage_case"

    def __init__(self, conn: sa.Connection, inspection_id: int, columns: Iterable[str], *,
                 who: str) -> None:
        self.conn = conn
        self.inspection_id = inspection_id
        self.who = who
        self.fields = [c for c in CASE_COLUMNS if c in set(columns)]
        unknown = set(columns) - set(CASE_COLUMNS) - {"case_ref"}
        if unknown:
            raise ValueError(f"unknown case columns: {', '.join(sorted(unknown))}")
        self.staged = 0
        spec = {"case_ref": "code", "case_id": "int", "is_new": "int", "site_id": "int"}
        spec.update({c: kind_of(c) for c in self.fields})
        temp_table(conn, self.TABLE, spec)

    def add(self, rows: pd.DataFrame) -> None:
        """Stage a chunk (columns: case_ref and the fields given at construction)."""
        if rows.empty:
            return
        sqlite = self.conn.dialect.name == "sqlite"
        names = ["case_ref", *self.fields]
        columns = [python_values(rows[c], kind_of(c), sqlite) for c in names]
        load_rows(self.conn, self.TABLE, names, zip(*columns, strict=True))
        self.staged += len(rows)

    def stored(self) -> pd.DataFrame:
        """Each staged row's case as stored before the merge: case_ref, status (None for a
        new case) and `changes`, whether the row changes any field other than the status."""
        t = self.TABLE

        def differs(f: str) -> str:
            if f == "site":
                return "(SELECT name FROM site WHERE site.id = c.site_id) IS DISTINCT FROM s.site"
            return f"c.{f} IS DISTINCT FROM s.{f}"

        changed = " OR ".join(differs(f) for f in self.fields if f != "status") or "1=0"
        rows = run_sql(self.conn, f"""
            SELECT s.case_ref, c.status, CASE WHEN c.id IS NOT NULL AND ({changed})
                                             THEN 1 ELSE 0 END
            FROM {t} s LEFT JOIN {CASE_TABLE} c
              ON c.inspection_id = :i AND c.case_ref = s.case_ref""",
                       i=self.inspection_id).all()
        return pd.DataFrame([tuple(r) for r in rows],
                            columns=["case_ref", "stored_status", "changes"])

    def merge(self) -> BulkResult:
        """Create missing sites, update changed cases, insert new ones, log every change."""
        t, i, at, who = self.TABLE, self.inspection_id, utcnow(), self.who
        dupes = run_sql(self.conn, f"SELECT case_ref FROM {t} GROUP BY case_ref "
                                "HAVING COUNT(*) > 1").scalars().all()
        if dupes:
            raise ValueError(f"case_ref given more than once: {', '.join(dupes[:10])}")
        sites = self._create_sites() if "site" in self.fields else ()
        run_sql(self.conn, f'UPDATE {t} SET case_id = (SELECT c.id FROM "case" c WHERE '
                        f"c.inspection_id = :i AND c.case_ref = {t}.case_ref)", i=i)
        run_sql(self.conn, f"UPDATE {t} SET is_new = CASE WHEN case_id IS NULL THEN 1 ELSE 0 END")
        written = [("site_id" if f == "site" else f) for f in self.fields]

        def new(f: str, case: str) -> str:
            # An empty status cell keeps the case's status (status is never unknown).
            return f"COALESCE(s.status, {case}.status)" if f == "status" else f"s.{f}"

        def changed(case: str) -> str:
            return " OR ".join(f"{case}.{f} IS DISTINCT FROM {new(f, case)}"
                               for f in written) or "1=0"

        updated = run_sql(self.conn, f"SELECT COUNT(*) FROM {t} s JOIN {CASE_TABLE} c "
                                     f"ON c.id = s.case_id WHERE {changed('c')}").scalar_one()
        events = 0
        with chain_bulk.bulk(self.conn, i) as trail:
            for f in self.fields:  # events first: they read the values before the update
                col = "site_id" if f == "site" else f
                old = "(SELECT name FROM site WHERE site.id = c.site_id)" if f == "site" \
                    else trail_text(f"c.{f}", kind_of(f))
                events += trail.write(f"""
                    SELECT :at, :who, 'case', c.id, c.case_ref, '{f}', {old},
                           {trail_text(new(f, 'c'), kind_of(f))}
                    FROM {t} s JOIN "case" c ON c.id = s.case_id
                    WHERE c.{col} IS DISTINCT FROM {new(col, 'c')}""", at=at, who=who)
        if updated:
            sets = ", ".join(f"{f} = {new(f, CASE_TABLE)}" for f in written)
            run_sql(self.conn, f'UPDATE "case" SET {sets}, version = "case".version + 1, '
                            f'updated_at = :at FROM {t} s WHERE "case".id = s.case_id '
                            f"AND ({changed(CASE_TABLE)})", at=at)
        cols = ", ".join(written)
        values = ", ".join("COALESCE(s.status, 'not_started')" if f == "status" else f"s.{f}"
                           for f in written)
        status = "" if "status" in self.fields else ", status"
        default_status = "" if "status" in self.fields else ", 'not_started'"
        created = run_sql(self.conn, f"""
            INSERT INTO "case" (inspection_id, case_ref, version, updated_at{status}
                                {', ' + cols if cols else ''})
            SELECT :i, s.case_ref, 1, :at{default_status}{', ' + values if values else ''}
            FROM {t} s WHERE s.is_new = 1""", i=i, at=at).rowcount
        if created:
            run_sql(self.conn, f'UPDATE {t} SET case_id = (SELECT c.id FROM "case" c WHERE '
                            f"c.inspection_id = :i AND c.case_ref = {t}.case_ref) "
                            "WHERE is_new = 1", i=i)
            with chain_bulk.bulk(self.conn, i) as trail:
                events += self._creation_events(at, trail)
        run_sql(self.conn, f"DROP TABLE {t}")
        return BulkResult(created, updated, self.staged - created - updated, sites, events)

    def _create_sites(self) -> tuple[str, ...]:
        t, i = self.TABLE, self.inspection_id
        missing = run_sql(self.conn, f"""
            SELECT DISTINCT s.site FROM {t} s WHERE s.site IS NOT NULL AND NOT EXISTS
              (SELECT 1 FROM site WHERE site.inspection_id = :i AND site.name = s.site)
            ORDER BY s.site""", i=i).scalars().all()
        if missing:
            self.conn.execute(sa.text("INSERT INTO site (inspection_id, name) VALUES (:i, :n)"),
                              [{"i": i, "n": n} for n in missing])
        run_sql(self.conn, f"UPDATE {t} SET site_id = (SELECT id FROM site WHERE "
                        f"site.inspection_id = :i AND site.name = {t}.site)", i=i)
        return tuple(missing)

    def _creation_events(self, at: Any, trail: chain_bulk.BulkEvents) -> int:
        t, who = self.TABLE, self.who
        shown = [("case_ref", "code"), *((f, kind_of(f)) for f in self.fields)]
        if "status" not in self.fields:
            shown.append(("status", "code"))
        events = 0
        for f, kind in shown:
            value = "c.status" if f == "status" else trail_text(f"s.{f}", kind)
            events += trail.write(f"""
                SELECT :at, :who, 'case', c.id, c.case_ref, '{f}', NULL, {value}
                FROM {t} s JOIN "case" c ON c.id = s.case_id
                WHERE s.is_new = 1 AND {value} IS NOT NULL""", at=at, who=who)
        return events


def upsert_cases(conn: sa.Connection, inspection_id: int, rows: pd.DataFrame, *,
                 who: str) -> BulkResult:
    """Insert or update the cases in `rows` (parsed values; see CaseStaging)."""
    if "case_ref" not in rows.columns:
        raise ValueError("rows need a case_ref column")
    if "status" in rows.columns:
        bad = set(rows["status"].dropna()) - set(CASE_STATUS)
        if bad:
            raise ValueError(f"unknown status: {', '.join(map(str, bad))}")
    stage = CaseStaging(conn, inspection_id, [c for c in rows.columns if c != "case_ref"],
                        who=who)
    stage.add(rows)
    return stage.merge()
