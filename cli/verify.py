"""`verify`: recompute the audit trail's hash chain and name the first broken event."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from cli.output import force_json_option, write_json
from cli.state import CliState

if TYPE_CHECKING:
    from audit.store.chain_check import ChainReport


def register(app: typer.Typer) -> None:
    """Add `verify` to the CLI."""
    app.command("verify")(verify)


def verify(
    ctx: typer.Context,
    json_out: str | None = typer.Option(None, "--json",
                                        help="Also write the result as JSON to FILE ('-' for "
                                             "stdout, instead of the text)."),
    force: bool = force_json_option(),
) -> None:
    """Check the audit trail: every event's hash, the chain and its triggers.

    Exits 0 and prints the number of events and the chain's head (record it: a trail
    rebuilt from scratch would have another head); exits 1 naming the first broken event.
    """
    from audit.trail import verify_trail

    state: CliState = ctx.obj
    report = verify_trail(state.database(), actor=state.actor())
    if json_out is not None:
        write_json(json_out, json.dumps(_as_json(report), indent=2, ensure_ascii=False) + "\n",
                   force=force)
    if json_out != "-":
        if report.ok:
            typer.echo(f"Audit trail verified: {report.events:,} event(s) chained, none "
                       "changed, triggers in place.")
        typer.echo(f"Chain head: seq {report.head_seq}, hash {report.head_hash}")
        if report.redacted:
            typer.echo(f"{report.redacted:,} event(s) have values redacted by a purge "
                       "(their digests still verify).")
    if report.unsealed:
        typer.echo(f"Note: {report.unsealed:,} event(s) are not sealed yet (written outside "
                   "iom-audit's own transactions); the next change seals them.", err=True)
    if not report.ok:
        first = report.broken[0].describe() if report.broken else None
        if first:
            typer.echo(f"Error: the audit trail is broken at {first}", err=True)
            if report.broken_count > 1:
                typer.echo(f"{report.broken_count - 1:,} more event(s) are broken "
                           "(--json lists them).", err=True)
        for missing in report.missing_guards:
            typer.echo(f"Error: the audit trail is unprotected: {missing} is missing",
                       err=True)
        raise typer.Exit(1)


def _as_json(report: ChainReport) -> dict[str, Any]:
    return {"ok": report.ok, "events": report.events,
            "head": {"seq": report.head_seq, "hash": report.head_hash},
            "unsealed": report.unsealed, "redacted": report.redacted,
            "broken_count": report.broken_count,
            "broken": [{"id": b.id, "seq": b.seq, "at": b.at, "who": b.who, "entity": b.entity,
                        "key": b.key, "field": b.field, "reason": b.reason}
                       for b in report.broken],
            "missing_protection": list(report.missing_guards)}
