"""`history`: the audit trail of a case."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.output import force_json_option, write_json
from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add `history` to the CLI."""
    app.command("history")(history)


def _change(old: str | None, new: str | None) -> str:
    from audit.text_rules import preview

    # A long note is shown by its start (the JSON has it whole): a table never lays out
    # megabytes of text.
    shown = [preview(v, 500) if v is not None else "∅" for v in (old, new)]
    return f"{shown[0]} → {shown[1]}"


def history(
    ctx: typer.Context,
    case_ref: str = typer.Argument(..., help="Case reference."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Only this inspection (repeatable)."),
    json_out: str | None = typer.Option(None, "--json",
                                        help="Write the events as JSON to FILE ('-' for "
                                             "stdout) instead of a table."),
    force: bool = force_json_option(),
) -> None:
    """Every recorded change of a case: when (UTC), who, what, old → new."""
    from audit.errors import NotFoundError
    from audit.trail import case_history

    state: CliState = ctx.obj
    found = case_history(state.database(), case_ref, inspection or None, actor=state.actor())
    if not found:
        raise NotFoundError(f"no case {case_ref!r}"
                            + (f" in {', '.join(inspection)}" if inspection else ""))
    if json_out is not None:
        doc = [{"inspection": name, "case_ref": case_ref,
                "events": [{"at": e.at.isoformat(), "who": e.who, "entity": e.entity,
                            "key": e.key, "field": e.field, "old": e.old, "new": e.new}
                           for e in events]} for name, events in found.items()]
        write_json(json_out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                   force=force)
        return
    console = Console(markup=False)  # names, refs and sites are printed as typed
    for name, events in found.items():
        table = Table(title=f"Case {case_ref} in {name}: {len(events)} event(s)",
                      title_justify="left")
        for column in ("When (UTC)", "Who", "What", "Field", "Change"):
            table.add_column(column, overflow="fold")
        for e in events:
            # Text, not markup: a note saying "[/b]" is data, not a formatting command.
            table.add_row(*(Text(v) for v in (e.at.strftime("%Y-%m-%d %H:%M:%S"), e.who,
                                              e.what, e.field or "", _change(e.old, e.new))))
        console.print(table)
