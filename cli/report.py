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


def _parse_bands(value: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError as exc:
        raise UsageError(f"--rating-bands must be three numbers such as 80,65,50, not {value!r}"
                         ) from exc
    if len(parts) != 3:
        raise UsageError("--rating-bands must be three numbers such as 80,65,50")
    return parts


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
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Inspection(s) to cover (default: all)."),
    rating_bands: str = typer.Option("80,65,50", "--rating-bands",
                                     help="Outstanding, Good, Requires-improvement thresholds."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    correction: str = typer.Option("holm", "--correction", help="holm, bh or none."),
) -> None:
    """Compile the thematic report: numbered tables and charts as a PDF (and XLSX, Markdown)."""
    from audit.report.build import compile_report
    from audit.report.markdown import write_markdown
    from audit.report.pdf import write_pdf
    from audit.report.xlsx import write_xlsx

    state: CliState = ctx.obj
    if out.suffix.lower() != ".pdf":
        raise UsageError(f"--out must name a .pdf file, not {out}")
    with table_progress() as progress:
        task = progress.add_task("Compiling tables", total=None)

        def tick(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"Table {label}")

        built = compile_report(state.database(), actor=state.actor(),
                               inspections=inspection or None,
                               tables=_parse_tables(table_ids), suppress_below=suppress_below,
                               bands=_parse_bands(rating_bands), alpha=alpha,
                               correction=correction, progress=tick)
        pdf_task = progress.add_task("Writing PDF", total=len(built.tables))

        def pdf_tick(done: int, total: int, label: str) -> None:
            progress.update(pdf_task, completed=done, total=total,
                            description=f"PDF: {label}")

        out.parent.mkdir(parents=True, exist_ok=True)
        write_pdf(built, out, suppress_below=suppress_below, progress=pdf_tick)
        if xlsx is not None:
            xlsx.parent.mkdir(parents=True, exist_ok=True)
            write_xlsx(built, xlsx, suppress_below=suppress_below)
        if markdown is not None:
            write_markdown(built, markdown, suppress_below=suppress_below)
    typer.echo(f"Wrote {out} ({len(built.tables)} tables)")
    if xlsx is not None:
        typer.echo(f"Wrote {xlsx}")
    if markdown is not None:
        typer.echo(f"Wrote Markdown tables to {markdown}/")


def tables(
    ctx: typer.Context,
    json_out: str = typer.Option(..., "--json", help="Write the tables as JSON to FILE, or - "
                                                    "for standard output (raw counts)."),
    table_ids: str | None = typer.Option(None, "--tables", help="Comma-separated table ids."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Inspection(s) to cover (default: all)."),
    rating_bands: str = typer.Option("80,65,50", "--rating-bands",
                                     help="Outstanding, Good, Requires-improvement thresholds."),
) -> None:
    """Write every report table as JSON, unsuppressed, for scripts and checks."""
    from audit.report.build import compile_report
    from audit.report.jsonout import write_json

    state: CliState = ctx.obj
    built = compile_report(state.database(), actor=state.actor(), inspections=inspection or None,
                           tables=_parse_tables(table_ids), bands=_parse_bands(rating_bands))
    if json_out == "-":
        write_json(built, sys.stdout)
    else:
        write_json(built, Path(json_out))
        typer.echo(f"Wrote {json_out} ({len(built.tables)} tables)", err=True)
