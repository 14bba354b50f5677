"""A light HTTP/1.1 load generator: asyncio streams on uvloop, one keep-alive connection per client.

The client must not eat the CPU the server needs (the machine may have only 2 cores), so there is
no HTTP library here: the request is a byte template, the response is read by its Content-Length,
and JSON is only ever encoded (orjson), never parsed. Its own CPU use is measured by the caller.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ordino.bench.seed import World
from ordino.bench.workload import OrderSource

REQUEST_TIMEOUT = 60.0
# A keep-alive connection is replaced after this many requests. With several server processes on
# one listening socket, the process that accepts a connection serves it for its life; the first
# to wake often takes all of them, leaving the others idle. Renewing connections lets the kernel
# hand new ones to whichever process is free, as a load balancer in front of them would.
REQUESTS_PER_CONNECTION = 100
MAX_ERROR_SAMPLES = 5


@dataclass(slots=True)
class LoadResult:
    """What the clients saw: every status, every latency, the references that answered 201."""

    attempts: int = 0
    created: list[str] = field(default_factory=list)  # external references answered with 201
    errors: int = 0  # anything but 201, including connection failures
    error_samples: list[str] = field(default_factory=list)
    latencies_ns: list[int] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, Any] = field(default_factory=dict)  # CpuMeter reading of the timed phase

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(what[:300])

    @property
    def rate(self) -> float:
        return len(self.created) / self.elapsed if self.elapsed > 0 else 0.0


class _Budget:
    """Hands out order numbers until the deadline passes or `size` orders were started."""

    def __init__(self, seconds: float, size: int) -> None:
        self.deadline = time.perf_counter() + seconds
        self.size = size
        self.issued = 0

    def take(self) -> int | None:
        if self.issued >= self.size or time.perf_counter() >= self.deadline:
            return None
        self.issued += 1
        return self.issued


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        end = lower.index(b"\r\n", at + 2)
        body = await reader.readexactly(int(lower[at + 17 : end]))
    elif b"\r\ntransfer-encoding: chunked" in lower:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        body = b""
    return status, body


async def _client(
    index: int, port: int, world: World, prefix: str, budget: _Budget, result: LoadResult
) -> float:
    """One client: POST orders back to back on one connection; returns when it finished."""
    source = OrderSource(world, f"{prefix}{index:02d}", seed=index * 7919 + 1)
    template = (
        "POST /api/v1/orders HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {world.api_key}\r\n"
        "Content-Type: application/json\r\n"
        "Idempotency-Key: {key}\r\n"
        "Content-Length: {length}\r\n\r\n"
    )
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    finished = time.perf_counter()
    served = 0  # requests on the current connection
    while (n := budget.take()) is not None:
        spec = source.make(n)
        body = spec.body(world.channel)
        head = template.replace("{key}", str(uuid.uuid4())).replace("{length}", str(len(body)))
        result.attempts += 1
        started = time.perf_counter_ns()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    served = 0
                assert reader is not None
                writer.write(head.encode() + body)
                status, answer = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            result.error(f"{spec.external_reference}: {type(exc).__name__}: {exc}")
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.05)
            continue
        result.latencies_ns.append(time.perf_counter_ns() - started)
        finished = time.perf_counter()
        served += 1
        if served >= REQUESTS_PER_CONNECTION:
            writer.close()
            reader = writer = None
        if status == 201:
            result.created.append(spec.external_reference)
        else:
            result.error(f"{spec.external_reference}: HTTP {status}: {answer[:200]!r}")
    if writer is not None:
        writer.close()
    return finished


async def _load(port: int, world: World, clients: int, seconds: float, size: int, prefix: str) -> LoadResult:
    result = LoadResult()
    budget = _Budget(seconds, size)
    started = time.perf_counter()
    ends = await asyncio.gather(
        *(_client(i, port, world, prefix, budget, result) for i in range(clients))
    )
    result.elapsed = max(ends) - started
    return result


def _runner() -> Callable[[Awaitable[LoadResult]], LoadResult]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run  # type: ignore[return-value]
    return uvloop.run  # type: ignore[return-value]


def run_load(
    port: int, world: World, *, clients: int, seconds: float, size: int, prefix: str
) -> LoadResult:
    """POST orders from `clients` concurrent connections for `seconds` or until `size` orders."""
    coro = _load(port, world, clients, seconds, size, prefix)
    return _runner()(coro)
