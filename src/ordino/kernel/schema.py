"""Reusable Pydantic field types for API payloads."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from stdnum import iban as stdnum_iban
from stdnum.eu import at_02 as stdnum_at_02
from stdnum.exceptions import ValidationError as StdnumError

from ordino.kernel.eas import scheme_error

_DECIMAL = re.compile(r"^-?([0-9]+)(\.[0-9]+)?\Z")
# 12 integer digits and 6 places: what every amount column holds on both databases (a unit price
# is a 64-bit count of micro-units on SQLite; an amount of minor units is a 64-bit integer).
MAX_INTEGER_DIGITS = 12
# ISO 3166-1 alpha-2 (pycountry); CLDR's territory list would also admit EU, UN, XK, ZZ and others.
_COUNTRIES = frozenset(country.alpha_2 for country in pycountry.countries)


class Strict(BaseModel):
    """Payload models refuse unknown fields, so a misspelt field is an error, not a silent loss."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _decimal_from_text(places: int) -> Any:
    def convert(value: Any) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            raise ValueError('send amounts as decimal strings such as "12.50", not JSON numbers')
        match = _DECIMAL.match(value.strip())
        if not match:
            raise ValueError('must be a decimal string such as "12.50"')
        if len(match.group(1)) > MAX_INTEGER_DIGITS:
            raise ValueError(f"at most {MAX_INTEGER_DIGITS} digits before the decimal point")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError('must be a decimal string such as "12.50"') from None
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise ValueError(f"at most {places} decimal places")
        return number

    return convert


# A decimal amount in major units, sent as a string; the currency's exponent is checked later.
DecimalText = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_text(6)),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,12}(\.\d{1,6})?$", "examples": ["12.50"]}),
]
UnitPrice = DecimalText
Rate = DecimalText


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a timezone, e.g. 2026-11-26T10:00:00Z")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


def _country(value: str) -> str:
    if value not in _COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code such as DE")
    return value


Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Quantity = Annotated[int, Field(strict=True, gt=0, le=1_000_000_000)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(max_length=40, pattern=r"^[0-9+()./ \-]{3,40}$")]


def _endpoint_scheme(value: str) -> str:
    problem = scheme_error(value)
    if problem:
        raise ValueError(problem)
    return value


def _iban(value: str) -> str:
    try:
        return str(stdnum_iban.validate(value))
    except StdnumError as exc:
        raise ValueError(f"is not a valid IBAN ({exc})") from None


def _sepa_creditor_id(value: str) -> str:
    try:
        return str(stdnum_at_02.validate(value))
    except StdnumError as exc:
        raise ValueError(f"is not a valid SEPA creditor identifier ({exc})") from None


# E-invoicing: an electronic address is an EAS scheme ("0204", "9930", "EM") and an identifier.
EndpointScheme = Annotated[
    str, StringConstraints(min_length=2, max_length=4), AfterValidator(_endpoint_scheme),
    Field(description="EAS code (ISO 6523 ICD or CEF code): 0088 GLN, 0204 Leitweg-ID, 0208 BE enterprise number, "
          "9930 DE VAT ID, 9957 FR VAT ID, EM e-mail …", examples=["0204"]),
]
EndpointId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Iban = Annotated[str, StringConstraints(min_length=5, max_length=42), AfterValidator(_iban)]
SepaCreditorId = Annotated[
    str, StringConstraints(min_length=8, max_length=35), AfterValidator(_sepa_creditor_id),
    Field(examples=["DE98ZZZ09999999999"]),
]


# Answers. Routes serialise with orjson and declare these models in the OpenAPI document
# (kernel.openapi); tests validate real answers against them.

T = TypeVar("T")

MoneyText = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", examples=["12.50"])]
UuidText = Annotated[str, Field(json_schema_extra={"format": "uuid"})]


class Out(BaseModel):
    """An answer's shape. Answers may grow fields; clients ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow")


class Page(BaseModel, Generic[T]):
    """A page of a list, newest first; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None
