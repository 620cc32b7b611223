"""Make ``question_sets`` and ``audit`` the real packages in these tests, not test folders.

The editable install resolves packages through a meta-path finder that runs after
the normal path search, and pytest's default "prepend" import mode puts ``tests/`` on
``sys.path``. So ``import question_sets`` finds ``tests/question_sets/`` first and
makes it a namespace package: ``question_sets/__init__.py`` never runs (likewise
``audit`` and ``tests/audit/``). Putting the project root first on the path lets the
regular packages win. The lasting fix is ``pythonpath = ["."]`` in pytest's settings.
"""

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
for _name in ("question_sets", "audit"):
    _loaded = sys.modules.get(_name)
    if _loaded is not None and getattr(_loaded, "__file__", None) is None:
        del sys.modules[_name]  # a namespace package made from a test folder
        importlib.import_module(_name)
