"""The presentation layer stays free of the UI and the database, and loads lazily."""

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return set(out.stdout.split())


def test_renderers_import_no_ui_and_no_database() -> None:
    loaded = _modules_after(
        "import audit.report.pdf, audit.report.xlsx, audit.report.markdown, "
        "audit.report.jsonout, audit.report.charts, audit.report.suppression")
    roots = {name.split(".")[0] for name in loaded}
    assert not roots & {"textual", "tui", "sqlalchemy", "sqlmodel", "psycopg", "alembic"}


def test_model_and_json_do_not_load_reportlab_or_openpyxl() -> None:
    loaded = _modules_after("import audit.report; audit.report.Report; audit.report.report_to_json")
    assert "reportlab" not in loaded and "openpyxl" not in loaded and "pandas" not in loaded


def test_renderers_load_on_first_use() -> None:
    import audit.report
    from audit.report.pdf import write_pdf

    assert audit.report.write_pdf is write_pdf
