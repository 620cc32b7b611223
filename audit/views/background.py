"""Work started in a background thread that nothing waits on (imports ahead of need), and
the cycle collector's settings for a process that has done its imports."""

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


# Young objects collected after this many allocations instead of 700: a screen of the app
# allocates tens of thousands of objects that live as long as the screen, and at 700 the
# collector ran some 350 times while the dashboard, the case list and a case opened.
COLLECT_AFTER = (10_000, 10, 10)


def settle_heap() -> None:
    """For a long-running process whose libraries are imported (the app): freeze what
    exists, so that full collections no longer walk it, and collect young objects less
    often (`COLLECT_AFTER`).

    Measured in-process on the tests' inspection (start, dashboard, case list, a case):
    1.9 s of CPU, 0.6-0.8 s of it in 350 collections, became 1.1-1.4 s with 0.1 s in 20.
    Frozen objects are still freed by reference counting; only cycles among them are
    never collected, so call it once, after the imports, not per screen or per test."""
    gc.freeze()
    gc.set_threshold(*COLLECT_AFTER)
