"""The tax engine's refusals (RFC 9457 problem types)."""

from __future__ import annotations

from ordino.kernel.errors import BadRequest, FieldError


class TaxError(BadRequest):
    """A tax cannot be computed from what was given; `field` names the input at fault."""

    slug = "tax-error"
    title = "Tax cannot be computed"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", [FieldError(field, message)])
        self.field = field
        self.message = message
