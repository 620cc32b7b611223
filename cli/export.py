"""`export`: coded data for researchers (CSV, XLSX, Parquet, Stata, SPSS) with a codebook."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add the `export` command to the CLI."""
    app.command("export")(export)


def export(
    ctx: typer.Context,
    fmt: str = typer.Option("csv", "--format", "-f",
                            help="csv, xlsx, parquet (a dataset partitioned by inspection), "
                                 "stata (.dta) or spss (.sav)."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the files to."),
    long: bool = typer.Option(False, "--long",
                              help="One row per answer instead of one row per case."),
    pseudonymise: bool = typer.Option(
        False, "--pseudonymise", help="Replace case_ref with a keyed hash; drop notes and "
                                      "dates."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Inspection to export (repeatable; default: "
                                              "all)."),
    rater: str = typer.Option("primary", "--rater",
                              help="Whose answers fill the wide layout: primary, qa, "
                                   "moderated, or final (the moderated answer where a case "
                                   "was reconciled, otherwise the primary one)."),
    force: bool = typer.Option(False, "--force",
                               help="Replace files of the same names in OUT (never a "
                                    "symbolic link)."),
) -> None:
    """Export the coded data and codebook.csv, recorded in the audit trail before they appear.

    Missing answers say why: na (not applicable), notasked (the rule did not apply) or
    noanswer (Stata .a/.b/.c, SPSS -1/-2/-3): see docs/import-export.md.
    """
    from audit.exports.exporters import export as run_export
    from cli.progress import StderrProgress

    state: CliState = ctx.obj
    database = state.database()
    progress = StderrProgress()
    try:
        result = run_export(database, out, actor=state.actor(), fmt=fmt.lower(), long=long,
                            pseudonymise_refs=pseudonymise, inspections=inspection or None,
                            rater=rater, progress=progress, force=force)
    finally:
        progress.close()
    if result.pseudonymised_by_role:
        typer.echo("Pseudonymised: only a lead may export case references and notes.",
                   err=True)
    for path in result.files:
        typer.echo(f"Wrote {path}")
    typer.echo(f"{result.rows:,} rows from {', '.join(result.inspections)}"
               f"{' (pseudonymised)' if result.pseudonymised else ''}; "
               "the export is recorded in the audit trail.")
