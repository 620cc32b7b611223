"""The typer app: global options, the explicit list of commands, and one-line errors.

`make_app()` is shared by the console script and the tests. Slow modules (pandas,
statsmodels, reportlab, textual) are imported inside the commands that need them, so
`iom-audit --help` and the app's start stay fast.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import click
import typer

from audit import __version__
from cli import (
    allocate,
    backups,
    compare,
    core,
    demo,
    export,
    history,
    imports,
    people,
    purge,
    queries,
    question_sets,
    report,
    verify,
)
from cli.state import CliState

TuiLauncher = Callable[[CliState], None]

# Typer 0.29 parses with its own copy of click: its exceptions are not click's.
_typer_click: ModuleType
try:
    from typer._click import exceptions as _typer_click
except ImportError:  # older typer: click itself
    _typer_click = click.exceptions
EXITS = (click.exceptions.Exit, typer.Exit)
ABORTS = (click.exceptions.Abort, typer.Abort)
CLICK_ERRORS = (click.ClickException, _typer_click.ClickException)


def make_app(launch_tui: TuiLauncher | None = None) -> typer.Typer:
    """Build the CLI; `launch_tui` opens the terminal app (given by the `tui` package)."""
    app = typer.Typer(
        name="iom-audit",
        help="Audit offender case files against the HMI Probation standards, compare IOM "
             "with non-IOM cases and compile the tables of a thematic report.",
        context_settings={"help_option_names": ["-h", "--help"]},
        add_completion=True,
        rich_markup_mode="rich",
    )

    def version_callback(value: bool) -> None:
        if value:
            typer.echo(f"iom-audit {__version__}")
            raise typer.Exit()

    @app.callback(invoke_without_command=True)
    def root(
        ctx: typer.Context,
        db: str | None = typer.Option(
            None, "--db", envvar="IOM_AUDIT_DB", show_envvar=True,
            help="Database: a SQLite file path, or a URL such as postgresql+psycopg://host/db. "
                 "Default: a file in your user data directory."),
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
        version: bool = typer.Option(False, "--version", callback=version_callback,
                                     is_eager=True, help="Print the version and exit."),
    ) -> None:
        """With no command, open the terminal app."""
        ctx.obj = CliState(db=db, debug=debug, command=ctx.invoked_subcommand or "")
        ctx.call_on_close(ctx.obj.close)  # once the command has run, whatever its outcome
        if ctx.invoked_subcommand is None:
            if launch_tui is None:
                typer.echo(ctx.get_help())
                raise typer.Exit()
            launch_tui(ctx.obj)

    if launch_tui is not None:
        @app.command("tui")
        def tui_command(ctx: typer.Context) -> None:
            """Open the terminal app (the same as running iom-audit with no command)."""
            launch_tui(ctx.obj)

    for register in COMMANDS:
        register(app)
    return app


# Every command of the CLI, in the order `--help` lists them.
COMMANDS: tuple[Callable[[typer.Typer], None], ...] = (
    core.register, question_sets.register, imports.register, export.register,
    compare.register, report.register, demo.register, history.register,
    queries.register, backups.register,
    purge.register, people.register, verify.register, allocate.register,
)


def run(argv: Sequence[str] | None = None, launch_tui: TuiLauncher | None = None) -> int:
    """Run the CLI and return its exit code: 0 success, 1 a usage or data error."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    command = typer.main.get_command(make_app(launch_tui))
    _flags_as_flags(command)
    try:
        result = command.main(args=args, prog_name="iom-audit", standalone_mode=False)
    except EXITS as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except ABORTS:
        typer.echo("Aborted.", err=True)
        return 1
    except CLICK_ERRORS as exc:
        typer.echo(f"Error: {_usage_sentence(exc)}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a dump
        return _report_error(exc, debug)
    return result if isinstance(result, int) else 0


def _usage_sentence(exc: Exception) -> str:
    """A usage error as one sentence, with where to look (not click's boxed usage)."""
    words = str(getattr(exc, "format_message", lambda: str(exc))()).strip()
    words = " ".join(words.split())
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", "") if ctx is not None else ""
    if path and getattr(exc, "exit_code", 1) == 2:  # a usage error: the options were wrong
        words = f"{words.rstrip('.')} (see '{path} --help')"
    return words


def _flags_as_flags(command: Any) -> None:
    """Show on/off options as bare flags in `--help`, not as taking a `<bool>` value."""
    # Duck-typed: typer builds its commands on its own copy of click's classes.
    for param in getattr(command, "params", ()):
        if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
            param.metavar = ""  # typer prints the metavar in place of the type
    make_help_option = getattr(command, "get_help_option", None)
    if make_help_option is not None:  # `--help` itself is made when help is asked for
        def help_option(ctx: Any, make: Callable[[Any], Any] = make_help_option) -> Any:
            option = make(ctx)
            if option is not None:
                option.metavar = ""
            return option

        command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _flags_as_flags(sub)


def _report_error(exc: Exception, debug: bool) -> int:
    """One line for an error, never the SQL, its parameters, a URL or a class name."""
    # Imported here, on the error path only: they pull in SQLAlchemy, which `--help`
    # and `--version` must not pay for.
    from audit.errors import AuditError
    from audit.store.errors import message
    from question_sets.problems import QuestionSetError

    if isinstance(exc, QuestionSetError | AuditError):
        if debug:
            traceback.print_exc()
        typer.echo(f"Error: {exc if isinstance(exc, QuestionSetError) else message(exc)}",
                   err=True)
        return 1
    if debug:
        raise exc
    # A locked database, a full disk, a refused privilege...: words (audit/store/errors.py).
    typer.echo(f"Error: {message(exc)}", err=True)
    return 1
