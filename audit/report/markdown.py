"""The report as Markdown: one file per table plus an index, for review and the web.

Tables are GitHub pipe tables. Markdown has no spanning headers, so a column's
group is folded into its header ("Thematic IOM sample: Number"). User text is
escaped so that a pipe cannot split a cell, a newline cannot end the table, and
HTML or emphasis characters show as typed.
"""

import re
from pathlib import Path

from audit.report.model import BOLD, SHADE, Report, ReportTable
from audit.report.suppression import small_numbers_text, suppress_report
from audit.report.text import SHADING_LEGEND, format_cell, software_label, table_footnotes

_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


def escape_md(text: str) -> str:
    """Escape text for a Markdown table cell or paragraph."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return " ".join(text.split())  # newlines (and runs of spaces) would break a table row


def table_filename(index: int, table: ReportTable) -> str:
    """"03_factors_linked.md" for the third table; ids are made filename-safe."""
    return f"{index:02d}_{_SAFE_ID.sub('_', table.id) or 'table'}.md"


def _header(table: ReportTable) -> list[str]:
    return [escape_md(f"{c.group}: {c.label}" if c.group else c.label) or " "
            for c in table.columns]


def table_markdown(table: ReportTable) -> str:
    """One table as a Markdown document: heading, pipe table, footnotes."""
    notes = table_footnotes(table)
    if table.has_shading():
        notes.append(SHADING_LEGEND)
    refs = "".join(f"[^{i}]" for i in range(1, len(notes) + 1))
    lines = [f"# {escape_md(table.title)}{refs}", ""]
    if table.section:
        lines += [f"*{escape_md(table.section)}*", ""]
    lines.append("| " + " | ".join(_header(table)) + " |")
    lines.append("| " + " | ".join("---:" if c.numeric else ":---" for c in table.columns)
                 + " |")
    for r, row in enumerate(table.rows):
        if table.is_heading_row(r):
            text = next((str(row[c.id]) for c in table.columns if row.get(c.id)), "")
            cells = [f"**{escape_md(text)}**"] + [""] * (len(table.columns) - 1)
        else:
            cells = []
            for column in table.columns:
                text = escape_md(format_cell(row.get(column.id), column.kind))
                style = table.style_of(r, column.id)
                if style == SHADE:
                    text += " †"
                elif style == BOLD and text:
                    text = f"**{text}**"
                cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"[^{i}]: {escape_md(note)}" for i, note in enumerate(notes, start=1)]
    return "\n".join(lines).rstrip() + "\n"


def _fence(code: str) -> str:
    """A fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{code}\n{fence}"


def _index(report: Report, names: list[str], threshold: int | None) -> str:
    meta = report.meta
    lines = [f"# {escape_md(meta.title)}", ""]
    if meta.subtitle:
        lines += [escape_md(meta.subtitle), ""]
    lines += [f"Generated {meta.generated_at.isoformat(timespec='seconds')} by "
              f"{escape_md(software_label(meta.software_version))}.", "", "## Contents", ""]
    lines += [f"- [{escape_md(t.title)}]({name})"
              for t, name in zip(report.tables, names, strict=True)]
    lines += ["", "## Methods", "", "| Sample | Cases |", "| :--- | ---: |"]
    lines += [f"| {escape_md(label)} | {format_cell(n, 'count')} |" for label, n in meta.samples]
    lines.append("")
    lines += [escape_md(text) + "\n" for text in meta.methods]
    rule = small_numbers_text(meta, threshold)
    lines += [f"Small numbers: {escape_md(rule)}", "",
              "Question sets: " + escape_md(", ".join(meta.question_sets) or "–"), "",
              "To regenerate this report:", "", _fence(meta.command)]
    return "\n".join(lines) + "\n"


def write_markdown(report: Report, out_dir: Path | str, *,
                   suppress_below: int | None = None) -> list[Path]:
    """Write ``NN_<id>.md`` per table and ``index.md``; return the paths written.

    ``suppress_below`` defaults to ``report.meta.suppress_below``.
    """
    threshold = report.meta.suppress_below if suppress_below is None else suppress_below
    published = suppress_report(report, threshold)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    names = [table_filename(i, t) for i, t in enumerate(published.tables, start=1)]
    paths: list[Path] = []
    for name, table in zip(names, published.tables, strict=True):
        path = folder / name
        path.write_text(table_markdown(table), encoding="utf-8")
        paths.append(path)
    index = folder / "index.md"
    index.write_text(_index(published, names, threshold), encoding="utf-8")
    return [*paths, index]
