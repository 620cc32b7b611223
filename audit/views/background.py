"""Work started beside the caller's: in a background thread that nothing waits on
(imports ahead of need), or in a forked copy of the process (`beside`, a second core for
work that holds Python's lock); and the cycle collector's settings for a process that has
done its imports (`settle_heap`)."""

from __future__ import annotations

import gc
import os
import pickle
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

# The threads `in_background` started, so that `beside` can let them finish first.
_STARTED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
_started_lock = threading.Lock()


def in_background(target: Callable[[], object], name: str) -> threading.Thread:
    """Run `target` in a daemon thread (it never holds up the process's exit); return it."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _started_lock:
        _STARTED.add(thread)
    thread.start()
    return thread


def settle() -> None:
    """Wait for every thread `in_background` started (an import, a read) to end."""
    with _started_lock:
        running = [t for t in _STARTED if t.is_alive()]
    for thread in running:
        thread.join()


def beside(work: Callable[[], T]) -> Callable[[], T]:
    """Start `work` in a forked copy of this process; return the function that waits for
    it and returns its result or raises its error (either pickled back to this process),
    or a RuntimeError naming how the copy stopped.

    The copy is made only on Linux and from the main thread, after the background threads
    of `in_background` have ended (a thread importing a module at the moment of the fork
    would leave the copy a half-made module and a lock nobody frees); anywhere else
    `work` runs here and now, and the function returned only hands on its outcome. The
    copy writes to standard output and error through streams of its own (a progress
    display's thread may hold the parent's), touches no database connection, and leaves
    by `os._exit`: nothing of the parent's (its database pool, its atexit work) runs in
    it.
    """
    if not (sys.platform.startswith("linux")
            and threading.current_thread() is threading.main_thread()):
        return _done_here(work)
    settle()
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy
        os.close(read_end)
        _run_copy(work, write_end)  # never returns
    os.close(write_end)

    def wait() -> T:
        with os.fdopen(read_end, "rb") as pipe:
            sent = pipe.read()
        _, status = os.waitpid(pid, 0)
        if sent:
            ok, outcome = pickle.loads(sent)
            if not ok:
                raise outcome
            return outcome
        code = os.waitstatus_to_exitcode(status)
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        raise RuntimeError(f"the work started beside this process stopped ({how})")

    return wait


def _done_here(work: Callable[[], T]) -> Callable[[], T]:
    try:
        result = work()
    except BaseException as exc:  # handed on by the function returned, as `beside` does
        error = exc

        def fail() -> T:
            raise error

        return fail
    return lambda: result


def _run_copy(work: Callable[[], Any], write_end: int) -> None:
    # No cycle collection in the copy: it could finalise the parent's objects that are
    # garbage there, a database connection among them (SQLite's last close of a
    # connection checkpoints and removes the write-ahead log the parent still uses).
    gc.disable()
    code = 0
    try:
        sys.stdout, sys.stderr = _stream(1), _stream(2)
        outcome: tuple[bool, Any]
        try:
            outcome = (True, work())
        except BaseException as exc:
            outcome = (False, exc)
        try:
            sent = pickle.dumps(outcome)
        except Exception as exc:  # an error that cannot be pickled is sent as its words
            what = outcome[1] if not outcome[0] else exc
            sent = pickle.dumps((False, RuntimeError(f"{type(what).__name__}: {what}")))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(sent)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _stream(fd: int) -> TextIO:
    """A text stream of its own on `fd` (else on the null device)."""
    try:
        return open(fd, "w", closefd=False)  # noqa: SIM115 - closed by os._exit
    except OSError:
        return open(os.devnull, "w")  # noqa: SIM115


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
