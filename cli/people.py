"""`inspectors list | add | set-role`: people and their roles."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.state import CliState

ROLE_HELP = "inspector, lead or researcher (`iom-audit inspectors list` says what each may do)"


def register(app: typer.Typer) -> None:
    """Add the `inspectors` command group to the CLI."""
    inspectors = typer.Typer(help="Who may do what: list people and their roles, add "
                                  "people, change roles (leads only).", no_args_is_help=True)
    inspectors.command("list")(inspectors_list)
    inspectors.command("add")(inspectors_add)
    inspectors.command("set-role")(inspectors_set_role)
    app.add_typer(inspectors, name="inspectors")


def inspectors_list(ctx: typer.Context) -> None:
    """Everyone registered in this database, with their role."""
    from audit.people import list_inspectors
    from audit.permissions import may_do
    from audit.store.models import ROLES

    state: CliState = ctx.obj
    db = state.database("read")  # a read command: it never creates or migrates
    table = Table(title=f"People in {db.location.display()}", title_justify="left")
    for column in ("Name", "Initials", "Role"):
        table.add_column(column)
    for name, initials, role in list_inspectors(db):
        table.add_row(Text(name), Text(initials or ""), ROLES.get(role, role))
    console = Console(markup=False)  # names are printed as typed
    console.print(table)
    roles = Table(title="What each role may do", title_justify="left", show_lines=True)
    roles.add_column("Role")
    roles.add_column("May", overflow="fold")
    for role, label in ROLES.items():
        roles.add_row(label, "; ".join(may_do(role)))
    console.print(roles)
    typer.echo(f"You are {state.actor().name}. Anyone not listed is an inspector.")


def inspectors_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Full name (or the database login on PostgreSQL)."),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    initials: str | None = typer.Option(None, "--initials", help="Initials."),
) -> None:
    """Register a person with a role (leads only)."""
    from audit.people import add_inspector

    state: CliState = ctx.obj
    add_inspector(state.database(), name, role, actor=state.actor(), initials=initials)
    typer.echo(f"Added {name.strip()} as {role}.")


def inspectors_set_role(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The person's name."),
    role: str = typer.Argument(..., help=ROLE_HELP),
) -> None:
    """Change a person's role (leads only; the last lead stays a lead)."""
    from audit.people import set_role

    state: CliState = ctx.obj
    old = set_role(state.database(), name, role, actor=state.actor())
    typer.echo(f"{name}: {old} → {role}.")
