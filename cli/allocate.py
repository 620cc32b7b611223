"""`allocate`: give cases to an inspector, with a due date, or clear their allocation."""

from __future__ import annotations

import json

import typer

from cli.output import force_json_option, write_json
from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add `allocate` to the CLI."""
    app.command("allocate")(allocate)


def allocate(
    ctx: typer.Context,
    case_refs: list[str] = typer.Argument(..., help="Case references (one or more)."),
    to: str | None = typer.Option(None, "--to",
                                  help="The inspector (or lead) who rates them: full name "
                                       "or initials."),
    due: str | None = typer.Option(None, "--due",
                                   help="Due date, YYYY-MM-DD (default: each case keeps its "
                                        "own)."),
    clear: bool = typer.Option(False, "--clear",
                               help="Allocate the cases to no one (clears their due dates)."),
    inspection: str | None = typer.Option(None, "--inspection", "-i",
                                          help="The inspection (default: the only one)."),
    json_out: str | None = typer.Option(None, "--json",
                                        help="Write the result as JSON to FILE ('-' for "
                                             "stdout) instead of the sentence."),
    force: bool = force_json_option(),
) -> None:
    """Allocate cases to an inspector with a due date (leads only), in one transaction.

    Only the person a case is allocated to changes its primary rating; an unallocated
    case is rated by anyone who rates. Every change is in the case's history.
    """
    from audit.allocation import allocate as allocate_cases
    from audit.allocation import parse_due, unallocate
    from audit.errors import UsageError
    from audit.formatting import format_count

    if clear and (to is not None or due is not None):
        raise UsageError("--clear allocates the cases to no one: give it without --to and "
                         "--due")
    if not clear and to is None:
        raise UsageError("give --to NAME (who rates the cases), or --clear")
    state: CliState = ctx.obj
    db, actor = state.database(), state.actor()
    if clear:
        result = unallocate(db, case_refs, actor=actor, inspection=inspection)
    else:
        assert to is not None
        result = allocate_cases(db, case_refs, to=to, actor=actor, inspection=inspection,
                                due=parse_due(due) if due is not None else None)
    if json_out is not None:
        doc = {"inspection": result.inspection, "allocated_to": result.to,
               "due_date": result.due.isoformat() if result.due else None,
               "cases": list(result.refs), "changed": result.changed}
        write_json(json_out, json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                   force=force)
        if json_out == "-":
            return
    cases = f"{format_count(result.cases)} case{'s' if result.cases != 1 else ''}"
    if result.to is None:
        done = f"{cases} of {result.inspection} allocated to no one"
    else:
        due_text = f", due {result.due.isoformat()}" if result.due else ""
        done = f"{cases} of {result.inspection} allocated to {result.to}{due_text}"
    typer.echo(f"{done} ({format_count(result.changed)} changed).")
