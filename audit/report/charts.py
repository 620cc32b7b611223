"""Horizontal bar charts as reportlab ``Drawing``s, readable in greyscale.

Bars are drawn with plain shapes rather than reportlab's chart widgets, which
cannot wrap long category labels (the questions of Figure 5.2 run to 150
characters). Series fills differ in lightness, not only hue, and every bar carries
its value, so a greyscale print loses nothing.
"""

import math
from collections.abc import Sequence

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from audit.formatting import MISSING, format_pct, format_pp, is_missing
from audit.report.model import BOLD, WHOLE_ROW, ReportTable
from audit.report.text import winansi

# Dark navy, light blue, mid blue, pale grey: far apart in luminance, in that order.
SERIES_FILLS = (
    colors.HexColor("#1F3864"),
    colors.HexColor("#9DC3E6"),
    colors.HexColor("#4A78B5"),
    colors.HexColor("#E7E6E6"),
)
_INK = colors.HexColor("#262626")
_GRID = colors.HexColor("#BFBFBF")
_FONT = "Helvetica"
_BOLD = "Helvetica-Bold"
_LABEL_SIZE = 7.5
_VALUE_SIZE = 7
_BAR_H = 9.0
_GAP = 7.0  # between categories
_MAX_LABEL_LINES = 4

BarValue = float | int | str | None


def _wrap(text: str, width: float) -> list[str]:
    """Wrap a category label to the label column, at most four lines."""
    lines = simpleSplit(winansi(text), _FONT, _LABEL_SIZE, width) or [""]
    if len(lines) > _MAX_LABEL_LINES:
        lines = lines[:_MAX_LABEL_LINES]
        last = lines[-1]
        while last and stringWidth(last + "…", _FONT, _LABEL_SIZE) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


def _label_width(width: float) -> float:
    return min(170.0, width * 0.36)


def _slot_heights(categories: Sequence[str], width: float, n_series: int) -> list[float]:
    """The height each category's group of bars needs (labels may wrap)."""
    group_h = n_series * _BAR_H + (n_series - 1) * 1.5
    line_h = _LABEL_SIZE + 1.5
    return [max(group_h, len(_wrap(c, _label_width(width))) * line_h) + _GAP
            for c in categories]


def _chunks(slots: list[float], room: float) -> list[range]:
    """Split categories into runs whose bars fit in ``room`` points."""
    runs: list[range] = []
    start, used = 0, 0.0
    for index, slot in enumerate(slots):
        if index > start and used + slot > room:
            runs.append(range(start, index))
            start, used = index, 0.0
        used += slot
    runs.append(range(start, len(slots)))
    return runs


def _legend(series: Sequence[str], width: float) -> list[list[tuple[float, str, int]]]:
    """Lay out legend entries in rows: [(x, label, series index)]."""
    rows: list[list[tuple[float, str, int]]] = [[]]
    x = 0.0
    for index, label in enumerate(series):
        text = winansi(label)
        item_w = 14 + stringWidth(text, _FONT, _LABEL_SIZE) + 14
        if rows[-1] and x + item_w > width:
            rows.append([])
            x = 0.0
        rows[-1].append((x, text, index))
        x += item_w
    return rows


def hbar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[BarValue]]],
    *,
    width: float,
    title: str = "",
    value_max: float = 100.0,
) -> Drawing:
    """Horizontal bars of percentages, one group of bars per category.

    ``series`` is ``[(legend label, values)]`` with one value per category; a
    legend is drawn when there is more than one series. A value that is not a
    number (the suppression marker "*", or None) draws no bar, only its marker.
    """
    label_w = _label_width(width)
    value_room = 26.0  # for the "100%" label past the longest bar
    plot_x = label_w + 8
    plot_w = max(width - plot_x - value_room, 40.0)
    n_series = max(len(series), 1)
    group_h = n_series * _BAR_H + (n_series - 1) * 1.5

    wrapped = [_wrap(c, label_w) for c in categories]
    line_h = _LABEL_SIZE + 1.5
    slot_hs = [max(group_h, len(lines) * line_h) + _GAP for lines in wrapped]

    legend_rows = _legend([s[0] for s in series], plot_w) if n_series > 1 else []
    title_h = 16.0 if title else 0.0
    legend_h = 13.0 * len(legend_rows)
    axis_h = 16.0
    height = title_h + legend_h + sum(slot_hs) + axis_h + 4
    drawing = Drawing(width, height)

    y = height
    if title:
        y -= 11
        drawing.add(String(0, y, winansi(title), fontName=_BOLD, fontSize=9, fillColor=_INK))
        y -= 5
    for row in legend_rows:
        y -= 11
        for x, text, index in row:
            fill = SERIES_FILLS[index % len(SERIES_FILLS)]
            drawing.add(Rect(plot_x + x, y, 10, 8, fillColor=fill, strokeColor=_INK,
                             strokeWidth=0.4))
            drawing.add(String(plot_x + x + 14, y + 1, text, fontName=_FONT,
                               fontSize=_LABEL_SIZE, fillColor=_INK))
        y -= 2

    plot_top = y - 2
    plot_bottom = axis_h
    # Gridlines and the percentage axis first, so bars are drawn over them.
    steps = 4 if value_max % 4 == 0 else 5
    for i in range(steps + 1):
        tick = value_max * i / steps
        x = plot_x + plot_w * i / steps
        drawing.add(Line(x, plot_bottom, x, plot_top, strokeColor=_GRID, strokeWidth=0.4))
        drawing.add(String(x, plot_bottom - 10, format_pct(tick), fontName=_FONT,
                           fontSize=_VALUE_SIZE, fillColor=_INK, textAnchor="middle"))
    drawing.add(Line(plot_x, plot_bottom, plot_x, plot_top, strokeColor=_INK, strokeWidth=0.6))

    y = plot_top
    for index, lines in enumerate(wrapped):
        slot_h = slot_hs[index]
        centre = y - slot_h / 2
        text_top = centre + (len(lines) * line_h) / 2 - _LABEL_SIZE
        for k, line in enumerate(lines):
            drawing.add(String(label_w, text_top - k * line_h, line, fontName=_FONT,
                               fontSize=_LABEL_SIZE, fillColor=_INK, textAnchor="end"))
        bar_y = centre + group_h / 2 - _BAR_H
        for s_index, (_label, values) in enumerate(series):
            value = values[index] if index < len(values) else None
            fill = SERIES_FILLS[s_index % len(SERIES_FILLS)]
            if isinstance(value, int | float) and not is_missing(value):
                share = max(0.0, min(float(value), value_max)) / value_max
                bar_w = plot_w * share
                drawing.add(Rect(plot_x, bar_y, bar_w, _BAR_H, fillColor=fill,
                                 strokeColor=_INK, strokeWidth=0.3))
                text = format_pct(value)
                end = plot_x + bar_w + 2
            else:
                text = value if isinstance(value, str) and value else MISSING
                end = plot_x + 2
            drawing.add(String(end, bar_y + 2, winansi(text), fontName=_FONT,
                               fontSize=_VALUE_SIZE, fillColor=_INK))
            bar_y -= _BAR_H + 1.5
        y -= slot_h
    return drawing


def is_total_row(table: ReportTable, row_index: int) -> bool:
    """A total row (a whole row in bold, or labelled "Total"): never a bar of its own, as
    it would always read 100%."""
    if table.style_of(row_index, WHOLE_ROW) == BOLD:
        return True
    row = table.rows[row_index]
    first = row.get(table.columns[0].id) if table.columns else None
    return isinstance(first, str) and first.strip().casefold() == "total"


Point = tuple[BarValue, BarValue, BarValue]  # value, interval low, interval high


def _number(value: BarValue) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and not is_missing(value):
        return float(value)
    return None


def _diff_limit(points: Sequence[Point]) -> float:
    """A symmetric axis limit, in steps of 10 points, covering every interval."""
    widest = max((abs(v) for p in points for v in map(_number, p) if v is not None),
                 default=10.0)
    return max(10.0, 20.0 * math.ceil(widest / 20.0) if widest > 30 else
               10.0 * math.ceil(widest / 10.0))


def diff_chart(categories: Sequence[str], points: Sequence[Point], *, width: float,
               title: str = "", legend: str = "", limit: float = 20.0) -> Drawing:
    """Differences in percentage points as dots on a zero line, each with its 95% interval.

    A point with no value (suppressed or not computable) draws only the marker, so a
    missing difference is never read as zero.
    """
    label_w = _label_width(width)
    value_room = 96.0  # for "+10.3 (4.1 to 16.4)" right of the plot
    plot_x = label_w + 8
    plot_w = max(width - plot_x - value_room, 60.0)
    wrapped = [_wrap(c, label_w) for c in categories]
    line_h = _LABEL_SIZE + 1.5
    slot_hs = [max(_BAR_H, len(lines) * line_h) + _GAP for lines in wrapped]
    title_h = 16.0 if title else 0.0
    legend_h = 13.0 if legend else 0.0
    axis_h = 16.0
    height = title_h + legend_h + sum(slot_hs) + axis_h + 4
    drawing = Drawing(width, height)

    def x_of(value: float) -> float:
        share = (max(-limit, min(value, limit)) + limit) / (2 * limit)
        return plot_x + plot_w * share

    y = height
    if title:
        y -= 11
        drawing.add(String(0, y, winansi(title), fontName=_BOLD, fontSize=9, fillColor=_INK))
        y -= 5
    if legend:
        y -= 11
        drawing.add(Line(plot_x, y + 4, plot_x + 14, y + 4, strokeColor=_INK, strokeWidth=0.8))
        drawing.add(Rect(plot_x + 5, y + 2, 4, 4, fillColor=SERIES_FILLS[0], strokeColor=_INK,
                         strokeWidth=0.4))
        drawing.add(String(plot_x + 18, y + 1, winansi(f"{legend} (line: 95% interval)"),
                           fontName=_FONT, fontSize=_LABEL_SIZE, fillColor=_INK))
        y -= 2
    plot_top = y - 2
    plot_bottom = axis_h
    step = 10.0 if limit <= 30 else 20.0
    ticks = [k * step for k in range(-int(limit // step), int(limit // step) + 1)]
    for tick in ticks:
        x = x_of(tick)
        drawing.add(Line(x, plot_bottom, x, plot_top, strokeColor=_GRID, strokeWidth=0.4))
        drawing.add(String(x, plot_bottom - 10, format_pp(tick, 0), fontName=_FONT,
                           fontSize=_VALUE_SIZE, fillColor=_INK, textAnchor="middle"))
    drawing.add(Line(x_of(0.0), plot_bottom, x_of(0.0), plot_top, strokeColor=_INK,
                     strokeWidth=0.8))
    y = plot_top
    for (value, low, high), lines, slot_h in zip(points, wrapped, slot_hs, strict=True):
        centre = y - slot_h / 2
        text_top = centre + (len(lines) * line_h) / 2 - _LABEL_SIZE
        for k, line in enumerate(lines):
            drawing.add(String(label_w, text_top - k * line_h, line, fontName=_FONT,
                               fontSize=_LABEL_SIZE, fillColor=_INK, textAnchor="end"))
        v, lo, hi = _number(value), _number(low), _number(high)
        if lo is not None and hi is not None:
            drawing.add(Line(x_of(lo), centre, x_of(hi), centre, strokeColor=_INK,
                             strokeWidth=0.8))
            for end in (lo, hi):
                drawing.add(Line(x_of(end), centre - 2.5, x_of(end), centre + 2.5,
                                 strokeColor=_INK, strokeWidth=0.8))
        if v is not None:
            drawing.add(Rect(x_of(v) - 2.5, centre - 2.5, 5, 5, fillColor=SERIES_FILLS[0],
                             strokeColor=_INK, strokeWidth=0.4))
            text = format_pp(v)
            if lo is not None and hi is not None:
                text += f" ({format_pp(lo)} to {format_pp(hi)})"
        else:
            text = value if isinstance(value, str) and value else MISSING
        drawing.add(String(plot_x + plot_w + 6, centre - 2.5, winansi(text), fontName=_FONT,
                           fontSize=_VALUE_SIZE, fillColor=_INK))
        y -= slot_h
    return drawing


def table_chart(table: ReportTable, width: float,
                max_height: float | None = None) -> list[Drawing]:
    """The chart a table asks for (``table.chart``), drawn from its rows.

    Sub-heading rows and rows with no value in any series are left out; an
    ``hbar`` chart uses only the first series. A chart taller than ``max_height``
    is split into several drawings, each with its own legend and axis, rather
    than shrunk until it cannot be read. Returns [] when there is nothing to draw.
    """
    chart = table.chart
    if chart is None:
        return []
    specs = chart.series[:1] if chart.kind in ("hbar", "diff") else chart.series
    keep = [
        i for i, row in enumerate(table.rows)
        if not table.is_heading_row(i) and not is_total_row(table, i)
        and any(not is_missing(row.get(c)) for c, _ in specs)
    ]
    if not keep or not specs:
        return []
    if not any(_number(table.rows[i].get(c)) is not None for i in keep for c, _ in specs):
        return []  # every bar suppressed: a chart of stars says nothing the table does not
    categories = [str(table.rows[i].get(chart.category) or "") for i in keep]
    if chart.kind == "diff":
        column, label = specs[0]
        low, high = chart.interval or (column, column)
        points = [(table.rows[i].get(column), table.rows[i].get(low), table.rows[i].get(high))
                  for i in keep]
        runs = [range(len(categories))]
        if max_height is not None:
            runs = _chunks(_slot_heights(categories, width, 1), max_height - 60.0)
        limit = _diff_limit(points)
        return [diff_chart([categories[i] for i in run], [points[i] for i in run],
                           width=width, title=chart.title, legend=label, limit=limit)
                for run in runs]
    series = [(label, [table.rows[i].get(column) for i in keep]) for column, label in specs]
    runs = [range(len(categories))]
    if max_height is not None:
        overhead = 16.0 + 13.0 * len(specs) + 20.0 + 4  # title, legend rows, axis
        runs = _chunks(_slot_heights(categories, width, len(specs)), max_height - overhead)
    return [
        hbar_chart([categories[i] for i in run],
                   [(label, [values[i] for i in run]) for label, values in series],
                   width=width, title=chart.title, value_max=chart.value_max)
        for run in runs
    ]
