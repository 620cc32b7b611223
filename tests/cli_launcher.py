"""Run the `iom-audit` command several times without paying for its start-up each time.

`python -c "from cli.main import main; main()"` spends over a second of CPU starting the
interpreter and importing typer, SQLAlchemy and the project before it does anything. A
test that runs the command several times, each time in an environment of its own (a
researcher's home, config folder and variables), can start one `CliLauncher` instead: a
plain Python process that imports `cli.main` once and then, per request, forks a child
that takes the request's environment (the whole of it, as `subprocess.run(env=...)`
gives), working directory, argv, and files for its output, and runs `cli.main.main()`
as the console script does; the child exits through the interpreter as usual. Only the
imports are shared (`cli.main`'s, and the modules named in `preload`): every run is a
new process, and nothing else is done in advance (what the command reads from its
environment, it reads when it runs).

Like tests/tui/launcher.py, without a pseudo-terminal: stdout and stderr stay apart.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run by the launcher process; its argument is the file descriptor of its end of the socket.
SERVER = r"""
import importlib, json, os, socket, sys
from cli.main import main
for module in sys.argv[2:]:  # what the commands to be run import when they run
    importlib.import_module(module)
sock = socket.socket(fileno=int(sys.argv[1]))
while True:
    data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
    if not data:
        break
    request = json.loads(data)
    pid = os.fork()
    if pid == 0:  # the command: the launcher's socket is not its own
        sock.close()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (null, *fds):
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["iom-audit", *request["argv"]]
        main()  # sys.exit() from here ends the process the usual way
        sys.exit(0)
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    sock.sendall(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
"""


class CliLauncher:
    """A process that forks the command on request (see the module's docstring)."""

    def __init__(self, env: Mapping[str, str], preload: Sequence[str] = ()) -> None:
        """`preload`: modules the commands import on first use (`audit.exports.exporters`
        for `export`, over a second of CPU), imported once in the launcher."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._sock = ours
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(theirs.fileno()), *preload], env=dict(env),
            cwd=ROOT, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        theirs.close()

    def run(self, argv: Sequence[str], env: Mapping[str, str], timeout: float = 120
            ) -> subprocess.CompletedProcess[str]:
        """`iom-audit ARGV` in `env`: what `subprocess.run(..., capture_output=True,
        text=True)` returns."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            request = {"argv": list(argv), "env": dict(env), "cwd": str(Path.cwd())}
            socket.send_fds(self._sock, [json.dumps(request).encode()],
                            [out.fileno(), err.fileno()])
            self._sock.settimeout(timeout)
            reply = self._sock.recv(4096)
            if not reply:
                raise RuntimeError(f"the command launcher ended (exit {self._proc.wait()})")
            code = int(json.loads(reply)["code"])
            texts = []
            for f in (out, err):
                f.seek(0)
                texts.append(f.read().decode())
        return subprocess.CompletedProcess(["iom-audit", *argv], code, *texts)

    def close(self) -> None:
        stop(self._sock, self._proc)


def stop(sock: socket.socket, proc: subprocess.Popen[bytes]) -> None:
    """End a forking launcher: it reads end-of-file on its socket and exits (killed if
    it has not within 10 s)."""
    sock.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
