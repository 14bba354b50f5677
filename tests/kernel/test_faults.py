"""kernel.faults: a crash point kills its process with SIGKILL only when ORDINO_CRASH_AT names it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ordino
from ordino.kernel import faults

SRC = str(Path(ordino.__file__).resolve().parents[1])
SCRIPT = ("from ordino.kernel.faults import crash_point\n"
          "crash_point('invoicing.ensure_funds:before')\n"
          "print('passed the first point', flush=True)\n"
          "crash_point('payments.capture:before_gateway')\n"
          "print('passed the second point', flush=True)\n")


def _run(crash_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    env["PYTHONPATH"] = SRC
    if crash_at is not None:
        env[faults.ENV] = crash_at
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_the_named_point_kills_the_process_with_sigkill_there() -> None:
    # given ORDINO_CRASH_AT naming the second point
    # when the process passes both
    done = _run("payments.capture:before_gateway")
    # then it ran up to the second and died of SIGKILL there, saying where
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == "passed the first point\n"
    assert done.stderr == "ordino: crash point payments.capture:before_gateway\n"


def test_without_the_variable_no_point_kills() -> None:
    # given no ORDINO_CRASH_AT (and one naming no point the process passes)
    for crash_at in (None, "", "payments.capture:after_gateway_before_settle"):
        # when the process passes both points
        done = _run(crash_at)
        # then it ran to the end
        assert (done.returncode, done.stdout, done.stderr) == (
            0, "passed the first point\npassed the second point\n", ""), crash_at


def test_arm_reads_the_variable_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the variable set after import
    monkeypatch.setenv(faults.ENV, "x:before")
    try:
        # when the module is armed again
        faults.arm()
        # then it names the point
        assert faults.CRASH_AT == "x:before"
    finally:
        monkeypatch.delenv(faults.ENV)
        faults.arm()
    assert faults.CRASH_AT is None
