"""The presentation layer of the report: table objects to PDF, XLSX, Markdown and JSON.

Build a ``Report`` of ``ReportTable``s (``audit.report.model``) and hand it to a
renderer. The renderers (reportlab, openpyxl) load lazily, on first use, so that
importing the model costs the command line nothing.
"""

from typing import TYPE_CHECKING, Any

from audit.report.jsonout import report_to_json, write_json
from audit.report.model import Chart, Column, Report, ReportMeta, ReportTable

if TYPE_CHECKING:
    from audit.report.docx import write_docx
    from audit.report.markdown import write_markdown
    from audit.report.pdf import write_pdf
    from audit.report.suppression import suppress, suppress_report
    from audit.report.xlsx import write_xlsx

_LAZY = {"write_pdf": "audit.report.pdf", "write_xlsx": "audit.report.xlsx",
         "write_markdown": "audit.report.markdown", "write_docx": "audit.report.docx",
         # Suppression loads scipy's solvers: not for a screen that only names the rules.
         "suppress": "audit.report.suppression", "suppress_report": "audit.report.suppression"}

__all__ = [
    "Chart", "Column", "Report", "ReportMeta", "ReportTable", "report_to_json",
    "suppress", "suppress_report", "write_json",
    "write_docx", "write_markdown", "write_pdf", "write_xlsx",
]


def __getattr__(name: str) -> Any:
    """Import a renderer or the suppression on first use (reportlab, openpyxl and
    scipy.optimize are slow to load)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'audit.report' has no attribute {name!r}")
