"""Bar charts: drawn from the table's rows, labelled, greyscale-distinct, sized to fit."""

from dataclasses import replace

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib.colors import Color

from audit.report.charts import SERIES_FILLS, hbar_chart, table_chart
from audit.report.model import Report
from audit.report.suppression import suppress


def _strings(drawing: Drawing) -> list[str]:
    return [s.text for s in drawing.getContents() if isinstance(s, String)]


def _bars(drawing: Drawing) -> list[Rect]:
    # Legend swatches are 10 wide; bars start at the plot's left edge.
    return [r for r in drawing.getContents() if isinstance(r, Rect) and r.height == 9.0]


def test_grouped_chart_has_a_legend_labels_and_values(report: Report) -> None:
    [drawing] = table_chart(report.table("factors_linked"), 480)
    text = _strings(drawing)
    assert "Thematic IOM sample" in text and "Core programme IOM cases" in text
    assert "Attitudes to offending" in text and "Accommodation" in text
    assert "44%" in text and "58%" in text and "100%" in text
    assert len(_bars(drawing)) == 16  # 8 factors x 2 samples
    pdf = renderPDF.drawToString(drawing)
    assert pdf.startswith(b"%PDF")


def test_single_series_chart_and_suppressed_values(report: Report) -> None:
    table = suppress(report.table("index_offence"), 5)
    [drawing] = table_chart(table, 480)
    text = _strings(drawing)
    assert "46%" in text and text.count("*") == 6  # six offences below five cases
    assert len(_bars(drawing)) == 3  # only the unsuppressed offences get a bar
    assert "Thematic IOM sample" not in text  # one series: no legend


def test_bar_length_is_proportional_to_the_value() -> None:
    drawing = hbar_chart(["a", "b"], [("s", [25.0, 100.0])], width=400)
    short, long = sorted(r.width for r in _bars(drawing))
    assert long == 4 * short


def test_series_fills_differ_in_luminance() -> None:
    def luminance(c: Color) -> float:
        return 0.299 * c.red + 0.587 * c.green + 0.114 * c.blue

    values = sorted(luminance(c) for c in SERIES_FILLS)
    assert all(b - a > 0.1 for a, b in zip(values, values[1:], strict=False))


def test_long_labels_wrap_and_height_grows_with_categories() -> None:
    long_label = "In relevant cases, does reviewing focus sufficiently on keeping other " \
                 "people safe and on supporting the service user's desistance?"
    one = hbar_chart([long_label], [("s", [50.0])], width=480)
    assert len([s for s in _strings(one) if s not in {"50%"} and "%" not in s]) >= 2
    many = hbar_chart([f"c{i}" for i in range(20)], [("s", [50.0] * 20)], width=480)
    few = hbar_chart([f"c{i}" for i in range(5)], [("s", [50.0] * 5)], width=480)
    assert many.height > 3 * few.height - 100


def test_heading_rows_are_left_out_and_no_chart_means_none(report: Report) -> None:
    profile = report.table("profile")
    assert table_chart(profile, 480) == []  # no chart asked for
    from audit.report.model import Chart

    charted = replace(profile, chart=Chart("hbar", "category", (("pct", "All"),)))
    [drawing] = table_chart(charted, 480)
    assert "Lead agency" not in _strings(drawing)
    assert "CRC" in _strings(drawing)


def test_a_tall_chart_is_split_to_fit(report: Report) -> None:
    comparison = report.table("iom_comparison")
    drawings = table_chart(comparison, 480, max_height=300)
    assert len(drawings) > 1
    assert all(d.height <= 300 for d in drawings)
    assert sum(len(_bars(d)) for d in drawings) == 28


def test_a_chart_whose_every_bar_is_suppressed_is_left_out(report: Report) -> None:
    table = report.table("index_offence")
    starred = replace(table, rows=tuple({**row, "pct": "*"} for row in table.rows))
    assert table_chart(table, 480)  # the same table with its numbers has a chart
    assert table_chart(starred, 480) == []
