"""Tax of an order at intake, from Ordino's tax engine.

Who computes the tax is the order's `tax` field: `calculate` (the default for catalog pricing) runs
the engine; `given` (the default for order pricing, where a channel such as a marketplace has
already taxed the order) keeps the tax lines of the payload, as Salesforce Order Management does.
An order that brings no tax lines at all is taxed by the engine whatever its pricing: without
them, its invoices would show 0 % with no legal reason (`OrderIn.tax_mode`).

The engine is the deployment's `TaxProvider` (`ORDINO_TAX_PROVIDER`; by default Ordino's own).

Each delivery group is one tax document: its ship-to decides the regime and the rates, its items
and its shipping charge are the lines. The seller is the legal entity of the order's channel; the
goods are taken to leave from the seller's country (the fulfilment location is not known yet at
intake). The tax date is the order date. Line amounts are after line discounts; with
`prices_include_tax` they are gross and the engine takes the tax out of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ordino.catalog.models import LegalEntity
from ordino.catalog.service import seller_of_channel
from ordino.kernel.errors import FieldError, ValidationFailed
from ordino.kernel.ids import new_id
from ordino.tax import service as tax_profiles
from ordino.tax.domain import Address, InvalidVatIdPolicy, TaxContext, TaxLineInput, TaxResult
from ordino.tax.errors import TaxError
from ordino.tax.provider import SellerTaxSettings, checked, configured_provider


@dataclass(frozen=True, slots=True)
class OrderTax:
    rows: list[dict[str, Any]]  # order_item_tax_line rows
    per_item: dict[uuid.UUID, int]  # tax amount per item
    notes: list[dict[str, str]]  # the documents' notes (legal mentions), without repeats
    regimes: list[str]


def seller_settings(seller: LegalEntity) -> SellerTaxSettings:
    nexus = frozenset(seller.us_nexus_states) if seller.us_nexus_states is not None else None
    return SellerTaxSettings(InvalidVatIdPolicy(seller.invalid_vat_id), nexus)


def seller_address(seller: LegalEntity) -> Address:
    return Address(seller.country, seller.region, seller.postal_code, seller.city)


def _field(error: TaxError, group_index: int, paths: Sequence[str]) -> str:
    """The request field a tax engine error is about."""
    name = error.field
    if name.startswith("ship_to."):
        return f"delivery_groups[{group_index}].{name}"
    if name.startswith("lines["):
        index = int(name[6:name.index("]")])
        return f"{paths[index]}.{name[name.index('].') + 2:]}" if "]." in name else paths[index]
    if name == "buyer_vat_id":
        return "account"
    if name == "tax_date":
        return "ordered_at"
    return name


def compute_order_tax(
    session: Session, *, account_id: uuid.UUID, channel_code: str, currency: str, order_date: Any,
    prices_include_tax: bool, groups: Sequence[dict[str, Any]], items: Sequence[dict[str, Any]],
    paths: dict[uuid.UUID, str], tax_classes: dict[uuid.UUID, str],
) -> OrderTax:
    """Tax every item and shipping charge of the order; every group that cannot be taxed is named."""
    seller = seller_of_channel(session, channel_code)
    if seller is None:
        raise ValidationFailed(
            [FieldError("channel", f"no legal entity sells through '{channel_code}': create a default one")]
        )
    buyer = tax_profiles.buyer_tax(session, account_id)
    provider, settings = configured_provider(), seller_settings(seller)
    rows: list[dict[str, Any]] = []
    per_item: dict[uuid.UUID, int] = {}
    notes: dict[str, str] = {}
    regimes: list[str] = []
    errors: list[FieldError] = []
    for gi, group in enumerate(groups):
        members = [item for item in items if item["delivery_group_id"] == group["id"]]
        ship_to = Address(
            group["ship_to_country"], group["ship_to_region"], group["ship_to_postal_code"], group["ship_to_city"],
            group.get("ship_to_county"),
        )
        context = TaxContext(
            seller=seller_address(seller), ship_to=ship_to, tax_date=order_date, currency=currency,
            buyer_is_business=buyer.business, buyer_vat_id=buyer.vat_id,
            exemption_certificate=buyer.certificate_for(ship_to.country, ship_to.region, order_date),
            prices_include_tax=prices_include_tax,
        )
        lines = [
            TaxLineInput(
                str(item["id"]), item["line_amount"] + item["adjustment_amount"], item["quantity_ordered"],
                tax_classes.get(item["id"], "standard"), item["type"] == "delivery_charge",
            )
            for item in members
        ]
        try:
            result = checked(provider.calculate(lines, context, settings), lines)
        except TaxError as exc:
            errors.append(FieldError(_field(exc, gi, [paths[item["id"]] for item in members]), exc.message))
            continue
        _collect(result, rows, per_item)
        regimes.append(result.regime)
        for note in result.notes:
            notes.setdefault(note.code, note.text)
    if errors:
        raise ValidationFailed(errors)
    return OrderTax(rows, per_item, [{"code": c, "text": t} for c, t in notes.items()], regimes)


def _collect(result: TaxResult, rows: list[dict[str, Any]], per_item: dict[uuid.UUID, int]) -> None:
    for line in result.lines:
        item_id = uuid.UUID(line.line_id)
        per_item[item_id] = line.tax_amount
        for tax in line.tax_lines:
            rows.append({
                "id": new_id(),
                "order_item_summary_id": item_id,
                "name": tax.name,
                "rate": tax.rate,
                "amount": tax.amount,
                "taxable_amount": tax.taxable_amount,
                "jurisdiction": tax.jurisdiction,
                "category": str(tax.category),
                "exemption_reason_code": tax.exemption_reason_code,
            })
