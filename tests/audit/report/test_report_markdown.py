"""The Markdown export: one file per table, escaped text, suppressed small numbers."""

from pathlib import Path

from audit.report.markdown import escape_md, table_markdown, write_markdown
from audit.report.model import Report


def test_one_file_per_table_and_an_index(report: Report, tmp_path: Path) -> None:
    paths = write_markdown(report, tmp_path / "md", suppress_below=5)
    names = [p.name for p in paths]
    assert names[0] == "01_profile.md" and names[-1] == "index.md"
    assert len(paths) == len(report.tables) + 1
    index = (tmp_path / "md" / "index.md").read_text(encoding="utf-8")
    for table, name in zip(report.tables, names, strict=False):
        assert f"]({name})" in index
        assert table.figure in index
    assert report.meta.command in index


def test_caption_heading_pipe_table_and_footnotes(report: Report) -> None:
    text = table_markdown(report.table("factors_linked"))
    lines = text.splitlines()
    assert lines[0].startswith("# Figure 4.3: The factors most linked to the service user’s")
    assert "| Factor | Thematic IOM sample: Number | Thematic IOM sample: Percentage |" in text
    assert "| :--- | ---: | ---: | ---: | ---: |" in text
    assert "| Attitudes to offending | 26 | 44% | 156 | 58% |" in text
    assert "[^1]: A case may have more than one factor linked to offending." in text
    assert "[^1]" in lines[0]


def test_suppressed_cells_show_a_star(report: Report, tmp_path: Path) -> None:
    write_markdown(report, tmp_path, suppress_below=5)
    profile = (tmp_path / "01_profile.md").read_text(encoding="utf-8")
    assert "| Low | \\* | \\* |" in profile
    assert "fewer than 5 cases" in profile
    unsuppressed = tmp_path / "off"
    write_markdown(report, unsuppressed, suppress_below=0)
    assert "| Low | 2 | 3% |" in (unsuppressed / "01_profile.md").read_text(encoding="utf-8")


def test_hostile_text_cannot_break_the_table(report: Report) -> None:
    text = table_markdown(report.table("site_ratings"))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    # Every row has exactly the four cells of the header: no pipe or newline leaked.
    cells = {len(line.replace("\\|", "").split("|")) for line in rows}
    assert cells == {6}
    assert "Pipe \\| and newline" in text
    assert "&lt;b&gt;unclosed" in text and "<b>" not in text
    assert "Smith &amp; Co" in text
    assert "=cmd\\|' /C calc'!A0" in text


def test_escape_md() -> None:
    assert escape_md("a|b\nc *d* _e_ <x> & [l](u)") == (
        "a\\|b c \\*d\\* \\_e\\_ &lt;x&gt; &amp; \\[l\\](u)")


def test_shaded_and_bold_cells_are_marked(report: Report) -> None:
    comparison = table_markdown(report.table("iom_comparison"))
    assert "| 78% † | 268 |" in comparison
    assert "| 72% | 267 |" in comparison
    assert "| **All cases** | **60** | **100%** |" in table_markdown(report.table("profile"))
