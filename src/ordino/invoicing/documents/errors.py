"""Refusals of invoice and credit note documents (RFC 9457 problem types)."""

from __future__ import annotations

from collections.abc import Sequence

from ordino.kernel.errors import Conflict, FieldError


class DocumentError(Conflict):
    """A document whose parts disagree, or that its format cannot express; every fault is listed."""

    slug = "document-invalid"
    title = "The document cannot be rendered"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        detail = f"{errors[0].field}: {errors[0].message}" if len(errors) == 1 else f"{len(errors)} faults found"
        super().__init__(detail, errors)


class NoLegalEntity(Conflict):
    """No legal entity sells through the order's channel, so no document can name the seller."""

    slug = "no-legal-entity"
