"""`demo`: build the synthetic demo inspections (and the national-scale benchmark set)."""

from __future__ import annotations

import typer

from cli.state import CliState


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the CLI."""
    app.command("demo")(demo)


def demo(
    ctx: typer.Context,
    cases: int | None = typer.Option(
        None, "--cases", "-n", min=1,
        help="Cases in the core inspection (default 3,247, the published sample; "
             "100000 builds the national-scale benchmark set)."),
    seed: int = typer.Option(2019, "--seed", "-s", help="Random seed: the same seed "
                                                        "gives the same data."),
) -> None:
    """Build a synthetic demo: the 2019 IOM thematic sample and the 2018/19 core programme.

    Every case, person and answer is made up; the numbers follow the published figures
    of the 2020 joint thematic inspection of IOM.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from audit.demo import build, core

    state: CliState = ctx.obj
    database = state.database()
    err = Console(stderr=True)
    total = core.CORE_DEFAULT_CASES if cases is None else cases
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=total <= core.CHUNK_CASES) as bar:
        task = bar.add_task("Core cases", total=total)
        summary = build.build_demo(
            database, actor=state.actor(), cases=cases, seed=seed,
            progress=lambda done, _total: bar.update(task, completed=done))
    out = Console(markup=False)  # paths and names are printed as typed
    out.print(f"Built the demo in {database.location.display()} (seed {summary.seed}):")
    for built in summary.inspections:
        statuses = ", ".join(f"{n:,} {s.replace('_', ' ')}"
                             for s, n in sorted(built.statuses.items()))
        out.print(f"  {built.kind:<8} {built.name!r} ({built.question_set}): "
                  f"{built.cases:,} cases ({statuses}), {built.answers:,} answers")
    out.print(f"  {summary.cases:,} cases and {summary.answers:,} answers "
              f"in {summary.seconds:.1f} s")
    if summary.lead:
        out.print(f"  {summary.lead} is a lead of this demo database (reports, full exports, "
                  "QA).")
