"""`init` and `info`: create an inspection and see what the database holds."""

from __future__ import annotations

from collections import defaultdict

import typer
from rich.console import Console
from rich.table import Table

from audit.defaults import DEFAULT_INSPECTION, DEFAULT_QUESTION_SET
from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add the core commands to the CLI."""
    app.command("init")(init)
    app.command("info")(info)


def init(
    ctx: typer.Context,
    inspection: str = typer.Option(DEFAULT_INSPECTION, "--inspection", "-i",
                                   help="Name of the inspection to create."),
    kind: str = typer.Option("thematic", "--kind", help="thematic or core."),
    question_set: str = typer.Option(DEFAULT_QUESTION_SET, "--question-set",
                                     help="Id of the question set cases are rated on."),
) -> None:
    """Create the database (if needed) and an inspection in it."""
    from audit.inspections import start_inspection

    state: CliState = ctx.obj
    database = state.database()
    created = start_inspection(database, inspection, actor=state.actor(), kind=kind,
                               question_set=question_set)
    typer.echo(f"Created {created.kind} inspection {created.name!r} rated on "
               f"{created.question_set_id} v{created.question_set_version} "
               f"in {database.location.display()}")


def info(ctx: typer.Context) -> None:
    """Counts of cases per inspection, site and status."""
    from audit.inspections import all_inspections, status_counts
    from question_sets.profile import CASE_STATUS

    state: CliState = ctx.obj
    database = state.database()
    console = Console(markup=False)  # names, refs and sites are printed as typed
    with database.session() as session:
        inspections = all_inspections(session)
        counts = status_counts(session)
    console.print(f"Database: {database.location.display()}")
    if not inspections:
        console.print("No inspection yet: run `iom-audit init`.")
        return
    by_site: dict[tuple[str, str | None], dict[str, int]] = defaultdict(dict)
    for c in counts:
        by_site[(c.inspection, c.site)][c.status] = c.cases
    statuses = list(CASE_STATUS)
    for insp in inspections:
        table = Table(title=f"{insp.name} ({insp.kind}; {insp.question_set_id} "
                            f"v{insp.question_set_version})", title_justify="left")
        table.add_column("Site")
        for s in statuses:
            table.add_column(CASE_STATUS[s], justify="right")
        table.add_column("Total", justify="right", style="bold")
        totals = dict.fromkeys(statuses, 0)
        rows = [(site, st) for (name, site), st in by_site.items() if name == insp.name]
        for site, st in sorted(rows, key=lambda r: (r[0] is None, r[0] or "")):
            table.add_row(site or "(no site)", *(f"{st.get(s, 0):,}" for s in statuses),
                          f"{sum(st.values()):,}")
            for s in statuses:
                totals[s] += st.get(s, 0)
        table.add_row("All sites", *(f"{totals[s]:,}" for s in statuses),
                      f"{sum(totals.values()):,}", style="bold")
        console.print(table)
