"""Make ``question_sets`` the real package in these tests, not this folder.

The editable install resolves packages through a meta-path finder that runs after
the normal path search, and pytest's default "prepend" import mode puts ``tests/`` on
``sys.path``. So ``import question_sets`` finds ``tests/question_sets/`` first and
makes it a namespace package, and ``question_sets/__init__.py`` never runs. Putting
the project root first on the path lets the regular package win. (The lasting fix is
``pythonpath = ["."]`` in pytest's settings in pyproject.toml.)
"""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_loaded = sys.modules.get("question_sets")
if _loaded is not None and getattr(_loaded, "__file__", None) is None:
    del sys.modules["question_sets"]
    importlib.import_module("question_sets")
