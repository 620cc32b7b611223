"""`history`, `backup`, `restore`, `purge` and `inspectors`: the trail, copies, retention, roles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from audit.identity import acting_user
from audit.store.engine import open_database, resolve_location
from cli.state import CliState

ROLE_HELP = "inspector (rates cases), lead (QA, lock, reports, purge) or researcher (export)"


def register(app: typer.Typer) -> None:
    """Add the safety commands to the CLI."""
    app.command("history")(history)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("purge")(purge)
    inspectors = typer.Typer(help="Who may do what: list people and their roles, add "
                                  "people, change roles (leads only).", no_args_is_help=True)
    inspectors.command("list")(inspectors_list)
    inspectors.command("add")(inspectors_add)
    inspectors.command("set-role")(inspectors_set_role)
    app.add_typer(inspectors, name="inspectors")


def _change(old: str | None, new: str | None) -> str:
    shown = [v if v is not None else "∅" for v in (old, new)]
    return f"{shown[0]} → {shown[1]}"


def history(
    ctx: typer.Context,
    case_ref: str = typer.Argument(..., help="Case reference."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Only this inspection (repeatable)."),
    json_out: str | None = typer.Option(None, "--json",
                                        help="Write the events as JSON to FILE ('-' for "
                                             "stdout) instead of a table."),
) -> None:
    """Every recorded change of a case: when (UTC), who, what, old → new."""
    from audit.errors import NotFoundError
    from audit.permissions import require
    from audit.trail import case_history

    state: CliState = ctx.obj
    db = state.database()
    require(db, acting_user(db), "inspector", "lead", action="read a case's history")
    with db.session() as session:
        found = case_history(session, case_ref, inspection or None)
    if not found:
        raise NotFoundError(f"no case {case_ref!r}"
                            + (f" in {', '.join(inspection)}" if inspection else ""))
    if json_out is not None:
        doc = [{"inspection": name, "case_ref": case_ref,
                "events": [{"at": e.at.isoformat(), "who": e.who, "entity": e.entity,
                            "key": e.key, "field": e.field, "old": e.old, "new": e.new}
                           for e in events]} for name, events in found.items()]
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        if json_out == "-":
            sys.stdout.write(text)
        else:
            Path(json_out).write_text(text, encoding="utf-8")
        return
    console = Console()
    for name, events in found.items():
        table = Table(title=f"Case {case_ref} in {name}: {len(events)} event(s)",
                      title_justify="left")
        for column in ("When (UTC)", "Who", "What", "Field", "Change"):
            table.add_column(column, overflow="fold")
        for e in events:
            # Text, not markup: a note saying "[/b]" is data, not a formatting command.
            table.add_row(*(Text(v) for v in (e.at.strftime("%Y-%m-%d %H:%M:%S"), e.who,
                                              e.entity, e.field or "", _change(e.old, e.new))))
        console.print(table)


def backup(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="The backup file to write."),
    force: bool = typer.Option(False, "--force", help="Replace OUT if it exists."),
) -> None:
    """Copy the SQLite database to OUT, consistently even while the app is open."""
    from audit.errors import UsageError
    from audit.permissions import require
    from audit.store.backup import PG_BACKUP_HINT
    from audit.store.backup import backup as do_backup

    state: CliState = ctx.obj
    if not resolve_location(state.db).is_sqlite:
        raise UsageError(f"`iom-audit backup` copies SQLite files; {PG_BACKUP_HINT}")
    db = state.database()
    require(db, acting_user(db), "inspector", "lead", action="back up the database")
    done = do_backup(db, out, force=force)
    typer.echo(f"Backed up {db.location.display()} to {done.path} ({done.inspections} "
               f"inspection(s), {done.cases:,} case(s), {done.events:,} audit event(s); "
               f"integrity check ok).")


def restore(
    ctx: typer.Context,
    source: Path = typer.Argument(..., help="The backup file to restore."),
    force: bool = typer.Option(False, "--force",
                               help="Replace a database that holds data (a copy is kept)."),
) -> None:
    """Replace the database with a checked backup (leads only)."""
    from audit import trail
    from audit.errors import UsageError
    from audit.permissions import require
    from audit.store import backup as backups
    from audit.store.models import utcnow

    state: CliState = ctx.obj
    location = resolve_location(state.db)
    if not location.is_sqlite or location.path is None:
        raise UsageError(f"`iom-audit restore` restores SQLite files; {backups.PG_BACKUP_HINT}")
    if backups.holds_data(location.path):
        # Only a lead of the database being replaced may replace it.
        current = open_database(state.db, migrate=False)
        try:
            require(current, acting_user(current), "lead", action="restore over a database")
        finally:
            current.dispose()
    done = backups.restore(location, source, force=force)
    db = state.database()
    with db.write() as conn:
        trail.record_many(conn, [{"at": utcnow(), "who": acting_user(db),
                                  "entity": "restore", "key": str(done.check.path)[:200],
                                  "field": "revision", "old_value": None,
                                  "new_value": done.check.revision}])
    typer.echo(f"Restored {done.check.path} into {location.display()} ({done.check.cases:,} "
               f"case(s), revision {done.check.revision}).")
    if done.replaced_copy:
        typer.echo(f"The database it replaced is kept at {done.replaced_copy}.")


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
    from audit.errors import UsageError
    from audit.permissions import require
    from audit.purge import purge_inspection

    state: CliState = ctx.obj
    db = state.database()
    who = acting_user(db)
    require(db, who, "lead", action="purge an inspection")
    if not yes:
        typer.echo(f"This permanently removes every case, answer and note of inspection "
                   f"{inspection!r} from {db.location.display()}; its aggregate tables and "
                   "the (redacted) audit trail are kept.", err=True)
        typed = typer.prompt("Type the inspection name to confirm", default="",
                             show_default=False, err=True)
        if typed != inspection:
            raise UsageError("not confirmed: nothing was purged")
    result = purge_inspection(db, inspection, who=who)
    r = result.removed
    typer.echo(f"Purged inspection {inspection!r}: {r['cases']:,} case(s), {r['answers']:,} "
               f"answer(s), {r['notes']:,} note(s), {r['drafts']:,} draft(s) and "
               f"{r['sites']:,} site(s) removed; {r['events_redacted']:,} audit event(s) "
               f"redacted; {len(result.snapshot.get('tables', [])):,} aggregate table(s) "
               "kept in the audit trail (entity 'purge').")
    if snapshot is not None:
        snapshot.write_text(json.dumps(result.snapshot, indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")
        typer.echo(f"Aggregate tables written to {snapshot}.")
    for warning in result.warnings:
        typer.echo(f"Warning: {warning}", err=True)


def inspectors_list(ctx: typer.Context) -> None:
    """Everyone registered in this database, with their role."""
    from audit.permissions import list_inspectors
    from audit.store.models import ROLES

    state: CliState = ctx.obj
    db = state.database()
    table = Table(title=f"People in {db.location.display()}", title_justify="left")
    for column in ("Name", "Initials", "Role"):
        table.add_column(column)
    for name, initials, role in list_inspectors(db):
        table.add_row(Text(name), Text(initials or ""), ROLES.get(role, role))
    Console().print(table)
    typer.echo(f"You are {acting_user(db)}. Anyone not listed is an inspector.")


def inspectors_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Full name (or the database login on PostgreSQL)."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    initials: str | None = typer.Option(None, "--initials", help="Initials."),
) -> None:
    """Register a person with a role (leads only)."""
    from audit.permissions import add_inspector

    state: CliState = ctx.obj
    db = state.database()
    add_inspector(db, name, role, by=acting_user(db), initials=initials)
    typer.echo(f"Added {name.strip()} as {role}.")


def inspectors_set_role(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The person's name."),
    role: str = typer.Argument(..., help=ROLE_HELP),
) -> None:
    """Change a person's role (leads only; the last lead stays a lead)."""
    from audit.permissions import set_role

    state: CliState = ctx.obj
    db = state.database()
    old = set_role(db, name, role, by=acting_user(db))
    typer.echo(f"{name}: {old} → {role}.")
