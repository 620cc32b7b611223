"""The report's objects: tables, their columns and charts, and the report around them.

These are plain frozen dataclasses with no behaviour beyond look-ups, so that the
code which builds tables (database, statistics) and the code which renders them
(PDF, XLSX, Markdown, JSON) meet at one small, stable type. Row values are raw
numbers (or text); every renderer formats them through ``audit.formatting``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

# "pct1": a percentage with one decimal (ratings judged to one decimal print so).
ColumnKind = Literal["text", "count", "pct", "pct1", "pp", "p", "ratio", "rating"]
ChartKind = Literal["hbar", "grouped_hbar", "diff"]

#: Cell styles a row may ask for (``ReportTable.row_styles``).
SHADE = "shade"  # highlighted cell, e.g. an independent IOM effect in Figure 5.2
BOLD = "bold"  # e.g. a total row
HEADING = "heading"  # a sub-heading row such as "a) Attitudes to offending"
#: ``row_styles`` key that applies a style to every cell of the row.
WHOLE_ROW = "*"

NUMERIC_KINDS: frozenset[str] = frozenset({"count", "pct", "pct1", "pp", "p", "ratio"})


@dataclass(frozen=True)
class Column:
    """One column of a table; ``id`` keys the row dicts."""

    id: str
    label: str
    kind: ColumnKind = "text"
    group: str | None = None  # spanning header shared by neighbouring columns
    suppressible: bool = False  # subject to small-number suppression
    count_of: str | None = None  # for a pct column: the count column that suppresses it
    pdf: bool = True  # False: in the workbook, JSON and Markdown, left out of the PDF page
    # Columns whose suppression hides this one too: a rating, a difference or a p-value
    # would give a suppressed percentage back.
    follows: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers (right-aligned, formatted by kind)."""
        return self.kind in NUMERIC_KINDS


@dataclass(frozen=True)
class CellRef:
    """One number of a table: a row and a key of that row.

    The key is a column id for a printed cell, or any other key of the row dict for a
    number the table relies on but never prints (a base, the "yes" behind a percentage):
    disclosure control must protect those too.
    """

    row: int
    key: str


@dataclass(frozen=True)
class Sum:
    """Published additivity: the ``parts`` add up to ``total`` (a cell, or a number the
    publication states elsewhere, such as a sample size)."""

    parts: tuple[CellRef, ...]
    total: CellRef | int


@dataclass(frozen=True)
class Share:
    """A percentage cell: ``pct`` = 100 * ``count`` / ``base``."""

    pct: CellRef
    count: CellRef
    base: CellRef | int


@dataclass(frozen=True)
class NoteCount:
    """A count quoted in a note: ``text`` with ``{n}``, the number kept in ``cell``.

    The builder writes ``text.format(n=...)`` into ``notes``; disclosure control replaces
    that note when the count is small.
    """

    text: str
    cell: CellRef
    withheld: str = ""  # the note when the cell is withheld but not small (no number)

    def render(self, value: str) -> str:
        """The note with the count (already formatted, or a phrase) in place."""
        return self.text.format(n=value)


@dataclass(frozen=True)
class Structure:
    """How a table's numbers hang together, so that suppression can be audited."""

    sums: tuple[Sum, ...] = ()
    shares: tuple[Share, ...] = ()
    note_counts: tuple[NoteCount, ...] = ()
    # Entries of ``ReportTable.base`` that print a cell: left out when the cell is withheld.
    base_cells: tuple[tuple[str, CellRef], ...] = ()

    def shifted(self, by: int) -> Structure:
        """The structure of the table with ``by`` rows added (negative: taken) at its top."""
        def cell(ref: CellRef) -> CellRef:
            return CellRef(ref.row + by, ref.key)

        def either(ref: CellRef | int) -> CellRef | int:
            return cell(ref) if isinstance(ref, CellRef) else ref

        return Structure(
            sums=tuple(Sum(tuple(cell(c) for c in s.parts), either(s.total))
                       for s in self.sums),
            shares=tuple(Share(cell(s.pct), cell(s.count), either(s.base))
                         for s in self.shares),
            note_counts=tuple(replace(n, cell=cell(n.cell)) for n in self.note_counts),
            base_cells=tuple((label, cell(c)) for label, c in self.base_cells))

    def count_cells(self) -> set[CellRef]:
        """Every count the structure names (parts, totals, counts and bases, note counts)."""
        cells: set[CellRef] = set()
        for s in self.sums:
            cells.update(s.parts)
            if isinstance(s.total, CellRef):
                cells.add(s.total)
        for sh in self.shares:
            cells.add(sh.count)
            if isinstance(sh.base, CellRef):
                cells.add(sh.base)
        cells.update(n.cell for n in self.note_counts)
        cells.update(cell for _, cell in self.base_cells)
        return cells


@dataclass(frozen=True)
class Chart:
    """A bar chart drawn under its table from the table's own rows."""

    kind: ChartKind
    category: str  # column id giving bar labels
    series: tuple[tuple[str, str], ...]  # (column id of a pct value, legend label)
    title: str = ""
    value_max: float = 100.0
    # "diff" charts: the columns holding each point's 95% interval (low, high)
    interval: tuple[str, str] | None = None


@dataclass(frozen=True)
class ReportTable:
    """One numbered, captioned figure of the report."""

    id: str
    figure: str
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()
    base: dict[str, int] = field(default_factory=dict)
    tests: tuple[str, ...] = ()
    section: str = ""
    chart: Chart | None = None
    row_styles: tuple[dict[str, str], ...] = ()
    # Too many columns for a portrait page: the PDF gives the figure landscape pages.
    landscape: bool = False
    structure: Structure = field(default_factory=Structure)

    def value(self, cell: CellRef) -> Any:
        """The raw value of one cell (None when the row has no such key)."""
        return self.rows[cell.row].get(cell.key)

    @property
    def title(self) -> str:
        """The numbered caption, e.g. "Figure 4.3: The factors most linked ..."."""
        return f"Figure {self.figure}: {self.caption}" if self.figure else self.caption

    def column(self, column_id: str) -> Column:
        """The column with this id (KeyError when there is none)."""
        for column in self.columns:
            if column.id == column_id:
                return column
        raise KeyError(column_id)

    def style_of(self, row_index: int, column_id: str) -> str | None:
        """The style of one cell: its own entry, else the whole-row entry, else None."""
        if row_index >= len(self.row_styles):
            return None
        styles = self.row_styles[row_index]
        return styles.get(column_id) or styles.get(WHOLE_ROW)

    def is_heading_row(self, row_index: int) -> bool:
        """Whether a row is a sub-heading (any cell styled ``heading``)."""
        if row_index >= len(self.row_styles):
            return False
        return HEADING in self.row_styles[row_index].values()

    def without_first_row(self) -> ReportTable:
        """The table without its first row, its structure following the rows up.

        A number of the first row that the structure uses as a total or a base (a block's
        base on a heading row) becomes that number, as a stated total; a first row with
        counts of its own cannot go.
        """
        def stated(ref: CellRef | int) -> CellRef | int:
            if isinstance(ref, CellRef) and ref.row == 0:
                value = self.rows[0].get(ref.key)
                if not isinstance(value, int):
                    raise ValueError(f"{self.id}: the first row's {ref.key} is not a count")
                return value
            return ref

        old = self.structure
        sums = [Sum(s.parts, stated(s.total)) for s in old.sums
                if not all(c.row == 0 for c in s.parts)]  # "row 0 = stated": nothing left
        shares = [Share(s.pct, s.count, stated(s.base)) for s in old.shares]
        kept = Structure(tuple(sums), tuple(shares), old.note_counts, old.base_cells)
        cells = kept.count_cells() | {s.pct for s in kept.shares}
        if any(isinstance(c, CellRef) and c.row == 0 for c in cells):
            raise ValueError(f"{self.id}: its first row holds counts the structure names")
        return replace(self, rows=self.rows[1:], row_styles=self.row_styles[1:],
                       structure=kept.shifted(-1))

    def has_shading(self) -> bool:
        """Whether any cell is shaded (the renderers then add a legend)."""
        return any(SHADE in styles.values() for styles in self.row_styles)

    def printed(self) -> ReportTable:
        """The table as a page shows it (PDF, Word): the columns marked ``pdf`` only;
        the workbook, JSON and Markdown keep them all."""
        if all(c.pdf for c in self.columns):
            return self
        return replace(self, columns=tuple(c for c in self.columns if c.pdf))


@dataclass(frozen=True)
class ReportMeta:
    """What the title and methods pages say about the report."""

    title: str
    subtitle: str
    generated_at: datetime
    software_version: str
    command: str  # the exact command that regenerates the report
    question_sets: tuple[str, ...]  # e.g. "iom-thematic-2019 v1.0"
    samples: tuple[tuple[str, int], ...]  # (sample label, number of cases)
    methods: tuple[str, ...]  # paragraphs: tests, correction, alpha, covariates ...
    suppress_below: int = 5
    organisation: str = ""  # named on the title page
    marking: str = ""  # protective marking, e.g. "OFFICIAL-SENSITIVE", on every page
    numbering_note: str = ""  # how the figures are numbered (audit.report.numbering)
    disclosure: str = "threshold"  # or "ons-10-5" (audit.report.suppression.RULES)
    # Set once the tables are as published (`audit.report.suppression.protect_report`):
    # the rule they were protected under, so that protecting them again changes nothing.
    protected: str = ""


@dataclass(frozen=True)
class Report:
    """A whole report: its metadata and its tables in order."""

    meta: ReportMeta
    tables: tuple[ReportTable, ...]

    def table(self, table_id: str) -> ReportTable:
        """The table with this id (KeyError when there is none)."""
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(table_id)
