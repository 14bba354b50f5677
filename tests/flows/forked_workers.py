"""`ordino worker` processes forked from one that imported Ordino once (as a pre-loading server
forks its workers): importing the flows takes seconds, and the crash tests start two workers per
step boundary.

Run as `python -c "from tests.flows.forked_workers import serve; serve()"`: each line on stdin,
`<log path>\\t<ORDINO_CRASH_AT or nothing>`, forks a child that leads a process group of its own,
writes to the log and runs the `ordino worker` command with that variable; the parent answers
`started <pid>`, and `exited <pid> <code>` once it reaped the child (-9: killed by SIGKILL).
`Forked` is the tests' side.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from ordino.kernel import faults


def _reap(_signum: int, _frame: FrameType | None) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        os.write(1, f"exited {pid} {os.waitstatus_to_exitcode(status)}\n".encode())


def _child(log_path: str, crash_at: str) -> None:
    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.pop(faults.ENV, None)
    if crash_at:
        os.environ[faults.ENV] = crash_at
    faults.arm()
    from ordino.cli import app

    try:
        app(["worker"])
    finally:
        os._exit(1)


def serve() -> None:
    from ordino import cli  # noqa: F401  (what every worker imports, once)
    from ordino.flows import registry  # noqa: F401

    signal.signal(signal.SIGCHLD, _reap)
    os.write(1, b"ready\n")
    for line in sys.stdin:
        log_path, crash_at = line.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:
            _child(log_path, crash_at)
        os.write(1, f"started {pid}\n".encode())


class Forked:
    """The forking process, and what it said of its children."""

    def __init__(self, env: dict[str, str], timeout: float) -> None:
        self.timeout = timeout
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from tests.flows.forked_workers import serve; serve()"], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        self._changed = threading.Condition()
        self._ready = False
        self._started: list[int] = []
        self.exits: dict[int, int] = {}
        threading.Thread(target=self._listen, daemon=True).start()
        self._until(lambda: self._ready, "the forking process was not ready")

    def _listen(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            word, *rest = raw.decode().split()
            with self._changed:
                if word == "ready":
                    self._ready = True
                elif word == "started":
                    self._started.append(int(rest[0]))
                elif word == "exited":
                    self.exits[int(rest[0])] = int(rest[1])
                self._changed.notify_all()

    def _until(self, condition: object, what: str) -> None:
        with self._changed:
            assert self._changed.wait_for(condition, self.timeout), what  # type: ignore[arg-type]

    def start(self, log_path: Path, crash_at: str = "") -> int:
        """A worker logging to `log_path`, that dies at `crash_at` (nothing: never); its pid."""
        assert self.process.stdin is not None
        count = len(self._started)
        self.process.stdin.write(f"{log_path}\t{crash_at}\n".encode())
        self.process.stdin.flush()
        self._until(lambda: len(self._started) > count, "no worker was forked")
        return self._started[count]

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            return self.exits.get(pid)

    def kill(self, pid: int) -> None:
        """SIGKILL the worker's process group and wait until it is reaped."""
        with contextlib.suppress(ProcessLookupError):  # it died on its own
            os.killpg(pid, signal.SIGKILL)
        self._until(lambda: pid in self.exits, f"worker {pid} was not reaped")

    def close(self) -> None:
        for pid in list(self._started):
            if pid not in self.exits:
                self.kill(pid)
        self.process.kill()
        self.process.wait(timeout=10)
