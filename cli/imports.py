"""`import cases` and `import ratings`: bulk-load a CSV or XLSX file, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.progress import StderrProgress
from cli.state import CliState

if TYPE_CHECKING:
    from audit.imports.transaction import ImportSummary


def register(app: typer.Typer) -> None:
    """Add the `import` command group to the CLI."""
    import_app = typer.Typer(help="Import case samples and ratings from CSV or XLSX files "
                                  "(one file, one transaction: any error and nothing is stored).",
                             no_args_is_help=True)
    import_app.command("cases")(cases)
    import_app.command("ratings")(ratings)
    app.add_typer(import_app, name="import")


def _run(work: Any) -> ImportSummary:
    from audit.imports.problems import ImportRejected

    progress = StderrProgress()
    try:
        return work(progress)
    except ImportRejected as exc:
        progress.close()
        for line in exc.lines:
            typer.echo(line, err=True)
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        progress.close()


def _rules_footer(summary: ImportSummary, where: str) -> None:
    verb = "would be" if summary.dry_run else "were"
    if summary.cleared:
        typer.echo(f"{summary.cleared:,} stored answer(s) {verb} hidden: their questions no "
                   f"longer apply to {where} (kept: they come back if they apply again).")
    if summary.restored:
        typer.echo(f"{summary.restored:,} hidden answer(s) {verb} restored: their questions "
                   "apply again.")


def _footer(summary: ImportSummary) -> None:
    if summary.ignored_columns:
        typer.echo(f"Ignored columns: {', '.join(summary.ignored_columns)}.")
    if summary.dry_run:
        typer.echo("Dry run: nothing was stored.")


def cases(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or XLSX file, one row per case; the header "
                                          "names are case field codes (case_ref and iom "
                                          "required)."),
    inspection: str | None = typer.Option(None, "--inspection", "-i",
                                          help="Inspection to import into (default: the "
                                               "only one)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and report what "
                                                          "would change; store nothing."),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown",
                                        help="Skip columns that are not case fields."),
    reopen_reason: str | None = typer.Option(
        None, "--reopen-reason", metavar="TEXT",
        help="Why signed-off cases are reopened or unlocked: needed to move a case back "
             "(a status column), to unlock it (leads), or to change the profile of a "
             "complete, QA-checked or moderated case; recorded in the trail."),
) -> None:
    """Import a case sample: new case_refs are created, known ones updated."""
    from audit.imports.cases import import_cases

    state: CliState = ctx.obj
    database = state.database()
    actor = state.actor()
    summary = _run(lambda progress: import_cases(
        database, file, actor=actor, inspection=inspection, dry_run=dry_run,
        ignore_unknown=ignore_unknown, progress=progress, reopen_reason=reopen_reason))
    r = summary.result
    verb = "would be" if summary.dry_run else "were"
    typer.echo(f"{summary.file}: {summary.rows:,} case rows for inspection "
               f"{summary.inspection!r}: {r.created:,} created, {r.updated:,} updated, "
               f"{r.unchanged:,} unchanged.")
    if r.sites_created:
        typer.echo(f"New sites {verb} created: {', '.join(r.sites_created)}.")
    if summary.allocated:
        typer.echo(f"{summary.allocated:,} case(s) {verb} allocated (or given a due date).")
    _rules_footer(summary, "the changed cases")
    _footer(summary)


def ratings(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or XLSX file in long format: case_ref, "
                                          "question_id, answer [, note, inspector, rater]."),
    inspection: str | None = typer.Option(None, "--inspection", "-i",
                                          help="Inspection to import into (default: the "
                                               "only one)."),
    rater: str = typer.Option("primary", "--rater",
                              help="primary, qa or moderated (a rater column overrides it "
                                   "per row)."),
    inspector: str | None = typer.Option(None, "--inspector",
                                         help="Whose judgement every answer records "
                                              "(default: the inspector column, else your "
                                              "own); only a lead may name someone else. "
                                              "The trail records you as the importer."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the file and report what "
                                                          "would change; store nothing."),
    ignore_unknown: bool = typer.Option(False, "--ignore-unknown",
                                        help="Skip columns the import does not use."),
    reopen_reason: str | None = typer.Option(
        None, "--reopen-reason", metavar="TEXT",
        help="Why complete, QA-checked or moderated cases whose answers or notes the file "
             "changes are reopened (without it such rows are refused); recorded in the "
             "trail. Locked cases are never changed by a ratings file."),
) -> None:
    """Import answers, one row per answer; every answer is checked against its question."""
    from audit.imports.ratings import import_ratings

    state: CliState = ctx.obj
    database = state.database()
    actor = state.actor()
    summary = _run(lambda progress: import_ratings(
        database, file, actor=actor, inspection=inspection, rater=rater, inspector=inspector,
        dry_run=dry_run, ignore_unknown=ignore_unknown, progress=progress,
        reopen_reason=reopen_reason))
    r = summary.result
    typer.echo(f"{summary.file}: {summary.rows:,} answer rows for inspection "
               f"{summary.inspection!r}: {r.created:,} created, {r.updated:,} updated, "
               f"{r.unchanged:,} unchanged.")
    _rules_footer(summary, "the cases after this import")
    _footer(summary)
