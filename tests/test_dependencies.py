"""Every package the app imports at run time is one `make run` installs.

`make run` installs the project without its test or development extras, so a module
that only arrives with them (click did, through an older typer) breaks a new user's first
run while the whole suite passes. This walks the runtime packages' imports and maps each
to the distribution providing it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ("audit", "cli", "tui", "stats", "question_sets")
# Imported only behind a guard, for an optional extra or another platform.
OPTIONAL = {"sqlcipher3", "msvcrt"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0] for dep in project["dependencies"]}
    return {n.lower().replace("_", "-") for n in names}


def _imported() -> set[str]:
    found: set[str] = set()
    for package in RUNTIME:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - set(RUNTIME) - OPTIONAL - {"__future__"}


def test_every_runtime_import_is_a_declared_dependency() -> None:
    providers = packages_distributions()
    declared = _declared()
    # Packages the declared ones bring with them (reportlab's Pillow, say) are not enough:
    # a module the code imports by name must be declared by name.
    missing = {module: providers.get(module, ["?"])
               for module in sorted(_imported())
               if not {d.lower().replace("_", "-") for d in providers.get(module, [])}
               & declared}
    assert missing == {}
