"""Quotes: requested by buyers or agents, priced by agents, accepted into orders."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["quotes"])
