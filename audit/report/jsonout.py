"""The report as JSON: raw, unsuppressed values for analysts and other tools.

``tables --json`` writes this. Unlike the published outputs it keeps small counts,
because it feeds further analysis rather than publication.
"""

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from audit.report.model import Report, ReportTable


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


def report_to_json(report: Report) -> dict[str, Any]:
    """The whole report as a JSON-ready dict: ``{"meta": {...}, "tables": [...]}``."""
    meta = report.meta
    return {
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
        "tables": [table_to_json(t) for t in report.tables],
    }


def write_json(report: Report, target: Path | str | TextIO) -> None:
    """Write ``report_to_json`` to a path or an open text stream (e.g. stdout)."""
    # allow_nan=False: a stray NaN must fail here, not produce invalid JSON downstream
    text = json.dumps(report_to_json(report), indent=2, ensure_ascii=False, allow_nan=False)
    if isinstance(target, str | Path):
        Path(target).write_text(text + "\n", encoding="utf-8")
    else:
        target.write(text + "\n")
