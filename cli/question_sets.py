"""`iom-audit question-sets list | show ID | validate FILE...`."""

from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(
    help="List, show and validate question sets (the standards inspectors rate against).",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
)

DirsOption = typer.Option(
    None, "--dir", "-d", help="Also search this directory for question sets (repeatable).",
    show_default=False)


def _fail(message: str) -> typer.Exit:
    """Print one line to stderr; the caller raises the returned Exit(1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def register(parent: typer.Typer) -> None:
    """Add the `question-sets` command group to the CLI."""
    parent.add_typer(app, name="question-sets")


@app.command("list")
def list_command(dirs: list[Path] | None = DirsOption) -> None:
    """List the question sets on the search path."""
    from question_sets import QuestionSetError, list_sets

    try:
        sets = list_sets(dirs or ())
    except QuestionSetError as e:
        raise _fail(str(e)) from None
    table = Table("id", "version", "title", "questions", "key", box=None, header_style="bold")
    for qs in sets:
        table.add_row(qs.id, qs.version, escape(qs.title), str(len(qs.questions)),
                      str(len(qs.key_questions)))
    Console().print(table)


@app.command("show")
def show_command(
    set_id: str = typer.Argument(..., metavar="ID", help="Question set id."),
    version: str | None = typer.Option(None, "--version", "-v", help="Default: the highest."),
    dirs: list[Path] | None = DirsOption,
) -> None:
    """Show a set's standards and questions (key questions marked ★)."""
    from question_sets import QuestionSetError, load_set

    try:
        qs = load_set(set_id, version, dirs or ())
    except QuestionSetError as e:
        raise _fail(str(e)) from None
    table = Table("", "id", "type", "question", "applies when", box=box.SIMPLE_HEAD,
                  title=f"[bold]{escape(qs.id)}[/] {escape(qs.version)} — {escape(qs.title)}",
                  caption=f"{len(qs.questions)} questions, {len(qs.key_questions)} key (★); "
                          f"digest {qs.digest[:12]}")
    for section in qs.sections:
        table.add_row("", f"[bold]{escape(section.id)}[/]", "", f"[bold]{escape(section.title)}[/]",
                      "")
        for q in section.questions:
            table.add_row("★" if q.key else "", escape(q.id), q.type, escape(q.label),
                          escape(q.applies_when or ""))
        table.add_section()
    Console().print(table)


@app.command("validate")
def validate_command(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Question-set YAML files."),
    dirs: list[Path] | None = DirsOption,
) -> None:
    """Check files and print every problem as file:line:column: message (exit 1 if any)."""
    from question_sets import QuestionSetError, load_file

    failed = False
    for path in files:
        try:
            qs = load_file(path, dirs or ())
        except QuestionSetError as e:
            failed = True
            for problem in e.problems:
                typer.echo(str(problem))
            continue
        typer.echo(f"{path}: ok ({len(qs.questions)} questions)")
    if failed:
        raise typer.Exit(1)
