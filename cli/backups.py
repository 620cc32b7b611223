"""`backup` and `restore`: consistent copies of a SQLite database."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add `backup` and `restore` to the CLI."""
    app.command("backup")(backup)
    app.command("restore")(restore)


def backup(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="The backup file to write."),
    force: bool = typer.Option(False, "--force", help="Replace OUT if it exists."),
) -> None:
    """Copy the SQLite database to OUT, consistently even while the app is open."""
    from audit.backups import backup as do_backup
    from audit.errors import UsageError
    from audit.store.backup import PG_BACKUP_HINT
    from audit.store.engine import resolve_location

    state: CliState = ctx.obj
    if not resolve_location(state.db).is_sqlite:
        # Before opening: a PostgreSQL URL is not migrated just to be told no.
        raise UsageError(f"`iom-audit backup` copies SQLite files; {PG_BACKUP_HINT}")
    db = state.database()
    done = do_backup(db, out, actor=state.actor(), force=force)
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
    from audit.backups import restore as do_restore
    from audit.identity import current_user
    from audit.permissions import Actor
    from audit.store.engine import resolve_location

    state: CliState = ctx.obj
    # The database being replaced is not opened (nor migrated) to learn who is acting: the
    # restore reads the person's role in it, and SQLite files have no logins.
    done = do_restore(state.db, source, actor=Actor(current_user()), force=force)
    location = resolve_location(state.db)
    typer.echo(f"Restored {done.check.path} into {location.display()} ({done.check.cases:,} "
               f"case(s), revision {done.check.revision}).")
    if done.replaced_copy:
        typer.echo(f"The database it replaced is kept at {done.replaced_copy}.")
