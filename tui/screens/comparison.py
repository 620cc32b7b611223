"""Comparison: IOM vs non-IOM (or sites, lead agencies, case types) per question, with
bars; a cell lists the cases behind it. With three or more groups a column names the pairs
that differ (each pair tested as two groups, Holm-adjusted within the question)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, LoadingIndicator, Static

from audit.formatting import MISSING, format_count, format_p, format_pct, format_pp
from audit.profile import level_label
from tui.screens.base import IomScreen
from tui.widgets.bar_chart import BarChart, BarGroup

LEVELS = {lv: level_label("iom", lv) for lv in ("iom", "non_iom")}
# What `g` cycles through: the fields a lead most often compares.
GROUPINGS = ("iom", "site", "provider", "case_type")
GROUPING_NAMES = {"iom": "IOM vs non-IOM", "site": "by site", "provider": "by lead agency",
                  "case_type": "by case type"}


@dataclass
class ComparisonReady(Message):
    comparison: Any  # stats.Comparison (imported lazily: pandas is slow to import)
    scope: str
    by: str = "iom"
    asked: tuple[tuple[str, ...], str] = ((), "iom")  # (inspections, by) it answers


@dataclass
class Counting(Message):
    cases: int  # in the scope being compared


@dataclass
class CasesBehind(Message):
    title: str
    cases: list[Any]  # audit.views.analysis.CaseBehind
    total: int = 0  # cases behind the cell in all
    offset: int = 0  # of the first one listed


LABEL_WIDTH = 24
"""The question column: a label longer than this wraps onto more lines, never cut."""


def pct_cell(counts: Any) -> str:
    """A group's cell: "43% (17/40)"; the missing mark when nobody answered."""
    if counts is None or counts.pct is None:
        return MISSING
    return f"{format_pct(counts.pct)} ({format_count(counts.yes)}/{format_count(counts.n)})"


class ComparisonScreen(IomScreen):
    """The IOM vs non-IOM table of every yes/no question (computed in a worker, through
    the counting path of `iom-audit compare`, and kept in the app's cache while the data
    is unchanged) and its bar chart. Keys act while it counts: esc goes back at once."""

    PALETTE_GROUP = "Comparison"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "cases_behind", "Cases behind", id="comparison.behind", show=False),
        Binding("i", "toggle_scope", "This inspection/all", id="comparison.scope"),
        Binding("g", "cycle_grouping", "Group by", id="comparison.group"),
        Binding("f5,ctrl+r", "refresh", "Recompute", id="comparison.refresh"),
        Binding("o", "open_case", "Open case", id="comparison.open"),
        Binding("right_square_bracket", "behind_page(1)", "Next cases", key_display="]",
                id="comparison.behind_next"),
        Binding("left_square_bracket", "behind_page(-1)", "Previous cases", key_display="[",
                id="comparison.behind_previous"),
        Binding("escape", "back", "Back", id="comparison.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.comparison: Any = None
        self.all_inspections = True
        self.by = "iom"
        self.behind: list[Any] = []
        # What the cases list shows: (question id, label, level, by), and from which case.
        self.behind_cell: tuple[str, str, str, str] | None = None
        self.behind_offset = 0
        self.behind_total = 0
        self.asked: tuple[tuple[str, ...], str] = ((), "iom")  # what the last count is for

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Counting the cases…", id="comparison-title")
        yield LoadingIndicator(id="comparison-loading")
        with Horizontal(id="comparison-body"):
            yield DataTable(id="comparison-table", cursor_type="cell", zebra_stripes=True)
            with VerticalScroll(id="comparison-chart-box"):
                yield BarChart(id="comparison-chart")
        yield DataTable(id="behind", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = GROUPING_NAMES[self.by]
        self._set_columns(tuple(LEVELS))
        behind = self.query_one("#behind", DataTable)
        for label, width in (("Case ref", 16), ("Inspection", 20), ("Site", 20),
                             ("Answer", 10)):
            behind.add_column(label, width=width)
        self.query_one("#comparison-body").display = False
        self.recount()

    def _column_key(self, level: str) -> str:
        # IOM keeps its plain keys; other levels are prefixed so that a site called "p"
        # cannot collide with the p column.
        return level if self.by == "iom" else f"level:{level}"

    def _set_columns(self, levels: tuple[str, ...], names: dict[str, str] | None = None,
                     pairs: bool = False) -> None:
        """Question, one column per level, then difference (two levels), p and pairs."""
        table = self.query_one("#comparison-table", DataTable)
        table.clear(columns=True)
        names = names or LEVELS
        table.add_column("Question", key="label", width=LABEL_WIDTH)
        for level in levels:
            # Counts wide enough for a national sample: "71% (65,076/91,650)".
            # Text: a site's name is shown as typed, never read as markup.
            table.add_column(Text(names.get(level, level)), key=self._column_key(level),
                             width=19)
        if len(levels) == 2:
            table.add_column("Diff pp", key="diff", width=8)
        table.add_column("p (adj.)", key="p", width=8)
        if pairs:
            table.add_column("Pairs that differ", key="pairs", width=44)

    def action_refresh(self) -> None:
        """f5: count again, whatever the cache holds."""
        self.recount(fresh=True)

    def recount(self, fresh: bool = False) -> None:
        inspections = None if self.all_inspections else [self.ws.inspection]
        self.asked = (tuple(inspections or ()), self.by)
        self.query_one("#comparison-loading").display = True
        self.compute(inspections, self.by, fresh=fresh)

    def action_cycle_grouping(self) -> None:
        self.by = GROUPINGS[(GROUPINGS.index(self.by) + 1) % len(GROUPINGS)]
        self.sub_title = GROUPING_NAMES[self.by]
        self.recount()

    @work(thread=True, exclusive=True, exit_on_error=False, group="comparison",
          description="Comparing groups of cases")
    def compute(self, inspections: list[str] | None, by: str = "iom",
                fresh: bool = False) -> None:
        # The counts and tests only: the independent effect (a model per question) is
        # the CLI's and the report's, so statsmodels never loads here.
        from audit.views.comparison_cache import data_version

        version = data_version(self.ws.db, inspections)
        self.post_message(Counting(version.cases))
        result = self.iom_app.comparisons.compare(
            self.ws.db, version, fresh=fresh, by=by, inspections=inspections,
            questions="all", independent_effect=False)
        scope = ", ".join(inspections) if inspections else "every inspection with both groups"
        self.post_message(ComparisonReady(result, scope, by, (tuple(inspections or ()), by)))

    @on(Counting)
    def counting(self, message: Counting) -> None:
        if self.query_one("#comparison-loading").display:
            self.query_one("#comparison-title", Static).update(
                f"Counting {format_count(message.cases)} cases…")

    def worker_error(self, worker: Any, error: BaseException) -> None:
        # A refused look at the cases behind a cell is notified (IomScreen); the table stays.
        if worker.group != "comparison":
            return
        self.query_one("#comparison-loading").display = False
        self.query_one("#comparison-title", Static).update(f"No comparison: {escape(str(error))}")

    @on(ComparisonReady)
    def show(self, message: ComparisonReady) -> None:
        from audit.views.analysis import significant_pairs

        if message.asked != self.asked:
            return  # a result for a grouping or scope the user has since moved away from
        self.comparison = c = message.comparison
        self.query_one("#comparison-loading").display = False
        self.query_one("#comparison-body").display = True
        levels = tuple(c.levels)
        names = {lv: level_label(c.by, lv) for lv in levels}
        many = len(levels) > 2
        self._set_columns(levels, names, pairs=many)
        table = self.query_one("#comparison-table", DataTable)
        for row in c.rows:
            sig = " *" if row.significant else ""
            cells: list[Any] = [Text(row.label)]
            cells += [pct_cell(row.groups.get(level)) for level in levels]
            if len(levels) == 2:
                cells.append(MISSING if row.diff_pp is None else f"{format_pp(row.diff_pp)}{sig}")
            cells.append(f"{format_p(row.p_adjusted)}{sig if len(levels) != 2 else ''}")
            if many:
                # Text: site names are shown as typed, never read as markup.
                cells.append(Text("; ".join(significant_pairs(row, c.by)) or MISSING))
            # height=None: as many lines as the wrapped label needs.
            table.add_row(*cells, key=row.question_id, height=None)
        mean = c.summary.mean_diff_pp
        heading = (" vs ".join(names[lv] for lv in levels) if len(levels) <= 3
                   else f"{GROUPING_NAMES.get(c.by, c.by)} ({len(levels)} groups)")
        self.query_one("#comparison-title", Static).update(
            f"{escape(heading)} · {escape(message.scope)} · {len(c.rows)} questions · "
            f"{c.correction}, α={c.alpha}, * significant"
            + ("" if mean is None else f" · mean diff. {format_pp(mean)} pp")
            + (" · pairs: Holm within each question" if many else ""))
        self.update_chart()
        table.focus()

    def update_chart(self) -> None:
        if self.comparison is None:
            return
        levels = self.comparison.levels
        groups = [BarGroup(r.label, [(level_label(self.comparison.by, level),
                                      r.groups[level].pct, r.groups[level].n)
                                     for level in levels if level in r.groups])
                  for r in self.comparison.rows]
        row = self.query_one("#comparison-table", DataTable).cursor_row
        self.query_one(BarChart).show(groups, row)

    @on(DataTable.CellHighlighted, "#comparison-table")
    def highlighted(self) -> None:
        self.update_chart()

    @on(DataTable.CellSelected, "#comparison-table")
    def action_cases_behind(self) -> None:
        if self.comparison is None:
            return
        table = self.query_one("#comparison-table", DataTable)
        row = self.comparison.rows[table.cursor_row]
        levels = self.comparison.levels
        column = table.cursor_column
        # A level's column lists its cases; any other column, the first level's.
        level = levels[column - 1] if 1 <= column <= len(levels) else levels[0]
        self.behind_cell = (row.question_id, row.label, level, self.comparison.by)
        self.load_behind(*self.behind_cell)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The page keys show (and act) only while a cell's cases run to several pages.
        if action == "behind_page":
            return self.behind_cell is not None and self.behind_total > len(self.behind)
        return True

    def action_behind_page(self, step: int) -> None:
        """Page through the cases behind the cell (every one of them, a page at a time)."""
        from audit.views.analysis import BEHIND_PAGE

        if self.behind_cell is None:
            return
        offset = self.behind_offset + step * BEHIND_PAGE
        if offset < 0 or offset >= self.behind_total:
            self.notify("No more cases that way.", timeout=2)
            return
        self.load_behind(*self.behind_cell, offset=offset)

    @work(thread=True, exclusive=True, exit_on_error=False, group="behind",
          description="Finding the cases")
    def load_behind(self, question_id: str, label: str, level: str, by: str = "iom",
                    offset: int = 0) -> None:
        from audit.views import analysis

        page = analysis.page_behind(self.ws.db, actor=self.ws.actor, question_id=question_id,
                                    level=level, by=by, offset=offset,
                                    limit=analysis.BEHIND_PAGE,
                           inspections=None if self.all_inspections
                           else [self.ws.inspection])
        self.post_message(CasesBehind(f"{level_label(by, level)} · {label}",
                                      page.cases, page.total, page.offset))

    @on(CasesBehind)
    def show_behind(self, message: CasesBehind) -> None:
        self.behind = message.cases
        table = self.query_one("#behind", DataTable)
        table.clear()
        for c in message.cases:
            # Text, not str: a DataTable reads str cells as markup; these are as typed.
            table.add_row(*(Text(v) for v in (c.case_ref, c.inspection, c.site or "",
                                               c.value or "")))
        self.behind_offset, self.behind_total = message.offset, message.total
        self.refresh_bindings()
        shown = (f"{format_count(message.total)} case(s)"
                 if len(message.cases) == message.total else
                 f"cases {format_count(message.offset + 1)}–"
                 f"{format_count(message.offset + len(message.cases))} of "
                 f"{format_count(message.total)} · [ ] pages")
        table.border_title = f"{escape(message.title)}: {shown} · enter opens"
        table.add_class("visible")
        table.focus()

    @on(DataTable.RowSelected, "#behind")
    def action_open_case(self) -> None:
        table = self.query_one("#behind", DataTable)
        if self.behind and table.has_class("visible"):
            self.iom_app.open_case(self.behind[min(table.cursor_row, len(self.behind) - 1)]
                                   .case_id)

    def action_toggle_scope(self) -> None:
        self.all_inspections = not self.all_inspections
        self.recount()

    def action_back(self) -> None:
        behind = self.query_one("#behind", DataTable)
        if behind.has_class("visible"):
            behind.remove_class("visible")
            self.query_one("#comparison-table", DataTable).focus()
            return
        self.app.pop_screen()
