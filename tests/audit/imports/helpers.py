"""Shared set-up for the import and export tests: files, a database dump, the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from audit.inspections import create_inspection
from audit.store.engine import Database
from cli.app import run

CASES = [
    ["case_ref", "iom", "site", "provider", "case_type", "rosh", "domestic_abuse",
     "start_date"],
    ["A1", "yes", "North", "nps", "community", "high", "yes", "2020-01-02"],
    ["A2", "no", "South", "crc", "post_release", "low", "no", ""],
    ["A3", "Yes", "North", "CRC", "Community sentence", "Very high", "", "2019-12-31"],
]
RATINGS = [
    ["case_ref", "question_id", "answer", "note", "inspector"],
    ["A1", "2.1.1", "yes", "", "Jo Smith"],
    ["A1", "factor.drugs.linked", "yes", "", ""],
    ["A1", "factor.drugs.delivered", "no", "=HYPERLINK(\"x\")", "Jo Smith"],
    ["A1", "safe.da_enquiries", "yes", "", "Jo Smith"],
    ["A2", "2.2.3", "na", "", "Ann Lee"],
    ["A2", "iom.partners", "police;nps", "", "Ann Lee"],
    ["A2", "iom.recalled", "no", "", "Ann Lee"],
    ["A3", "2.1.3", "", "note only, no answer", "Ann Lee"],
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows(rows)
    return path


def url(db: Database) -> str:
    """What --db takes for this database."""
    loc = db.location
    return str(loc.path) if loc.path is not None else loc.url


def cli(db: Database, *args: str) -> int:
    return run(["--db", url(db), *args])


def new_inspection(db: Database, name: str = "thematic",
                   question_set: str = "iom-thematic-2019") -> None:
    with db.write_session() as session:
        create_inspection(session, name, question_set=question_set)


def populated(db: Database, tmp: Path, name: str = "thematic") -> None:
    """An inspection with the sample cases and ratings above (imported by the CLI)."""
    new_inspection(db, name)
    assert cli(db, "import", "cases", str(write_csv(tmp / "cases.csv", CASES)),
               "--inspection", name) == 0
    assert cli(db, "import", "ratings", str(write_csv(tmp / "ratings.csv", RATINGS)),
               "--inspection", name) == 0


def dump(db: Database) -> dict[str, list[tuple]]:
    """Every row of every table that an import may change, in a stable order."""
    out: dict[str, list[tuple]] = {}
    with db.engine.connect() as conn:
        for table, key in (("inspection", "id"), ("site", "id"), ("inspector", "id"),
                           ("case", "id"), ("answer", "id"), ("hidden_answer", "id"),
                           ("last_change", "case_id"), ("audit_event", "id")):
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY {key}')).all()
            out[table] = [tuple(r) for r in rows]
    return out


def content(db: Database, inspection: str) -> dict[str, list[tuple]]:
    """The data of one inspection without ids or times: what a round trip must keep."""
    with db.engine.connect() as conn:
        cases = conn.execute(sa.text(
            'SELECT c.case_ref, s.name, c.status, c.iom, c.provider, c.case_type, c.rosh, '
            "c.likelihood, c.mappa_level, c.domestic_abuse, c.child_safeguarding, "
            "c.index_offence, c.prev_convictions, c.age_band, c.gender, c.ethnicity, "
            'c.start_date, c.ro_interviewed FROM "case" c JOIN inspection i ON '
            "i.id = c.inspection_id LEFT JOIN site s ON s.id = c.site_id WHERE i.name = :n "
            "ORDER BY c.case_ref"), {"n": inspection}).all()
        answers = conn.execute(sa.text(
            'SELECT c.case_ref, a.question_id, a.rater, a.value, a.note, p.name FROM answer a '
            'JOIN "case" c ON c.id = a.case_id JOIN inspection i ON i.id = c.inspection_id '
            "LEFT JOIN inspector p ON p.id = a.inspector_id WHERE i.name = :n "
            "ORDER BY c.case_ref, a.question_id, a.rater"), {"n": inspection}).all()
    def plain(row: tuple) -> tuple:  # SQLite gives 1 and '2020-01-02', PostgreSQL True and a date
        return tuple(int(v) if isinstance(v, bool) else
                     v.isoformat() if hasattr(v, "isoformat") else v for v in row)

    return {"cases": [plain(tuple(r)) for r in cases],
            "answers": [plain(tuple(r)) for r in answers]}
