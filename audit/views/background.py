"""Work started in a background thread that nothing waits on (imports ahead of need)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_background(target: Callable[[], object], name: str) -> threading.Thread:
    """Run `target` in a daemon thread (it never holds up the process's exit); return it."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread
