"""Report: compile the tables and write the PDF and spreadsheet, with progress."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Input, Label, Log, ProgressBar, Select, Static
from textual.worker import get_current_worker

from audit.report.disclosure_rule import RULE_LABELS
from tui.screens.base import IomScreen
from tui.screens.modals import ConfirmModal


@dataclass
class ReportProgress(Message):
    """How far the build is; a newer one replaces an unprocessed older one."""

    done: int
    total: int
    label: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ReportProgress)


@dataclass
class ReportStep(Message):
    """A line for the log (a stage started or finished)."""

    text: str


@dataclass
class ReportDone(Message):
    paths: list[Path]


class Cancelled(Exception):
    """The person cancelled the build (raised from the progress callback)."""


@dataclass(frozen=True)
class ReportRequest:
    """What the form asks for: the files and the options of `iom-audit report`."""

    pdf: Path | None
    xlsx: Path | None
    docx: Path | None
    suppress: int
    disclosure: str
    marking: str
    organisation: str

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.pdf, self.xlsx, self.docx) if p is not None]


class ReportScreen(IomScreen):
    """Pick where the PDF, spreadsheet and Word files go and how counts are protected,
    then build them in a worker (the options of `iom-audit report`)."""

    PALETTE_GROUP = "Report"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+b", "build", "Build report", id="report.build", priority=True),
        Binding("ctrl+x", "cancel", "Cancel", id="report.cancel"),
        Binding("escape", "back", "Back", id="report.back"),
    ]

    def compose(self) -> ComposeResult:
        cwd = self.iom_app.report_dir
        yield Header()
        with Vertical(id="report-form"):
            yield Static("Tables of every inspection, with small counts suppressed. "
                         "[b]ctrl+b[/b] builds; you are asked before a file is replaced.",
                         classes="muted")
            yield Label("PDF file (empty: no PDF)")
            yield Input(str(cwd / "iom-audit-report.pdf"), id="pdf", compact=True)
            yield Label("Spreadsheet file (empty: no spreadsheet)")
            yield Input(str(cwd / "iom-audit-report.xlsx"), id="xlsx", compact=True)
            yield Label("Word file (empty: no Word document)")
            yield Input("", id="docx", compact=True,
                        placeholder=str(cwd / "iom-audit-report.docx"))
            with Horizontal(classes="report-options"):
                with Vertical():
                    yield Label("Disclosure rule")
                    yield Select([(label, code) for code, label in RULE_LABELS.items()],
                                 value="threshold", allow_blank=False, id="disclosure",
                                 compact=True)
                with Vertical():
                    yield Label("Suppress counts below")
                    yield Input("5", id="suppress", type="integer", compact=True)
            with Horizontal(classes="report-options"):
                with Vertical():
                    yield Label("Protective marking (every page)")
                    yield Input("", id="marking", compact=True,
                                placeholder="e.g. OFFICIAL-SENSITIVE")
                with Vertical():
                    yield Label("Organisation (title page)")
                    yield Input("", id="organisation", compact=True)
        # A total from the start: an indeterminate bar animates, even when idle.
        yield ProgressBar(total=1, id="report-progress", show_eta=False)
        yield Log(id="report-log", auto_scroll=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Report"

    def request(self) -> ReportRequest | None:
        """The form read, or None (and a notice) when it asks for nothing or is wrong."""
        def path(field: str) -> Path | None:
            text = self.query_one(f"#{field}", Input).value.strip()
            return Path(text) if text else None

        try:
            suppress = int(self.query_one("#suppress", Input).value or "5")
        except ValueError:
            self.notify("Suppression threshold must be a whole number.", severity="error")
            return None
        asked = ReportRequest(
            pdf=path("pdf"), xlsx=path("xlsx"), docx=path("docx"), suppress=suppress,
            disclosure=str(self.query_one("#disclosure", Select).value),
            marking=self.query_one("#marking", Input).value.strip(),
            organisation=self.query_one("#organisation", Input).value.strip())
        if not asked.files:
            self.notify("Name a PDF, a spreadsheet or a Word file.", severity="warning")
            return None
        for given, suffix in ((asked.pdf, ".pdf"), (asked.xlsx, ".xlsx"), (asked.docx, ".docx")):
            if given is not None and given.suffix.lower() != suffix:
                self.notify(f"{escape(str(given))} should end in {suffix}.", severity="error")
                return None
        return asked

    def action_build(self) -> None:
        asked = self.request()
        if asked is None:
            return
        from audit.disclosure import existing

        there = existing(asked.files)
        if not there:
            self.start(asked, force=False)
            return
        names = ", ".join(escape(str(p)) for p in there)

        def answered(replace: bool | None) -> None:
            if replace:
                self.start(asked, force=True)

        self.app.push_screen(ConfirmModal(f"Replace {names}?"), answered)

    def start(self, asked: ReportRequest, *, force: bool) -> None:
        """Clear the log and build in a worker thread."""
        self.query_one(Log).clear()
        self.query_one(ProgressBar).update(total=100, progress=0)
        self.build(asked, force)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report",
          description="Building the report")
    def build(self, asked: ReportRequest, force: bool) -> None:
        from audit.report.build import compile_report  # slow imports, only when asked
        from audit.report.publish import check_targets, publish_report

        worker = get_current_worker()

        def progress(done: int, total: int, label: str) -> None:
            if worker.is_cancelled:
                raise Cancelled
            self.post_message(ReportProgress(done, total, label))

        check_targets(pdf=asked.pdf, xlsx=asked.xlsx, docx=asked.docx,
                      force=force)  # before a long compilation
        self.post_message(ReportStep("Compiling the tables…"))
        report = compile_report(self.ws.db, actor=self.ws.actor, suppress_below=asked.suppress,
                                progress=progress, disclosure=asked.disclosure,
                                marking=asked.marking, organisation=asked.organisation,
                                command="iom-audit (app report screen)")
        self.post_message(ReportStep(f"{len(report.tables)} table(s) compiled."))
        self.post_message(ReportStep("Writing " + " and ".join(
            str(p) for p in asked.files) + "…"))
        # Recorded in the trail first; the files appear only then (audit/disclosure.py).
        done = publish_report(self.ws.db, report, actor=self.ws.actor, pdf=asked.pdf,
                              xlsx=asked.xlsx, docx=asked.docx,
                              suppress_below=report.meta.suppress_below, force=force,
                              progress=progress)
        self.post_message(ReportDone(done.files))

    @on(ReportProgress)
    def show_progress(self, message: ReportProgress) -> None:
        self.query_one(ProgressBar).update(total=message.total, progress=message.done)
        if message.label:
            self.query_one(Log).write_line(f"  {message.label}")

    @on(ReportStep)
    def show_step(self, message: ReportStep) -> None:
        self.query_one(Log).write_line(message.text)

    @on(ReportDone)
    def done(self, message: ReportDone) -> None:
        bar = self.query_one(ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        for path in message.paths:
            self.query_one(Log).write_line(f"Written: {path}")
        self.notify("Report written: " + ", ".join(str(p) for p in message.paths),
                    title="Report")

    def worker_error(self, worker: Any, error: BaseException) -> None:
        text = "Cancelled." if isinstance(error, Cancelled) else f"Failed: {error}"
        self.query_one(Log).write_line(text)

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "report")
        self.query_one(Log).write_line("Cancelling…")

    def action_back(self) -> None:
        # One escape leaves, even from a field being typed in.
        self.app.pop_screen()
