"""Payloads of the tax profile API."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ordino.kernel.schema import Out, Strict

_REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


def _regions(values: list[str]) -> list[str]:
    for value in values:
        if not _REGION.match(value):
            raise ValueError(f"'{value}' is not a country (\"US\") or an ISO 3166-2 subdivision (\"US-CA\")")
        if "-" in value:
            if pycountry.subdivisions.get(code=value) is None:  # type: ignore[no-untyped-call]
                raise ValueError(f"'{value}' is not an ISO 3166-2 subdivision")
        elif pycountry.countries.get(alpha_2=value) is None:
            raise ValueError(f"'{value}' is not an ISO 3166-1 country code")
    return sorted(set(values))


class CertificateIn(Strict):
    number: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    regions: Annotated[list[str], Field(min_length=1, max_length=60), AfterValidator(_regions)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    issued_on: date | None = None
    expires_on: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> CertificateIn:
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            raise ValueError("expires_on is before issued_on")
        return self


class TaxProfileIn(Strict):
    business: Annotated[bool, Field(strict=True)] = True
    certificates: Annotated[list[CertificateIn], Field(max_length=100)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_numbers(self) -> TaxProfileIn:
        numbers = [c.number for c in self.certificates]
        if len(numbers) != len(set(numbers)):
            raise ValueError("certificate numbers must be unique")
        return self


# Answers (tax.service emits them).


class CertificateOut(Out):
    number: str
    regions: list[str]
    reason: str | None
    issued_on: date | None
    expires_on: date | None


class TaxProfileOut(Out):
    """An account's tax profile; `version` 0 means none is stored yet (the defaults)."""

    account: str
    business: bool
    certificates: list[CertificateOut]
    version: int
