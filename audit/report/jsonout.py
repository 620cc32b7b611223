"""The report as JSON: raw, unsuppressed values for analysts and other tools.

``tables --json`` writes this. Unlike the published outputs it keeps small counts,
because it feeds further analysis rather than publication. ``tables --json
--suppress-below N`` (or ``--disclosure ons-10-5``) writes the published tables instead:
the same shape, each withheld value null, each row with a ``"suppressed"`` object naming
its withheld cells (``{"n": "primary", "pct": "primary"}``), every table with a
``"disclosure"`` object (counts and the auditor's ranges) and only printed columns kept.
The marks say which stars are small (primary), which the printed tables never do: the
marked JSON is the lead's working file, not one to publish.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from audit.report.model import CellRef, Report, ReportTable

if TYPE_CHECKING:
    from audit.report.suppression import DisclosureSummary, Protected


def _plain(value: Any) -> Any:
    """A JSON-safe copy: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def table_to_json(table: ReportTable) -> dict[str, Any]:
    """One table as a JSON-ready dict with raw row values."""
    ids = {c.id for c in table.columns}
    return {
        "id": table.id,
        "figure": table.figure,
        "caption": table.caption,
        "section": table.section,
        "columns": [
            {"id": c.id, "label": c.label, "kind": c.kind, "group": c.group}
            for c in table.columns
        ],
        # Displayed columns first, then the raw keys a script may want (question id, the
        # regression result, ...): JSON is the machine-readable form, so nothing is dropped.
        "rows": [{**{c.id: _plain(row.get(c.id)) for c in table.columns},
                  **{k: _plain(v) for k, v in row.items() if k not in ids}}
                 for row in table.rows],
        "notes": list(table.notes),
        "base": _plain(table.base),
        "tests": list(table.tests),
        "row_styles": _plain(table.row_styles),
    }


def published_table_to_json(result: Protected) -> dict[str, Any]:
    """One table as published: printed columns only, withheld values null and marked."""
    out = table_to_json(result.table)
    table = result.table
    rows = []
    for index, row in enumerate(table.rows):
        marks = {c.id: result.marks[CellRef(index, c.id)] for c in table.columns
                 if CellRef(index, c.id) in result.marks}
        values = {c.id: None if c.id in marks else _plain(row.get(c.id)) for c in table.columns}
        if "question_id" in row:
            values["question_id"] = _plain(row["question_id"])
        rows.append({**values, "suppressed": marks})
    out["rows"] = rows
    # Ranges of withheld cells only: a range of a never-printed count would state it.
    marked_or_notes = set(result.marks)
    out["disclosure"] = {
        "primary": result.primary, "secondary": result.secondary,
        "notes_reworded": result.notes, "safe": result.audit.safe,
        "problems": list(result.audit.problems),
        "audited": [{"row": r.cell.row, "key": r.cell.key, "status": r.status,
                     "low": _plain(r.low), "high": _plain(r.high),
                     "required": r.required, "protected": r.protected}
                    for r in result.audit.ranges if r.cell in marked_or_notes],
    }
    return out


def report_to_json(report: Report, published: tuple[list[Protected], DisclosureSummary]
                   | None = None) -> dict[str, Any]:
    """The whole report as a JSON-ready dict: ``{"meta": {...}, "tables": [...]}``.

    With ``published`` (from `audit.report.suppression.protected_report`), the tables as
    published instead of raw.
    """
    meta = report.meta
    tables = ([table_to_json(t) for t in report.tables] if published is None
              else [published_table_to_json(p) for p in published[0]])
    doc: dict[str, Any] = {
        "meta": {
            "title": meta.title,
            "subtitle": meta.subtitle,
            "generated_at": meta.generated_at.isoformat(),
            "software_version": meta.software_version,
            "command": meta.command,
            "question_sets": list(meta.question_sets),
            "samples": [{"label": label, "n": _plain(n)} for label, n in meta.samples],
            "methods": list(meta.methods),
            "suppress_below": meta.suppress_below,
        },
        "tables": tables,
    }
    if published is not None:
        summary = published[1]
        doc["meta"]["disclosure"] = {
            "rule": summary.rule.name, "threshold": summary.rule.threshold,
            "round_to": summary.rule.round_to, "tables_audited": summary.audited,
            "primary": summary.primary, "secondary": summary.secondary,
            "notes_reworded": summary.notes, "derivable": list(summary.derivable)}
    return doc


def write_json(report: Report, target: Path | str | TextIO, *,
               suppress_below: int | None = None) -> None:
    """Write ``report_to_json`` to a path or an open text stream (e.g. stdout).

    ``suppress_below`` (with the report's disclosure rule): the tables as published.
    """
    published = None
    if suppress_below is not None:
        from audit.report.suppression import protected_report

        protected, results, summary = protected_report(report, suppress_below)
        report, published = protected, (results, summary)
    # allow_nan=False: a stray NaN must fail here, not produce invalid JSON downstream
    text = json.dumps(report_to_json(report, published), indent=2, ensure_ascii=False,
                      allow_nan=False)
    if isinstance(target, str | Path):
        Path(target).write_text(text + "\n", encoding="utf-8")
    else:
        target.write(text + "\n")
