"""`compare`: groups of cases side by side on each question, with tests (Figure 5.2)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from audit.errors import UsageError
from audit.formatting import (
    MISSING,
    format_ci,
    format_count,
    format_p,
    format_pct,
    format_pp,
    format_ratio,
)
from cli.output import force_json_option, write_json
from cli.state import CliState

if TYPE_CHECKING:  # for annotations only: the CLI starts without importing the stats stack
    from stats import Comparison


def register(app: typer.Typer) -> None:
    """Add `compare` to the CLI."""
    app.command("compare")(compare)


def compare(
    ctx: typer.Context,
    by: str = typer.Option("iom", "--by", help="Case field to group by (iom, provider, "
                                              "case_type, rosh, ..., inspection, site)."),
    inspection: list[str] = typer.Option(None, "--inspection", "-i",
                                         help="Inspection(s) to cover (default: all)."),
    questions: str = typer.Option("key", "--questions",
                                  help="key (the twelve standards questions and the RO survey), "
                                       "all, or a comma-separated list of question ids."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level."),
    correction: str = typer.Option("holm", "--correction",
                                   help="Multiple-comparison correction: holm, bh or none."),
    test: str = typer.Option("auto", "--test", help="auto (chi-square, or Fisher's exact when "
                                                    "an expected count is below 5), chi2, fisher."),
    yates: bool = typer.Option(False, "--yates", help="Chi-square with Yates' correction."),
    effects: bool = typer.Option(True, "--independent-effect/--no-independent-effect",
                                 help="Logistic regression of each answer on the group and "
                                      "case type, risk of serious harm, likelihood of "
                                      "reoffending and provider."),
    json_out: str | None = typer.Option(None, "--json", help="Write JSON to FILE, or - for "
                                                            "standard output."),
    force: bool = force_json_option(),
    fmt: str = typer.Option("table", "--format", "-f",
                            help="table (fits the terminal: one block per question where "
                                 "the columns do not fit), csv or json, on standard output."),
) -> None:
    """Compare groups (default IOM vs non-IOM) on each question, with significance tests."""
    from audit.views import analysis

    analysis.check_options(alpha=alpha, correction=correction)  # before opening the database
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    state: CliState = ctx.obj
    result = analysis.compare(state.database(), by=by, inspections=inspection or None,
                              questions=questions, alpha=alpha, correction=correction,
                              test=test, yates=yates, independent_effect=effects)
    if json_out is not None:
        write_json(json_out, json.dumps(result.to_dict(), indent=2) + "\n", force=force)
        if json_out != "-":
            typer.echo(f"Wrote {json_out}", err=True)
        return
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    if fmt == "csv":
        _write_csv(result, effects=effects)
        return
    console = Console(markup=False)  # names, refs and sites are printed as typed
    _print_table(console, result, by=by, correction=correction, alpha=alpha, effects=effects)


FORMATS = ("table", "csv", "json")


def _write_csv(result: Comparison, *, effects: bool) -> None:
    """One row per question, raw numbers (unrounded) for a spreadsheet or a script."""
    import csv
    import sys

    from audit.cell_safety import neutralise

    two = len(result.levels) == 2
    head = ["question_id", "label"]
    for level in result.levels:
        head += [f"{level}_yes", f"{level}_n", f"{level}_pct"]
    if two:
        head += ["diff_pp", "diff_low", "diff_high", "odds_ratio", "risk_ratio", "cohens_h"]
    head += ["test", "p_value", "p_adjusted", "significant"]
    if effects and two:
        head += ["effect_or", "effect_p", "effect_status"]
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(head)
    for row in result.rows:
        cells: list[object] = [row.question_id, neutralise(row.label)]
        for level in result.levels:
            g = row.groups[level]
            cells += [g.yes, g.n, g.pct]
        if two:
            low, high = row.diff_ci or (None, None)
            cells += [row.diff_pp, low, high, row.odds_ratio, row.risk_ratio, row.cohens_h]
        cells += [row.test, row.p_value, row.p_adjusted, row.significant]
        if effects and two:
            e = row.independent_effect
            cells += [e.odds_ratio, e.p, e.status] if e is not None else [None, None, None]
        out.writerow(["" if c is None else c for c in cells])


def _effect_cell(effect: object, alpha: float) -> str:
    if effect is None:
        return MISSING
    status = getattr(effect, "status", None)
    odds = getattr(effect, "odds_ratio", None)
    if odds is None:
        return str(status)
    p = getattr(effect, "p", None)
    mark = " *" if p is not None and p < alpha else ""
    # A fitted effect is shown whatever was dropped; the status says what to weigh.
    flag = "" if status == "ok" else f" [{status}]"
    return f"{format_ratio(odds)} (p {format_p(p)}){mark}{flag}"


def _print_pairs(console: Console, result: Comparison, *, by: str, alpha: float) -> None:
    """The pairs of levels that differ, per question (Holm within the question)."""
    from audit.views.analysis import significant_pairs

    console.print(f"Pairs that differ (each pair tested as two groups; p adjusted with "
                  f"Holm's method within each question; alpha {alpha:g}):")
    found = False
    for row in result.rows:
        pairs = significant_pairs(row, by)
        if pairs:
            found = True
            console.print(f"  {row.question_id}: " + "; ".join(pairs))
    if not found:
        console.print("  none")


# The question's label may shrink to this before the table turns into blocks.
_LABEL_ROOM = 24


def _fits(console: Console, table: Table) -> bool:
    """Whether every column shows whole with the label given at least `_LABEL_ROOM`."""
    from rich.measure import Measurement

    # Measured as if the terminal were unlimited: rich clamps a measurement to its width.
    needed = Measurement.get(console, console.options.update_width(10_000), table).maximum
    label = table.columns[1]
    spare = (label.max_width or 38) - _LABEL_ROOM  # what the label may give up
    return needed - spare <= console.width


def _print_blocks(console: Console, result: Comparison, table: Table, *,
                  alpha: float) -> None:
    """The table turned on its side: per question, a line per column, labels wrapped."""
    console.print(str(table.title))
    heads = [str(c.header) for c in table.columns]
    cells = [list(c.cells) for c in table.columns]
    width = max(len(h) for h in heads[2:])
    for i, row in enumerate(result.rows):
        mark = "  (significant)" if row.significant else ""
        console.print(f"{row.question_id}  {row.label}{mark}", style="bold" if mark else None)
        for j in range(2, len(heads)):
            console.print(f"  {heads[j]:<{width}}  {cells[j][i]}")
    console.print(str(table.caption))


def _print_table(console: Console, result: Comparison, *, by: str, correction: str,
                 alpha: float, effects: bool) -> None:
    levels = list(result.levels)
    two = len(levels) == 2
    table = Table(title=f"Comparison by {by}: {' vs '.join(levels)}", title_justify="left",
                  caption=f"p adjusted across the table: {correction}; alpha {alpha:g}. "
                          "Bold: significant after adjustment.", caption_justify="left")
    # Numbers never wrap or shrink; only the label gives way on a narrow terminal.
    table.add_column("Question", no_wrap=True, max_width=14, overflow="ellipsis")
    table.add_column("Label", overflow="ellipsis", no_wrap=True, max_width=38)
    for level in levels:
        table.add_column(level, justify="right", no_wrap=True, min_width=13)
    if two:
        table.add_column("Diff pp [95% CI]", justify="right", no_wrap=True, min_width=22)
    table.add_column("Test", no_wrap=True, min_width=6)
    table.add_column("p", justify="right", no_wrap=True, min_width=6)
    table.add_column("p adj.", justify="right", no_wrap=True, min_width=6)
    if effects and two:
        table.add_column("Indep. OR", justify="right", no_wrap=True, min_width=18)
    for row in result.rows:
        cells = [row.question_id, row.label]
        for level in levels:
            g = row.groups[level]
            cells.append(f"{format_pct(g.pct)} of {format_count(g.n)}")
        if two:
            cells.append(f"{format_pp(row.diff_pp)} {format_ci(row.diff_ci)}")
        cells += [row.test or MISSING, format_p(row.p_value), format_p(row.p_adjusted)]
        if effects and two:
            cells.append(_effect_cell(row.independent_effect, alpha))
        table.add_row(*cells, style="bold" if row.significant else None)
    if _fits(console, table):
        console.print(table)
    else:  # narrow or piped: one block per question, nothing cut off
        _print_blocks(console, result, table, alpha=alpha)
    s = result.summary
    pooled = ", ".join(f"{lv} {format_pct(p)}" for lv, p in s.pooled.items())
    average = ", ".join(f"{lv} {format_pct(p)}" for lv, p in (s.mean_pct or {}).items())
    console.print(f"Over the {s.basis} questions: mean difference "
                  f"{format_pp(s.mean_diff_pp)} points; judged positively on average "
                  f"{average} (pooled {pooled}).")
    monte_carlo = [r for r in result.rows if r.resamples]
    if monte_carlo:
        worst = max(r.p_se or 0.0 for r in monte_carlo)
        console.print(f"Monte Carlo p ({len(monte_carlo)} question(s), where an expected "
                      f"count is below 5): {format_count(monte_carlo[0].resamples)} random "
                      f"tables with the observed margins, fixed seed; standard error of p "
                      f"at most {format_p(worst)}.")
    if len(levels) > 2:
        _print_pairs(console, result, by=by, alpha=alpha)
    if effects and two:
        console.print("Indep. OR: odds ratio for the first group from a logistic regression "
                      "on the group and case type, risk of serious harm, likelihood of "
                      "reoffending and provider; * where p < alpha.")
