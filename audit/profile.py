"""Case profile values as people and files give them, turned into the stored codes.

One parser for the app's profile form and for case files: a code or its label (any
case) for coded fields, yes/no (true/false, 1/0, y/n) for booleans, ISO dates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from audit.errors import UsageError
from question_sets.profile import BOOL_LABELS, CASE_STATUS, PROFILE


def parse_profile_value(code: str, value: Any) -> Any:
    """Check and convert one profile value (code, bool or date); UsageError if invalid."""
    spec = PROFILE.get(code)
    if spec is None:
        raise UsageError(f"unknown profile field {code!r}")
    if value is None or value == "":
        return None
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"yes", "true", "1", "y"}:
            return True
        if text in {"no", "false", "0", "n"}:
            return False
        raise UsageError(f"{code}: {value!r} is not yes or no")
    if spec.kind == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise UsageError(f"{code}: {value!r} is not a date (YYYY-MM-DD)") from exc
    if spec.kind == "code":
        text = str(value).strip()
        if text in spec.codes:
            return text
        by_label = {label.lower(): c for c, label in spec.codes.items()}
        if text.lower() in by_label:
            return by_label[text.lower()]
        raise UsageError(f"{code}: {value!r} is not one of {', '.join(spec.codes)}")
    return value


def value_label(code: str, value: Any) -> str:
    """A stored profile value in words, as the app shows it: its label ("Medium"), Yes or
    No, an ISO date, "Unknown" when not recorded (a value outside the codes: as stored)."""
    spec = PROFILE[code]
    if value is None or value == "":
        return spec.label_of(None)
    if isinstance(value, bool):
        return BOOL_LABELS["yes" if value else "no"]
    if isinstance(value, date):
        return value.isoformat()
    return spec.label_of(str(value))


def parse_status(value: str) -> str | None:
    """A case status given as its code or its label (any case); None when blank."""
    text = value.strip()
    if not text:
        return None
    for code, label in CASE_STATUS.items():
        if text.lower() in (code, label.lower()):
            return code
    raise UsageError(f"not one of {', '.join(CASE_STATUS)}")


def level_label(by: str, level: str) -> str:
    """How a group level is named to a reader: "IOM", a provider's name, a site as typed."""
    if by == "iom":
        return {"iom": "IOM", "non_iom": "Non-IOM"}.get(level, level)
    spec = PROFILE.get(by)
    return spec.label_of(level) if spec is not None and spec.kind == "code" else level
