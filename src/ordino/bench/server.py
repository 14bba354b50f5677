"""The real Ordino server as a subprocess: uvicorn with uvloop and httptools, N processes."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from ordino.bench.common import free_port, process_tree
from ordino.kernel.auth import key_digests

START_TIMEOUT = 60.0


class ServerFailed(RuntimeError):
    pass


class Server:
    """`with Server(url, key, workers=2) as server:` serves on `server.port` until the block ends."""

    def __init__(self, database_url: str, admin_api_key: str, *, workers: int, log_path: Path) -> None:
        self.database_url = database_url
        self.admin_api_key = admin_api_key
        self.workers = workers
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "ordino.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]

    def __enter__(self) -> Server:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ORDINO_SECRET_KEY")},
            # the secret this process stored the bench's key under
            "ORDINO_SECRET_KEY": key_digests().secret,
            "ORDINO_DATABASE_URL": self.database_url,
            "ORDINO_RUN_WORKER": "0",
            "ORDINO_ADMIN_API_KEY": self.admin_api_key,
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The uvicorn process and its worker processes."""
        assert self.process is not None
        return process_tree(self.process.pid)

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"the server exited with {self.process.returncode}:\n{self.log()}")
            if self._healthy():
                # every worker process answers once the first does, give them a moment to be sure
                if self.workers > 1:
                    time.sleep(0.5)
                return
            time.sleep(0.05)
        raise ServerFailed(f"the server did not answer /healthz within {START_TIMEOUT:.0f} s:\n{self.log()}")

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
