"""Publishing a compiled report: PDF, XLSX, Markdown and JSON files, recorded first.

Every report file the command line or the app writes goes through `publish_report`:
the renderers write under temporary names, the `report` event (who, when, which
samples, how many tables, the suppression threshold, the files) is committed, and only
then do the files get their names (`audit.disclosure`). The renderers themselves
(`write_pdf`, `write_xlsx`, `write_markdown`, `write_json`) only format a report into
the path they are given.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from audit import trail
from audit.disclosure import Disclosure
from audit.permissions import Actor, require
from audit.report.model import Report
from audit.store.engine import Database
from audit.store.models import utcnow
from audit.views.background import beside, in_background

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Published:
    """The files a report went to, by kind (markdown: every file of the folder)."""

    pdf: Path | None = None
    xlsx: Path | None = None
    markdown: tuple[Path, ...] = ()
    json: Path | None = None
    docx: Path | None = None

    @property
    def files(self) -> list[Path]:
        """Every file written, in order."""
        return [p for p in (self.pdf, self.xlsx, *self.markdown, self.json, self.docx)
                if p is not None]


def markdown_files(report: Report, folder: Path) -> list[Path]:
    """The files `write_markdown` writes into `folder`: one per table, then index.md."""
    from audit.report.markdown import table_filename

    return [*(Path(folder) / table_filename(i, t) for i, t in enumerate(report.tables, start=1)),
            Path(folder) / "index.md"]


def report_files(report: Report, *, pdf: Path | None = None, xlsx: Path | None = None,
                 markdown: Path | None = None, json: Path | None = None,
                 docx: Path | None = None) -> list[Path]:
    """The final paths a publication would write (for a face to ask about existing ones)."""
    out = [Path(p) for p in (pdf, xlsx) if p is not None]
    if markdown is not None:
        out += markdown_files(report, markdown)
    if json is not None:
        out.append(Path(json))
    if docx is not None:
        out.append(Path(docx))
    return out


def check_targets(*, pdf: Path | None = None, xlsx: Path | None = None,
                  markdown: Path | None = None, json: Path | None = None,
                  docx: Path | None = None, force: bool = False) -> None:
    """Refuse, before a long compilation, names that `publish_report` would refuse.

    The Markdown files are named after the tables, so only their folder is checked here;
    `publish_report` checks every name again.
    """
    files = [Path(p) for p in (pdf, xlsx, json, docx) if p is not None]
    with Disclosure(files, force=force, folders=[markdown] if markdown is not None else []):
        pass


def preload_writers(*, pdf: bool = False, docx: bool = False) -> threading.Thread:
    """Import the writers of the files asked for in a background thread, while the tables
    are compiled (reportlab, python-docx and PDFium: tenths of a second the database's
    reads leave the interpreter free for)."""

    def load() -> None:
        if pdf:
            import audit.report.pdf  # noqa: F401
        if docx:
            import pypdfium2  # noqa: F401

            import audit.report.docx  # noqa: F401

    return in_background(load, "import the report writers")


def publish_report(db: Database, report: Report, *, actor: Actor, pdf: Path | None = None,
                   xlsx: Path | None = None, markdown: Path | None = None,
                   json: Path | None = None, suppress_below: int | None = None,
                   force: bool = False, progress: Progress | None = None,
                   docx: Path | None = None, json_suppressed: bool = False) -> Published:
    """Write the report where asked, recorded in the trail before any file appears.

    `json` holds raw (unsuppressed) counts, like `iom-audit tables --json FILE`, unless
    `json_suppressed` (the tables as published, each withheld cell marked).
    """
    files = report_files(report, pdf=pdf, xlsx=xlsx, markdown=markdown, json=json, docx=docx)
    md_files = markdown_files(report, markdown) if markdown is not None else []
    threshold = report.meta.suppress_below if suppress_below is None else suppress_below
    with Disclosure(files, force=force,
                    folders=[markdown] if markdown is not None else []) as disclosure:

        def write(staged: Mapping[Path, Path]) -> None:
            _render(report, staged, pdf=pdf, xlsx=xlsx, markdown=md_files, json=json,
                    docx=docx, threshold=threshold, progress=progress,
                    json_suppressed=json_suppressed)

        def record(conn: sa.Connection, written: Sequence[Path]) -> None:
            require(conn, actor, "report")
            kinds = [k for k, p in (("pdf", pdf), ("xlsx", xlsx), ("markdown", markdown),
                                    ("json", json), ("docx", docx)) if p is not None]
            rule = (f"; disclosure={report.meta.disclosure}"
                    if report.meta.disclosure != "threshold" else "")
            shape = "" if json is None else (
                "; json=suppressed" if json_suppressed else "; json=raw counts")
            trail.record_many(conn, [{
                "at": utcnow(), "who": actor.name, "entity": "report",
                "key": str(written[0])[:200] if written else "", "field": ",".join(kinds),
                "new_value": (f"inspections={'; '.join(n for n, _ in report.meta.samples)}; "
                              f"tables={len(report.tables)}; suppress_below={threshold}"
                              f"{rule}{shape}; "
                              f"files={','.join(str(p) for p in written)}"),
            }])

        placed = disclosure.publish(db, write, record)
    by_final = dict(zip(files, placed, strict=True))
    return Published(
        pdf=by_final.get(Path(pdf)) if pdf is not None else None,
        xlsx=by_final.get(Path(xlsx)) if xlsx is not None else None,
        markdown=tuple(by_final[p] for p in md_files),
        json=by_final.get(Path(json)) if json is not None else None,
        docx=by_final.get(Path(docx)) if docx is not None else None)


def _render(report: Report, staged: Mapping[Path, Path], *, pdf: Path | None,
            xlsx: Path | None, markdown: Sequence[Path], json: Path | None, threshold: int,
            progress: Progress | None, docx: Path | None = None,
            json_suppressed: bool = False) -> None:
    """Run each renderer into its staged path."""
    raw = report
    if pdf is not None or xlsx is not None or markdown or docx is not None:
        from audit.report.suppression import suppress_report

        # Protected once for every published file; each writer finds it done.
        report = suppress_report(report, threshold)
    word: Callable[[], object] | None = None
    if docx is not None:
        from audit.report.docx import write_docx

        published, target = report, staged[Path(docx)]
        # The Word document is written on the second core (a forked copy of this process:
        # python-docx and the charts' pictures hold Python's lock) while this process
        # writes the other files; `beside` waits for it, and raises its error, below.
        word = beside(lambda: write_docx(published, target, suppress_below=threshold))
    try:
        _render_others(report, raw, staged, pdf=pdf, xlsx=xlsx, markdown=markdown,
                       json=json, threshold=threshold, progress=progress,
                       json_suppressed=json_suppressed)
    except BaseException:
        if word is not None:
            with contextlib.suppress(BaseException):  # this process's error is the one
                word()
        raise
    if word is not None:
        word()


def _render_others(report: Report, raw: Report, staged: Mapping[Path, Path], *,
                   pdf: Path | None, xlsx: Path | None, markdown: Sequence[Path],
                   json: Path | None, threshold: int, progress: Progress | None,
                   json_suppressed: bool) -> None:
    """Every renderer but Word's, into its staged path (`report` protected, `raw` not)."""
    if pdf is not None:
        from audit.report.pdf import write_pdf

        write_pdf(report, staged[Path(pdf)], suppress_below=threshold, progress=progress)
    if xlsx is not None:
        from audit.report.xlsx import write_xlsx

        write_xlsx(report, staged[Path(xlsx)], suppress_below=threshold)
    if markdown:
        from audit.report.markdown import write_markdown

        written = write_markdown(report, staged[markdown[-1]].parent, suppress_below=threshold)
        if [p.name for p in written] != [p.name for p in markdown]:
            raise RuntimeError("the Markdown files differ from the names checked")
    if json is not None:
        from audit.report.jsonout import write_json

        write_json(raw, staged[Path(json)],
                   suppress_below=threshold if json_suppressed else None)
