"""The `iom-audit` command line: the typer app and its commands (a face: no rule lives here)."""
