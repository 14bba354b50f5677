"""Payloads of the catalog API: products, sales channels, locations and legal entities.

Create payloads name every field a record needs. Patch payloads carry only the fields to change:
a field left out keeps its value, `null` clears an optional field, and `null` for a required
field or any value for an identifier (`sku`, `code`) is a 422 naming the field. Decimals
(weights, coordinates) are strings, never JSON numbers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal, TypeVar
from zoneinfo import available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema
from stdnum import bic as stdnum_bic
from stdnum.exceptions import ValidationError as StdnumError

from ordino.catalog.units import unit_code_error
from ordino.kernel.schema import (
    Code,
    Country,
    DecimalText,
    EndpointId,
    EndpointScheme,
    Iban,
    Name,
    Out,
    SepaCreditorId,
    ShortText,
    Strict,
    UuidText,
)

T = TypeVar("T")

CHANNEL_KINDS = ("web", "marketplace", "pos", "edi", "phone", "api", "portal")
LOCATION_KINDS = ("warehouse", "store", "drop_ship", "digital")
ChannelKind = Literal["web", "marketplace", "pos", "edi", "phone", "api", "portal"]
LocationKind = Literal["warehouse", "store", "drop_ship", "digital"]
BackorderPolicy = Literal["deny", "backorder"]


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


def _immutable(value: object) -> None:
    raise ValueError("cannot be changed")


# In a patch: may be left out, but not set to null.
NotNull = Annotated[T | None, BeforeValidator(_not_null)]
# In a patch: an identifier that orders and other systems refer to; any value is refused.
Immutable = SkipJsonSchema[Annotated[None, BeforeValidator(_immutable)]]
Flag = Annotated[bool, Field(strict=True)]


def _between(low: Decimal, high: Decimal, *, high_inclusive: bool = True) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        if value < low or value > high or (value == high and not high_inclusive):
            top = "" if high_inclusive else " (exclusive)"
            raise ValueError(f"must be between {low} and {high}{top}")
        return value

    return AfterValidator(check)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"'{value}' is not an IANA time zone such as 'Europe/Berlin'")
    return value


# SKUs and codes appear in URL paths, so no slashes or spaces.
Sku = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
]


def _unit(value: str) -> str:
    error = unit_code_error(value)
    if error:
        raise ValueError(error)
    return value


# Invoices carry the code as EN 16931 unit code (BT-130), so only Recommendation 20/21 codes.
UnitOfMeasure = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9]{2,3}$"),
    AfterValidator(_unit),
    Field(description="UN/ECE Recommendation 20 code, or Recommendation 21 package code with its X prefix: "
          "H87 piece, C62 one, EA each, KGM kilogram, MTR metre, XBX box, XRL roll"),
]
Count = Annotated[int, Field(strict=True, ge=1, le=1_000_000_000)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Weight = Annotated[DecimalText, _between(Decimal(0), Decimal(1_000_000_000), high_inclusive=False)]
Latitude = Annotated[DecimalText, _between(Decimal(-90), Decimal(90))]
Longitude = Annotated[DecimalText, _between(Decimal(-180), Decimal(180))]
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=60), AfterValidator(_timezone)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=200)]
PostalCode = Annotated[str, StringConstraints(min_length=1, max_length=20)]


class ProductIn(Strict):
    sku: Sku
    name: Name
    description: Description | None = None
    unit_of_measure: UnitOfMeasure = "EA"
    minimum_quantity: Count = 1
    order_multiple: Count = 1
    tax_class: Code = "standard"
    weight_kg: Weight | None = None
    backorder_policy: BackorderPolicy = "deny"
    active: Flag = True


class ProductPatch(Strict):
    sku: Immutable = None
    name: NotNull[Name] = None
    description: Description | None = None
    unit_of_measure: NotNull[UnitOfMeasure] = None
    minimum_quantity: NotNull[Count] = None
    order_multiple: NotNull[Count] = None
    tax_class: NotNull[Code] = None
    weight_kg: Weight | None = None
    backorder_policy: NotNull[BackorderPolicy] = None
    active: NotNull[Flag] = None


class ChannelIn(Strict):
    code: Code
    name: Name
    kind: ChannelKind = "web"
    legal_entity: Code | None = None
    active: Flag = True


class ChannelPatch(Strict):
    code: Immutable = None
    name: NotNull[Name] = None
    kind: NotNull[ChannelKind] = None
    legal_entity: Code | None = None
    active: NotNull[Flag] = None


class LocationIn(Strict):
    code: Code
    name: Name
    kind: LocationKind = "warehouse"
    line1: Line | None = None
    city: ShortText | None = None
    postal_code: PostalCode | None = None
    region: ShortText | None = None
    country: Country
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: TimeZone | None = None
    active: Flag = True


class LocationPatch(Strict):
    code: Immutable = None
    name: NotNull[Name] = None
    kind: NotNull[LocationKind] = None
    line1: Line | None = None
    city: ShortText | None = None
    postal_code: PostalCode | None = None
    region: ShortText | None = None
    country: NotNull[Country] = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    timezone: TimeZone | None = None
    active: NotNull[Flag] = None


def _bic(value: str) -> str:
    try:
        return str(stdnum_bic.validate(value))
    except StdnumError as exc:
        raise ValueError(f"is not a valid BIC ({exc})") from None


def _states(value: list[str]) -> list[str]:
    return sorted(set(value))


Bic = Annotated[str, StringConstraints(min_length=8, max_length=11), AfterValidator(_bic)]
TaxNumber = Annotated[str, StringConstraints(min_length=2, max_length=40)]
Text300 = Annotated[str, StringConstraints(min_length=1, max_length=300)]
UsState = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
NexusStates = Annotated[list[UsState], Field(max_length=60), AfterValidator(_states)]
InvalidVatId = Literal["refuse", "tax_as_b2c"]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]


class LegalEntityIn(Strict):
    code: Code
    name: Name
    line1: Line
    line2: Line | None = None
    city: ShortText
    postal_code: PostalCode | None = None
    region: ShortText | None = None
    country: Country
    vat_id: TaxNumber | None = None
    registration_number: TaxNumber | None = None
    email: Email | None = None
    phone: ShortText | None = None
    iban: Iban | None = None
    bic: Bic | None = None
    bank_name: ShortText | None = None
    endpoint_scheme: EndpointScheme | None = None
    endpoint_id: EndpointId | None = None
    contact_name: Name | None = None
    tax_number: TaxNumber | None = None
    register_court: Name | None = None
    managing_directors: Text300 | None = None
    share_capital: ShortText | None = None
    sepa_creditor_id: SepaCreditorId | None = None
    us_nexus_states: NexusStates | None = None
    invalid_vat_id: InvalidVatId = "refuse"
    is_default: Flag = False
    active: Flag = True


class LegalEntityPatch(Strict):
    code: Immutable = None
    name: NotNull[Name] = None
    line1: NotNull[Line] = None
    line2: Line | None = None
    city: NotNull[ShortText] = None
    postal_code: PostalCode | None = None
    region: ShortText | None = None
    country: NotNull[Country] = None
    vat_id: TaxNumber | None = None
    registration_number: TaxNumber | None = None
    email: Email | None = None
    phone: ShortText | None = None
    iban: Iban | None = None
    bic: Bic | None = None
    bank_name: ShortText | None = None
    endpoint_scheme: EndpointScheme | None = None
    endpoint_id: EndpointId | None = None
    contact_name: Name | None = None
    tax_number: TaxNumber | None = None
    register_court: Name | None = None
    managing_directors: Text300 | None = None
    share_capital: ShortText | None = None
    sepa_creditor_id: SepaCreditorId | None = None
    us_nexus_states: NexusStates | None = None
    invalid_vat_id: NotNull[InvalidVatId] = None
    is_default: NotNull[Flag] = None
    active: NotNull[Flag] = None


# Answers (catalog.service `Resource.doc` emits them; decimals as text).

DecimalOut = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$")]


class CatalogOut(Out):
    id: UuidText
    version: int
    created_at: datetime
    updated_at: datetime


class ProductOut(CatalogOut):
    sku: str
    name: str
    description: str | None
    unit_of_measure: str
    minimum_quantity: int
    order_multiple: int
    tax_class: str
    weight_kg: DecimalOut | None
    backorder_policy: BackorderPolicy
    active: bool


class ChannelOut(CatalogOut):
    code: str
    name: str
    kind: ChannelKind
    legal_entity: str | None
    active: bool


class LocationOut(CatalogOut):
    code: str
    name: str
    kind: LocationKind
    line1: str | None
    city: str | None
    postal_code: str | None
    region: str | None
    country: str
    latitude: DecimalOut | None
    longitude: DecimalOut | None
    timezone: str | None
    active: bool


class LegalEntityOut(CatalogOut):
    code: str
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str | None
    region: str | None
    country: str
    vat_id: str | None
    registration_number: str | None
    email: str | None
    phone: str | None
    iban: str | None
    bic: str | None
    bank_name: str | None
    endpoint_scheme: str | None
    endpoint_id: str | None
    contact_name: str | None
    tax_number: str | None
    register_court: str | None
    managing_directors: str | None
    share_capital: str | None
    sepa_creditor_id: str | None
    us_nexus_states: list[str] | None
    invalid_vat_id: InvalidVatId
    is_default: bool
    active: bool
