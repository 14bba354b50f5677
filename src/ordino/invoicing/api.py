"""Invoice, credit memo and remittance endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["invoicing"])
