"""Console entry point: the `iom-audit` command, whose bare form opens the app."""

from __future__ import annotations

import sys

from audit.cli import run
from audit.cli.state import CliState


def launch(state: CliState) -> None:
    """Open the terminal app on the database the CLI was given."""
    from tui.app import run_app  # textual is imported only when the app is wanted

    run_app(state.db)


def main() -> None:
    """Run the CLI (with the app behind `iom-audit` and `iom-audit tui`)."""
    sys.exit(run(launch_tui=launch))
