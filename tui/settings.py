"""Settings remembered between runs: who rated last, in which role, on which inspection.

They live in a small JSON file in the user's config directory (platformdirs), never in
the database: they describe this laptop's user, not the inspection. The environment
variable ``IOM_AUDIT_INSPECTOR`` overrides the remembered name for scripted use, and
``IOM_AUDIT_SETTINGS`` names another settings file (tests, shared machines).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from audit.identity import ENV_INSPECTOR

ENV_SETTINGS = "IOM_AUDIT_SETTINGS"


@dataclass(frozen=True)
class Settings:
    """What the app remembers; every field may be unknown on a first run."""

    inspector: str | None = None
    role: str | None = None
    inspection: str | None = None
    theme: str | None = None
    # After an answer, move to the next applicable unanswered question (one key per
    # answer); off, the cursor stays on the question answered.
    auto_advance: bool = True

    def with_(self, **changes: str | bool | None) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]  # each field's own type


def settings_path() -> Path:
    """The settings file: ``IOM_AUDIT_SETTINGS``, else ``settings.json`` in the config dir."""
    explicit = os.environ.get(ENV_SETTINGS)
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("iom-audit", appauthor=False)) / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """The remembered settings; a missing or unreadable file means none (never an error)."""
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(data, dict):
        return Settings()
    defaults = Settings()
    # A value of the wrong type (hand-edited file) keeps the default.
    known = {k: v for k, v in data.items() if k in Settings.__dataclass_fields__
             and (isinstance(v, bool) if isinstance(getattr(defaults, k), bool)
                  else v is None or isinstance(v, str))}
    return Settings(**known)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically (a crash mid-write leaves the old file)."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def scripted_inspector() -> str | None:
    """The name set by ``IOM_AUDIT_INSPECTOR`` (skips the app's who-is-rating question)."""
    return os.environ.get(ENV_INSPECTOR) or None
