"""`purge`: remove an inspection's case-level data once its report is final."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add `purge` to the CLI."""
    app.command("purge")(purge)


def purge(
    ctx: typer.Context,
    inspection: str = typer.Option(..., "--inspection", "-i",
                                   help="The inspection whose case-level data goes."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    snapshot: Path | None = typer.Option(None, "--snapshot",
                                         help="Also write the kept aggregate tables (JSON) "
                                              "to this file."),
) -> None:
    """Remove an inspection's cases, answers and notes, keeping its aggregate tables (leads)."""
    from audit.disclosure import existing, write_text
    from audit.errors import UsageError
    from audit.permissions import require
    from audit.purge import purge_inspection

    state: CliState = ctx.obj
    db = state.database()
    actor = state.actor()
    with db.engine.connect() as conn:
        require(conn, actor, "purge")  # before asking: the purge itself checks again
    if snapshot is not None and existing([snapshot]):
        # Checked before anything is removed: a purge cannot be run twice.
        raise UsageError(f"{snapshot} exists (or is a link): choose another name for "
                         "--snapshot; nothing was purged")
    if not yes:
        typer.echo(f"This permanently removes every case, answer and note of inspection "
                   f"{inspection!r} from {db.location.display()}; its aggregate tables and "
                   "the (redacted) audit trail are kept.", err=True)
        typed = typer.prompt("Type the inspection name to confirm", default="",
                             show_default=False, err=True)
        if typed != inspection:
            raise UsageError("not confirmed: nothing was purged")
    result = purge_inspection(db, inspection, actor=actor)
    r = result.removed
    typer.echo(f"Purged inspection {inspection!r}: {r['cases']:,} case(s), {r['answers']:,} "
               f"answer(s), {r['notes']:,} note(s), {r['drafts']:,} draft(s) and "
               f"{r['sites']:,} site(s) removed; {r['events_redacted']:,} audit event(s) "
               f"redacted; {len(result.snapshot.get('tables', [])):,} aggregate table(s) "
               "kept in the audit trail (entity 'purge').")
    if snapshot is not None:
        write_text(snapshot, json.dumps(result.snapshot, indent=2, ensure_ascii=False) + "\n")
        typer.echo(f"Aggregate tables written to {snapshot}.")
    for warning in result.warnings:
        typer.echo(f"Warning: {warning}", err=True)
