"""`report` and `tables`: the thematic report as PDF, XLSX, Markdown and JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from audit.errors import UsageError
from cli.progress import table_progress
from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add `report` and `tables` to the CLI."""
    app.command("report")(report)
    app.command("tables")(tables)


def _parse_tables(value: str | None) -> list[str] | None:
    return [t.strip() for t in value.split(",") if t.strip()] if value else None


def _parse_bands(value: str | None) -> tuple[float, ...] | None:
    """Thresholds replacing the question set's (its `ratings:`), highest first; None: the set's.

    Their number and order are checked against the set's bands by `compile_report`.
    """
    if value is None:
        return None
    try:
        return tuple(float(p) for p in value.split(","))
    except ValueError as exc:
        raise UsageError(f"--rating-bands must be numbers such as 80,65,50, not {value!r}"
                         ) from exc


def report(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="PDF file to write."),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="Also write the tables as a "
                                                          "spreadsheet."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Also write Markdown tables "
                                                                  "into this folder."),
    table_ids: str | None = typer.Option(None, "--tables", help="Comma-separated table ids "
                                                                "(default: all)."),
    suppress_below: int = typer.Option(5, "--suppress-below", min=0,
                                       help="Show cells counting fewer cases as * (0: off)."),
    disclosure: str = typer.Option("threshold", "--disclosure",
                                   help="Disclosure rule: threshold (--suppress-below) or "
                                        "ons-10-5 (suppress below 10, round the rest to 5)."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Inspection(s) to cover (default: all)."),
    rating_bands: str | None = typer.Option(
        None, "--rating-bands", help="Thresholds replacing the question set's rating bands, "
        "highest first, e.g. 80,65,50 (default: the set's `ratings`)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    correction: str = typer.Option("holm", "--correction", help="holm, bh or none."),
    force: bool = typer.Option(False, "--force",
                               help="Replace existing files of the same names (never a "
                                    "symbolic link)."),
    docx: Path | None = typer.Option(None, "--docx", help="Also write the report as a Word "
                                                          "document with editable tables."),
    marking: str = typer.Option("", "--marking", help="Protective marking printed at the head "
                                                      "and foot of every page, e.g. "
                                                      "OFFICIAL-SENSITIVE."),
    organisation: str = typer.Option("", "--organisation", help="Organisation named on the "
                                                                "title page."),
    figure_numbers: str = typer.Option("2020", "--figure-numbers",
                                       help="2020: the 2020 report's figure numbers for "
                                            "the tables it has; sequential: 1, 2, 3 in each "
                                            "chapter."),
) -> None:
    """Compile the thematic report: numbered tables and charts as a PDF (and XLSX, Markdown,
    Word)."""
    from audit.report.build import compile_report
    from audit.report.publish import check_targets, preload_writers, publish_report

    state: CliState = ctx.obj
    if out.suffix.lower() != ".pdf":
        raise UsageError(f"--out must name a .pdf file, not {out}")
    if docx is not None and docx.suffix.lower() != ".docx":
        raise UsageError(f"--docx must name a .docx file, not {docx}")
    check_targets(pdf=out, xlsx=xlsx, markdown=markdown, docx=docx, force=force)
    preload_writers(pdf=True, docx=docx is not None)
    with table_progress() as progress:
        task = progress.add_task("Compiling tables", total=None)

        def tick(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"Table {label}")

        built = compile_report(state.database(), actor=state.actor(),
                               inspections=inspection or None,
                               tables=_parse_tables(table_ids), suppress_below=suppress_below,
                               bands=_parse_bands(rating_bands), alpha=alpha,
                               correction=correction, progress=tick,
                               figure_numbers=figure_numbers, organisation=organisation,
                               marking=marking, disclosure=disclosure)
        pdf_task = progress.add_task("Writing PDF", total=len(built.tables))

        def pdf_tick(done: int, total: int, label: str) -> None:
            progress.update(pdf_task, completed=done, total=total,
                            description=f"PDF: {label}")

        # Recorded in the trail first; the files appear only then (audit/disclosure.py).
        publish_report(state.database(), built, actor=state.actor(), pdf=out, xlsx=xlsx,
                       markdown=markdown, docx=docx, suppress_below=built.meta.suppress_below,
                       force=force, progress=pdf_tick)
    typer.echo(f"Wrote {out} ({len(built.tables)} tables)")
    if xlsx is not None:
        typer.echo(f"Wrote {xlsx}")
    if markdown is not None:
        typer.echo(f"Wrote Markdown tables to {markdown}/")
    if docx is not None:
        typer.echo(f"Wrote {docx}")


def tables(
    ctx: typer.Context,
    json_out: str = typer.Option(..., "--json", help="Write the tables as JSON to FILE, or - "
                                                    "for standard output (raw counts)."),
    table_ids: str | None = typer.Option(None, "--tables", help="Comma-separated table ids."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Inspection(s) to cover (default: all)."),
    rating_bands: str | None = typer.Option(
        None, "--rating-bands", help="Thresholds replacing the question set's rating bands, "
        "highest first, e.g. 80,65,50 (default: the set's `ratings`)."),
    suppress_below: int | None = typer.Option(
        None, "--suppress-below", min=0,
        help="Write the tables as published instead of raw: cells counting fewer cases, "
             "and those that would give them back, null and marked \"suppressed\"."),
    disclosure: str | None = typer.Option(
        None, "--disclosure", help="Write the tables as published under this rule: "
                                   "threshold or ons-10-5."),
    force: bool = typer.Option(False, "--force",
                               help="Replace an existing FILE (never a symbolic link)."),
) -> None:
    """Write every report table as JSON, unsuppressed, for scripts and checks."""
    from audit.report.build import compile_report
    from audit.report.jsonout import write_json
    from audit.report.publish import check_targets, publish_report

    state: CliState = ctx.obj
    if json_out != "-":
        check_targets(json=Path(json_out), force=force)
    published = suppress_below is not None or disclosure is not None
    built = compile_report(state.database(), actor=state.actor(), inspections=inspection or None,
                           tables=_parse_tables(table_ids), bands=_parse_bands(rating_bands),
                           suppress_below=5 if suppress_below is None else suppress_below,
                           disclosure=disclosure or "threshold")
    threshold = built.meta.suppress_below if published else None
    if json_out == "-":
        write_json(built, sys.stdout, suppress_below=threshold)
    else:
        # A file is a disclosure of raw counts: recorded first, like the report's files.
        publish_report(state.database(), built, actor=state.actor(), json=Path(json_out),
                       force=force, suppress_below=threshold, json_suppressed=published)
        typer.echo(f"Wrote {json_out} ({len(built.tables)} tables)", err=True)
