"""Dated FX rates: record, list and convert."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["currencies"])
