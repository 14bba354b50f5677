"""Crash points for tests: `ORDINO_CRASH_AT="<name>:<point>"` makes the process kill itself with
SIGKILL when it reaches that point, as a power cut or the OOM killer would (no `finally`, no
rollback sent, no lease given back). tests/flows/test_crash_flows.py names every step boundary of
the worker's flows this way.

The variable is read once, when this module is first imported (`arm`); unset, a crash point is one
comparison with None. The worker's points are `<handler>:before`, `<handler>:after_handler` and
`<handler>:before_settle` (kernel.worker); the payment orchestrator's are
`payments.<operation>:before_gateway` and `payments.<operation>:after_gateway_before_settle`.
"""

from __future__ import annotations

import os
import signal

ENV = "ORDINO_CRASH_AT"
CRASH_AT: str | None = None


def arm() -> None:
    """Read the variable: at import, and again in a process forked after it was set."""
    global CRASH_AT
    CRASH_AT = os.environ.get(ENV) or None


arm()


def crash_point(name: str) -> None:
    """SIGKILL this process when `name` is the crash point asked for."""
    if CRASH_AT is not None and name == CRASH_AT:
        os.write(2, f"ordino: crash point {name}\n".encode())
        os.kill(os.getpid(), signal.SIGKILL)
