"""`audit.views.background.beside`: work on a second core, its result or error handed back."""

from __future__ import annotations

import os
import threading

import pytest

from audit.views.background import beside


def test_the_result_comes_back_from_the_copy() -> None:
    wait = beside(lambda: (os.getpid(), [1, 2, 3]))
    pid, values = wait()
    assert values == [1, 2, 3]
    assert pid != os.getpid()  # a forked copy did the work (Linux, main thread)


def test_the_copys_error_is_raised_as_it_was() -> None:
    def fail() -> None:
        raise OSError(28, "No space left on device")

    wait = beside(fail)
    with pytest.raises(OSError, match="No space left"):
        wait()


def test_a_copy_that_dies_is_named() -> None:
    wait = beside(lambda: os._exit(3))
    with pytest.raises(RuntimeError, match="exit status 3"):
        wait()


def test_off_the_main_thread_the_work_runs_in_place() -> None:
    seen: list[object] = []

    def worker() -> None:
        wait = beside(lambda: os.getpid())
        seen.append(wait())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [os.getpid()]
