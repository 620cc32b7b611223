"""Work started in a background thread that nothing waits on (imports ahead of need)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def in_background(target: Callable[[], object], name: str) -> threading.Thread:
    """Run `target` in a daemon thread (it never holds up the process's exit); return it."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


_pauses = 0
_enable_after = False
_pause_lock = threading.Lock()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cycle collector off while the block runs, e.g. while a library stack
    imports: pandas, scipy and statsmodels make some 200,000 objects that live as long as
    the process and none that is garbage, and each full collection meanwhile walks them
    all again (0.15-0.25 s of a comparison's imports). Blocks may overlap across threads:
    the collector comes back on when the last one ends, if it was on before the first."""
    global _pauses, _enable_after
    with _pause_lock:
        if _pauses == 0:
            _enable_after = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _enable_after:
                gc.enable()
