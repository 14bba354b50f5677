"""Primary keys are UUIDv7: time-ordered, so b-tree inserts stay local and ids sort by creation.

Within one millisecond a 12-bit counter (RFC 9562, method 1) keeps the ids of this process
strictly increasing; it starts at a random value below 512, so thousands of ids fit in each
millisecond. Only when a millisecond's counter is used up does the timestamp move on by one, so
the time in an id stays at the clock even under load (a generator that bumps the timestamp for
every extra id drifts ahead of the clock by a millisecond per id).
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, int.from_bytes(os.urandom(2), "big") & 0x1FF
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    rand = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand)


def timestamp_ms(value: uuid.UUID) -> int:
    """The Unix time in milliseconds that a UUIDv7 carries."""
    return value.int >> 80


def parse_id(text: str) -> uuid.UUID | None:
    """An id from a URL or payload, or None when it is not a UUID."""
    try:
        return uuid.UUID(text)
    except (ValueError, TypeError, AttributeError):
        return None
