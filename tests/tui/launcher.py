"""Start the real app in a pseudo-terminal many times without paying for start-up each time.

`iom-audit` spends most of a second of CPU starting the interpreter and importing
typer, textual and the app before it does anything. A test that starts the app dozens
of times (tests/tui/test_app_kills.py) runs one `Launcher`: a plain Python process, started
once with the test's environment, that imports `cli.main` and `tui.app` and then, per
request, forks a child in a new pseudo-terminal that runs `cli.main.main()` with the
given arguments, exactly as the console script does (same entry point, same argv,
environment, working directory and terminal; it exits through the interpreter as usual).
Only the imports are shared; nothing the app does at start-up is done in advance.

The launcher also imports what the app imports in a background thread once no key has
come for a second (`preload_comparison`: pandas, numpy and scipy.special, for the
comparison view). Each app of test_app_kills.py waits at its dashboard while the one
before it is driven, so each did that import, about 0.7 s of CPU; the app still runs
the preload, which finds the modules loaded and reads the question sets.

The launcher is the app's parent, so it reaps it: `Launcher.wait` reports how the app
ended. The pty's master side is passed back over a Unix socket (SCM_RIGHTS).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.cli_launcher import stop

ROOT = Path(__file__).resolve().parents[2]

# Run by the launcher process; its argument is the file descriptor of its end of the socket.
SERVER = r"""
import json, os, pty, socket, sys
from cli.main import main
import tui.app  # noqa: F401 - what the bare command imports to open the app
import textual.drivers.linux_driver  # noqa: F401
# What the idle app imports in the background (preload_comparison): the imports only,
# the app still reads the question sets itself.
import audit.views.analysis, audit.views.tally, stats.aggregate  # noqa: F401, E401
sock = socket.socket(fileno=int(sys.argv[1]))
reader = sock.makefile("r", encoding="utf-8")
for line in reader:
    request = json.loads(line)
    if request["op"] == "spawn":
        pid, fd = pty.fork()
        if pid == 0:  # the app: the launcher's copies of its plumbing are not its own
            reader.close()
            sock.close()
            os.environ.clear()
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            sys.argv = ["iom-audit", *request["argv"]]
            main()  # sys.exit() from here ends the process the usual way
            sys.exit(0)
        socket.send_fds(sock, [json.dumps({"pid": pid}).encode() + b"\n"], [fd])
        os.close(fd)
    else:  # wait: how the app ended (None while it runs, with "nohang")
        pid, status = os.waitpid(request["pid"], os.WNOHANG if request["nohang"] else 0)
        code = os.waitstatus_to_exitcode(status) if pid else None
        sock.sendall(json.dumps({"code": code}).encode() + b"\n")
"""


class Launcher:
    """A process that forks the app on request (see the module's docstring)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock = ours
        self._proc = subprocess.Popen(
            # One BLAS thread in the launcher, so a forked app holds no half of a pool.
            [sys.executable, "-c", SERVER, str(theirs.fileno())],
            env={**env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, cwd=ROOT,
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()
        self._buffer = b""

    def _reply(self) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            chunk = self._sock.recv(4096)
            if not chunk:
                raise RuntimeError(f"the app launcher ended (exit {self._proc.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply: dict[str, Any] = json.loads(line)
        return reply

    def spawn(self, argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, int]:
        """Start `iom-audit ARGV` in a new pseudo-terminal: (pid, master fd)."""
        request = {"op": "spawn", "argv": list(argv), "env": dict(env), "cwd": str(ROOT)}
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            data, fds, _, _ = socket.recv_fds(self._sock, 4096, 1)
            if not data:
                raise RuntimeError(f"the app launcher ended (exit {self._proc.wait()})")
            self._buffer += data
            if fds:
                return int(self._reply()["pid"]), fds[0]

    def wait(self, pid: int, *, nohang: bool = False) -> int | None:
        """Reap the app: its exit code (negative: the signal), None if still running."""
        self._sock.sendall(json.dumps({"op": "wait", "pid": pid, "nohang": nohang}
                                      ).encode() + b"\n")
        code = self._reply()["code"]
        return None if code is None else int(code)

    def close(self) -> None:
        stop(self._sock, self._proc)
