"""Payloads of the accounts API: accounts, contacts, addresses and API keys.

Create payloads name every field a record needs. Patch payloads carry only the fields to change:
a field left out keeps its value, `null` clears an optional field, and `null` for a required
field or any value for an identifier (`number`) is a 422 naming the field.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from ordino.kernel.auth import Role
from ordino.kernel.money import is_currency
from ordino.kernel.schema import (
    Code,
    Country,
    CurrencyCode,
    DecimalText,
    Email,
    EndpointId,
    EndpointScheme,
    Iban,
    MoneyText,
    Name,
    Out,
    Phone,
    ShortText,
    Strict,
    UuidText,
)

T = TypeVar("T")

ACCOUNT_STATUSES = ("active", "on_hold", "closed")
ADDRESS_KINDS = ("billing", "shipping")
AccountStatus = Literal["active", "on_hold", "closed"]
AddressKind = Literal["billing", "shipping"]


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null; leave the field out to keep its value")
    return value


def _immutable(value: object) -> None:
    raise ValueError("cannot be changed")


# In a patch: may be left out, but not set to null.
NotNull = Annotated[T | None, BeforeValidator(_not_null)]
# In a patch: an identifier that other systems refer to; any value is refused.
Immutable = SkipJsonSchema[Annotated[None, BeforeValidator(_immutable)]]
Flag = Annotated[bool, Field(strict=True)]


def _active_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"'{code}' is not an active ISO 4217 currency")
    return code


def _locale(value: str) -> str:
    """A CLDR locale (`de`, `de_DE`, `de-DE`, `zh_Hant_TW`), stored in Babel's canonical form."""
    wanted = value.replace("-", "_")
    try:
        parsed = str(Locale.parse(wanted))
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"'{value}' is not a known locale, e.g. 'de' or 'de_DE'") from None
    if parsed.lower() != wanted.lower():  # Babel may substitute a likely locale (en_ZZ -> en_US)
        raise ValueError(f"'{value}' is not a known locale, e.g. 'de' or 'de_DE'")
    return parsed


Currency = Annotated[CurrencyCode, AfterValidator(_active_currency)]
LocaleId = Annotated[str, StringConstraints(min_length=2, max_length=20), AfterValidator(_locale)]
TaxId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=200)]
PostalCode = Annotated[str, StringConstraints(min_length=1, max_length=20)]
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
BuyerRole = Literal["buyer", "approver", "account_admin"]


def _role_set(roles: list[str]) -> list[str]:
    """Roles are a set: stored once each, in a stable order."""
    return sorted(set(roles))


Roles = Annotated[
    list[BuyerRole],
    Field(max_length=10, description="buyer (places orders and quote requests), approver, account_admin"),
    AfterValidator(_role_set),
]


# Payment terms as payments.domain.parse_terms reads them (accounts sit below payments and may not
# import it; tests check that both accept the same codes).
_TERMS = re.compile(r"^(?:due_on_receipt|eom|net_(?P<days>[0-9]{1,3})(?:_eom)?)\Z")


def _payment_terms(value: str) -> str:
    match = _TERMS.match(value)
    if not match or (match.group("days") is not None and not 1 <= int(match.group("days")) <= 365):
        raise ValueError("must be due_on_receipt, net_<days> (1 to 365), net_<days>_eom or eom")
    return value


PaymentTerms = Annotated[str, StringConstraints(min_length=1, max_length=40), AfterValidator(_payment_terms)]
# How the account's invoices go out: PDF, UBL per Peppol BIS 3, XRechnung, or Factur-X (PDF with CII).
EinvoiceFormat = Literal["pdf", "peppol", "xrechnung", "facturx"]
BuyerReference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# SEPA mandate references: up to 35 characters of the SEPA character set (EPC rulebook).
MandateReference = Annotated[str, StringConstraints(min_length=1, max_length=35, pattern=r"^[A-Za-z0-9+?/:().,' -]+$")]



BuyerEndpointId = Annotated[EndpointId, Field(
    description="The buyer's electronic address (BT-49) in endpoint_scheme: a Leitweg-ID, GLN, VAT ID …")]
InvoiceBuyerReference = Annotated[BuyerReference, Field(
    description="Put on every invoice as the buyer reference (BT-10); a German public buyer's Leitweg-ID")]
DirectDebitMandate = Annotated[MandateReference, Field(
    description="SEPA direct-debit mandate: invoices on terms are then collected from direct_debit_iban")]

class CreditLimitIn(Strict):
    amount: DecimalText
    currency: Currency


class AccountIn(Strict):
    number: Code
    name: Name
    currency: Currency
    locale: LocaleId = "en"
    country: Country | None = None
    tax_id: TaxId | None = None
    parent: Code | None = Field(default=None, description="The parent account's number")
    status: AccountStatus = "active"
    payment_terms: PaymentTerms | None = Field(default=None, description="Invoice terms: net_30, net_30_eom, eom…")
    credit_limit: CreditLimitIn | None = None
    endpoint_scheme: EndpointScheme | None = None
    endpoint_id: BuyerEndpointId | None = None
    buyer_reference: InvoiceBuyerReference | None = None
    direct_debit_mandate: DirectDebitMandate | None = None
    direct_debit_iban: Iban | None = None
    einvoice_format: EinvoiceFormat = "pdf"


class AccountPatch(Strict):
    number: Immutable = None
    name: NotNull[Name] = None
    currency: NotNull[Currency] = None
    locale: NotNull[LocaleId] = None
    country: Country | None = None
    tax_id: TaxId | None = None
    parent: Code | None = None
    status: NotNull[AccountStatus] = None
    payment_terms: PaymentTerms | None = None
    credit_limit: CreditLimitIn | None = None
    endpoint_scheme: EndpointScheme | None = None
    endpoint_id: BuyerEndpointId | None = None
    buyer_reference: InvoiceBuyerReference | None = None
    direct_debit_mandate: DirectDebitMandate | None = None
    direct_debit_iban: Iban | None = None
    einvoice_format: NotNull[EinvoiceFormat] = None


class ContactIn(Strict):
    first_name: PersonName
    last_name: PersonName
    email: Email | None = None
    phone: Phone | None = None
    title: ShortText | None = None
    roles: Roles = Field(default_factory=list)


class ContactPatch(Strict):
    first_name: NotNull[PersonName] = None
    last_name: NotNull[PersonName] = None
    email: Email | None = None
    phone: Phone | None = None
    title: ShortText | None = None
    roles: NotNull[Roles] = None


class AddressIn(Strict):
    reference: Code | None = Field(default=None, description="The account's own code, unique per account")
    kind: AddressKind = "shipping"
    name: Name
    line1: Line
    line2: Line | None = None
    city: ShortText
    postal_code: PostalCode | None = None
    region: ShortText | None = None
    country: Country
    phone: Phone | None = None
    is_default: Flag = False


class AddressPatch(Strict):
    reference: Code | None = None
    kind: NotNull[AddressKind] = None
    name: NotNull[Name] = None
    line1: NotNull[Line] = None
    line2: Line | None = None
    city: NotNull[ShortText] = None
    postal_code: PostalCode | None = None
    region: ShortText | None = None
    country: NotNull[Country] = None
    phone: Phone | None = None
    is_default: NotNull[Flag] = None


class ApiKeyIn(Strict):
    name: KeyName
    role: Role
    account: Code | None = Field(
        default=None, description="Scope the key to this account (number); required for role buyer"
    )
    contact: uuid.UUID | None = Field(
        default=None, description="The contact of the account who uses this buyer key (its id)"
    )


# Answers (accounts.service emits them).


class Stamped(Out):
    version: int
    created_at: datetime
    updated_at: datetime


class CreditLimitOut(Out):
    amount: MoneyText
    currency: str


class AccountOut(Stamped):
    id: UuidText
    number: str
    name: str
    currency: str
    locale: str
    country: str | None
    tax_id: str | None
    parent: str | None = Field(description="the parent account's number")
    status: AccountStatus
    payment_terms: str | None
    credit_limit: CreditLimitOut | None
    endpoint_scheme: str | None
    endpoint_id: str | None
    buyer_reference: str | None
    direct_debit_mandate: str | None
    direct_debit_iban: str | None
    einvoice_format: EinvoiceFormat


class ContactOut(Stamped):
    id: UuidText
    account: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    title: str | None
    roles: list[BuyerRole]


class AccountAddressOut(Stamped):
    id: UuidText
    account: str
    reference: str | None
    kind: AddressKind
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str | None
    region: str | None
    country: str
    phone: str | None
    is_default: bool


class ApiKeyOut(Out):
    id: UuidText
    name: str
    role: Role
    account: str | None
    contact: UuidText | None
    hint: str
    created_at: datetime
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str | None = Field(description="the secret, shown once; null when the creation is replayed")
