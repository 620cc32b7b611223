"""Where a command's `--json` goes: standard output for '-', else a file placed as
disclosures are (`audit.disclosure.write_text`: staged, links refused, `--force`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer


def force_json_option() -> Any:
    """The `--force` that lets `--json FILE` replace an existing file."""
    return typer.Option(False, "--force",
                        help="Replace an existing --json FILE (links are never followed).")


def write_json(target: str, text: str, *, force: bool) -> None:
    """Write `text` to standard output ('-') or to the file `target`."""
    if target == "-":
        sys.stdout.write(text)
        return
    from audit.disclosure import write_text

    write_text(Path(target), text, force=force)
