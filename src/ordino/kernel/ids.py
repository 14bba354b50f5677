"""Primary keys are UUIDv7: time-ordered, so b-tree inserts stay local and ids sort by creation."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    return uuid.UUID(int=uuid6.uuid7().int)


def parse_id(text: str) -> uuid.UUID | None:
    """An id from a URL or payload, or None when it is not a UUID."""
    try:
        return uuid.UUID(text)
    except (ValueError, TypeError, AttributeError):
        return None
