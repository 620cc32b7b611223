"""statsmodels' `multipletests`, the reference for Holm and Benjamini-Hochberg, without
the `gc.collect()` it runs on every Holm call.

That full collection walks every object a test worker holds at that moment (far more
than the frozen imports, late in a run): the property tests call it hundreds of times,
which cost 20 s of CPU per suite run in one test alone. A collection changes no number.
"""

from __future__ import annotations

import gc
from typing import Any
from unittest import mock

from statsmodels.stats.multitest import multipletests as _multipletests


def multipletests(*args: Any, **kwargs: Any) -> Any:
    """`statsmodels.stats.multitest.multipletests`, its own `gc.collect()` skipped."""
    with mock.patch.object(gc, "collect", lambda *a, **k: 0):
        return _multipletests(*args, **kwargs)
