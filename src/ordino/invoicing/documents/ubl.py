"""UBL 2.1 Invoice and CreditNote per EN 16931, as plain EN 16931, Peppol BIS Billing 3.0 or XRechnung.

The three flavours are the same document with a different specification identifier
(`CustomizationID`) and what each asks for on top of EN 16931:
- `en16931`: `urn:cen.eu:en16931:2017`, the core rules only;
- `peppol`: Peppol BIS Billing 3.0 (profile `billing:01`): both parties' electronic addresses,
  a buyer reference or order reference, at most one note (unless seller and buyer are German),
  and the German rules (DE-R-*) when seller and buyer are both in Germany;
- `xrechnung`: the German CIUS (XRechnung 3.0, sent with the Peppol profile): the German rules
  always, and the buyer reference (the public buyer's Leitweg-ID) is mandatory.

A party without an electronic address of its own gets its VAT ID under its country's VAT scheme
(9930 for DE, 9957 for FR …, `ordino.kernel.eas`); failing that the plain EN 16931 flavour uses
its e-mail (scheme EM), which Peppol's code list does not accept, so Peppol and XRechnung refuse
the document naming the party's `endpoint_id` instead of inventing an address.

Payment means follow how the document is paid: a credit transfer (30/58) names the payee's IBAN
and BIC, a card (48/54/55) only the card's last four digits and network (never the seller's IBAN:
DE-R-024), a SEPA direct debit (59) the mandate, the debited IBAN and the seller's creditor ID.

Elements follow the UBL 2.1 schema order and the EN 16931 UBL syntax binding; only elements of the
binding are written, so the official validation raises neither errors nor "should not include"
warnings. Amounts are written exactly from minor units. EN 16931 allows at most two decimals in
an amount (BR-DEC-*), so a document in a currency with three or four decimals (KWD, CLF) renders
only when every amount is a whole number of hundredths; otherwise `DocumentError` names the amount.

Before writing, `en16931_errors` checks what EN 16931 asks of the parties for each VAT category
(BR-S-02, BR-AE-02, BR-O-02 …), so a refusal names the missing field instead of producing an
invoice that a receiver would reject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from ordino.invoicing.documents.domain import (
    CARD_MEANS,
    Address,
    AllowanceCharge,
    Document,
    DocumentKind,
    Line,
    Party,
    PaymentMeans,
    is_country,
)
from ordino.invoicing.documents.errors import DocumentError
from ordino.kernel.eas import EMAIL_SCHEME, PEPPOL_SCHEMES, vat_endpoint
from ordino.kernel.errors import FieldError
from ordino.kernel.money import EXACT, exponent_of, format_price
from ordino.tax.domain import Category, percent_text


class Flavour(StrEnum):
    EN16931 = "en16931"
    PEPPOL = "peppol"
    XRECHNUNG = "xrechnung"


CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017"
CUSTOMIZATION_IDS = {
    Flavour.EN16931: CUSTOMIZATION_ID,
    Flavour.PEPPOL: "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
    Flavour.XRECHNUNG: "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}
PEPPOL_PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
PEPPOL_LINE_SLACK = Decimal("0.02")  # PEPPOL-EN16931-R120
SEPA_CREDITOR_SCHEME = "SEPA"  # BT-90 in UBL: the seller's PartyIdentification with this scheme
UNKNOWN_CARD_NETWORK = "NA"  # UBL requires a NetworkID; "not available" when the brand is unknown
NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_CAC = "{" + NS_CAC + "}"
_CBC = "{" + NS_CBC + "}"

TYPE_CODES = {DocumentKind.INVOICE: "380", DocumentKind.CREDIT_NOTE: "381"}
ALLOWANCE_DISCOUNT = "95"  # UNTDID 5189: discount
TAX_NUMBER_SCHEME = "FC"  # a seller tax registration that is not a VAT ID (BT-32)
MAX_DECIMALS = 2  # EN 16931 BR-DEC-*
_DIRECT_DEBITS = frozenset({PaymentMeans.SEPA_DIRECT_DEBIT, PaymentMeans.DIRECT_DEBIT})

# What each category asks of the parties (EN 16931 BR-x-02 and BR-x-03/04 rules).
_SELLER_ID_OR_TAX_NUMBER = frozenset({Category.STANDARD, Category.ZERO, Category.EXEMPT, Category.REVERSE_CHARGE})
_SELLER_VAT_ID = frozenset({Category.INTRA_COMMUNITY, Category.EXPORT})


def render_ubl(doc: Document, flavour: Flavour = Flavour.EN16931) -> bytes:
    """The document as UBL 2.1 XML (UTF-8), or `DocumentError` if the flavour cannot express it."""
    errors = en16931_errors(doc)
    if flavour is not Flavour.EN16931:
        errors += peppol_errors(doc, flavour)
    if errors:
        raise DocumentError(errors)
    root = _Writer(doc, flavour).root()
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def endpoint(party: Party, flavour: Flavour = Flavour.EN16931) -> tuple[str, str] | None:
    """(scheme, identifier) of the party's electronic address: its own, its VAT ID, or (EN 16931) its e-mail."""
    if party.endpoint_id and party.endpoint_scheme:
        return party.endpoint_scheme, party.endpoint_id
    by_vat = vat_endpoint(party.vat_id)
    if by_vat is not None:
        return by_vat
    if party.email and flavour is Flavour.EN16931:
        return EMAIL_SCHEME, party.email
    return None


def german_rules(doc: Document, flavour: Flavour) -> bool:
    """Whether the German rules apply: always for XRechnung; in Peppol when seller and buyer are German."""
    if flavour is Flavour.XRECHNUNG:
        return True
    return flavour is Flavour.PEPPOL and doc.seller.address.country == "DE" == doc.buyer.address.country


def peppol_errors(doc: Document, flavour: Flavour) -> list[FieldError]:
    """What Peppol BIS Billing 3.0 (and XRechnung) ask on top of EN 16931, each naming its field."""
    errors: list[FieldError] = []

    def add(path: str, message: str) -> None:
        errors.append(FieldError(path, message))

    for path, party in (("seller", doc.seller), ("buyer", doc.buyer)):
        address = endpoint(party, flavour)
        if address is None and path == "buyer":
            # A buyer with no electronic address (a consumer) is not on the Peppol network: its
            # document is still written, complete but for BT-49, rather than refused.
            continue
        if address is None:
            add(f"{path}.endpoint_id", f"Peppol needs the {path}'s electronic address: set its endpoint scheme and "
                "identifier (or a VAT ID of a country with a Peppol VAT scheme)")
        elif address[0] not in PEPPOL_SCHEMES:
            add(f"{path}.endpoint_scheme", f"'{address[0]}' is not in the Peppol EAS code list")
    if not (doc.buyer_reference or doc.purchase_order):
        add("buyer_reference", "Peppol needs the buyer reference or the purchase order number")
    if german_rules(doc, flavour):
        _german_errors(doc, add)
    return errors


def _german_errors(doc: Document, add: Callable[[str, str], None]) -> None:
    seller = doc.seller
    for field, value in (("contact_name", seller.contact_name), ("phone", seller.phone), ("email", seller.email)):
        if not value:
            add(f"seller.{field}", "German invoices name the seller's contact, telephone and e-mail (DE-R-005/6/7)")
    for path, address in (("seller.address", seller.address), ("buyer.address", doc.buyer.address)):
        if not address.postal_code:
            add(f"{path}.postal_code", "German invoices need the postcode (DE-R-004, DE-R-009)")
    if doc.delivery is not None and doc.delivery.address is not None and not doc.delivery.address.postal_code:
        add("delivery.address.postal_code", "German invoices need the postcode of the delivery address (DE-R-011)")
    if doc.payment_means is None:
        add("payment_means", "German invoices state the payment instructions (DE-R-001)")
    if not doc.buyer_reference:
        add("buyer_reference", "German invoices and XRechnung carry the buyer reference, for public buyers their "
            "Leitweg-ID (DE-R-015)")
    if doc.payment_means in CARD_MEANS and doc.card is None:
        add("card.last4", "a card payment names the card's last four digits (DE-R-024)")
    if doc.payment_means is PaymentMeans.SEPA_DIRECT_DEBIT:
        if not seller.sepa_creditor_id:
            add("seller.sepa_creditor_id", "a SEPA direct debit needs the seller's creditor ID (DE-R-030)")
        if doc.mandate is not None and not doc.mandate.debited_iban:
            add("mandate.debited_iban", "a SEPA direct debit needs the debited IBAN (DE-R-031)")


def en16931_errors(doc: Document) -> list[FieldError]:
    errors: list[FieldError] = []

    def add(path: str, message: str) -> None:
        errors.append(FieldError(path, message))

    categories = {ln.category for ln in doc.lines}
    categories |= {a.category for a in doc.allowances} | {c.category for c in doc.charges}
    seller, buyer = doc.seller, doc.buyer
    if categories & _SELLER_ID_OR_TAX_NUMBER and not (seller.vat_id or seller.tax_number):
        add("seller.vat_id", "VAT categories S, Z, E and AE need the seller's VAT ID or tax number")
    if categories & _SELLER_VAT_ID and not seller.vat_id:
        add("seller.vat_id", "an export or intra-community supply needs the seller's VAT ID")
    if Category.REVERSE_CHARGE in categories and not (buyer.vat_id or buyer.registration_id):
        add("buyer.vat_id", "reverse charge (AE) needs the buyer's VAT ID")
    if Category.INTRA_COMMUNITY in categories:
        if not buyer.vat_id:
            add("buyer.vat_id", "an intra-community supply (K) needs the buyer's VAT ID")
        if doc.delivery is None or doc.delivery.date is None:
            add("delivery.date", "an intra-community supply (K) needs the delivery date")
        if doc.delivery is None or doc.delivery.address is None:
            add("delivery.address", "an intra-community supply (K) needs the delivery country")
    if Category.OUTSIDE_SCOPE in categories:
        if len(categories) > 1:
            add("lines", "a document not subject to VAT (O) cannot have lines in other VAT categories")
        if seller.vat_id:
            add("seller.vat_id", "a document not subject to VAT (O) cannot carry the seller's VAT ID")
        if buyer.vat_id:
            add("buyer.vat_id", "a document not subject to VAT (O) cannot carry the buyer's VAT ID")
    if not (seller.vat_id or seller.registration_id):
        add("seller.registration_id", "the seller needs a VAT ID or a company registration number")
    for path, vat_id in (("seller.vat_id", seller.vat_id), ("buyer.vat_id", buyer.vat_id)):
        if vat_id and not (vat_id[:2] == "EL" or is_country(vat_id[:2])):
            add(path, f"'{vat_id}' does not start with a country code")
    _decimals_errors(doc, add)  # BR-CO-17 (VAT per row within one unit of the rate) is the Document's own check
    return errors


def _decimals_errors(doc: Document, add: Callable[[str, str], None]) -> None:
    if doc.exponent <= MAX_DECIMALS:
        return
    step = 10 ** (doc.exponent - MAX_DECIMALS)
    amounts: list[tuple[str, int]] = [(f"totals.{k}", v) for k, v in asdict(doc.totals).items()]
    amounts += [(f"lines[{i}].net_amount", ln.net_amount) for i, ln in enumerate(doc.lines)]
    amounts += [(f"lines[{i}].discount", ln.discount) for i, ln in enumerate(doc.lines)]
    amounts += [(f"allowances[{i}].amount", a.amount) for i, a in enumerate(doc.allowances)]
    amounts += [(f"charges[{i}].amount", c.amount) for i, c in enumerate(doc.charges)]
    for i, row in enumerate(doc.tax_breakdown):
        amounts += [(f"tax_breakdown[{i}].taxable_amount", row.taxable_amount),
                    (f"tax_breakdown[{i}].tax_amount", row.tax_amount)]
    for path, minor in amounts:
        if minor % step:
            add(path, f"EN 16931 allows at most {MAX_DECIMALS} decimals in an amount; "
                f"{doc.currency} has {doc.exponent}")


def amount_text(minor: int, exponent: int) -> str:
    """Minor units as a decimal string with the currency's decimals, at most two."""
    value = Decimal(minor).scaleb(-exponent, EXACT)
    places = min(exponent, MAX_DECIMALS)
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=EXACT):f}"


def decimal_text(value: Decimal) -> str:
    text = f"{value.normalize(EXACT):f}"
    return "0" if text in ("-0", "0") else text


class _Writer:
    def __init__(self, doc: Document, flavour: Flavour = Flavour.EN16931) -> None:
        self.doc = doc
        self.flavour = flavour
        self.currency = doc.currency
        self.exponent = doc.exponent
        self.credit = doc.kind is DocumentKind.CREDIT_NOTE

    def root(self) -> etree._Element:
        doc = self.doc
        ns = NS_CREDIT_NOTE if self.credit else NS_INVOICE
        root = etree.Element(
            "{%s}%s" % (ns, "CreditNote" if self.credit else "Invoice"),  # noqa: UP031
            nsmap={None: ns, "cac": NS_CAC, "cbc": NS_CBC},
        )
        self.cbc(root, "CustomizationID", CUSTOMIZATION_IDS[self.flavour])
        if self.flavour is not Flavour.EN16931:
            self.cbc(root, "ProfileID", PEPPOL_PROFILE_ID)
        self.cbc(root, "ID", doc.number)
        self.cbc(root, "IssueDate", doc.issue_date.isoformat())
        if self.credit:
            self.date(root, "TaxPointDate", doc.tax_point_date)
            self.cbc(root, "CreditNoteTypeCode", TYPE_CODES[doc.kind])
        else:
            self.date(root, "DueDate", doc.due_date)
            self.cbc(root, "InvoiceTypeCode", TYPE_CODES[doc.kind])
        notes = [note for note in doc.notes if note.strip()]
        both_german = doc.seller.address.country == "DE" == doc.buyer.address.country
        if len(notes) > 1 and self.flavour is not Flavour.EN16931 and not both_german:
            notes = ["\n".join(notes)]  # PEPPOL-EN16931-R002: one note, unless seller and buyer are German
        for note in notes:
            self.cbc(root, "Note", note)
        if not self.credit:
            self.date(root, "TaxPointDate", doc.tax_point_date)
        self.cbc(root, "DocumentCurrencyCode", doc.currency)
        self.opt(root, "TaxCurrencyCode", doc.tax_currency)
        self.opt(root, "BuyerReference", doc.buyer_reference)
        if doc.purchase_order or doc.order_number:
            ref = self.cac(root, "OrderReference")
            self.cbc(ref, "ID", doc.purchase_order or "NA")  # UBL needs an ID; "NA" when only BT-14 exists
            self.opt(ref, "SalesOrderID", doc.order_number)
        for invoice in doc.preceding_invoices:
            ref = self.cac(self.cac(root, "BillingReference"), "InvoiceDocumentReference")
            self.cbc(ref, "ID", invoice.number)
            self.date(ref, "IssueDate", invoice.issue_date)
        self.party(self.cac(root, "AccountingSupplierParty"), doc.seller, seller=True)
        self.party(self.cac(root, "AccountingCustomerParty"), doc.buyer, seller=False)
        self.delivery(root)
        self.payment(root)
        for allowance in doc.allowances:
            self.allowance_charge(root, allowance, charge=False)
        for charge in doc.charges:
            self.allowance_charge(root, charge, charge=True)
        self.tax_total(root)
        self.monetary_total(root)
        for ln in doc.lines:
            self.line(root, ln)
        return root

    # ---- building blocks ----

    def cbc(self, parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
        el = etree.SubElement(parent, _CBC + name, attrs)
        el.text = text
        return el

    def opt(self, parent: etree._Element, name: str, text: str | None) -> None:
        if text:
            self.cbc(parent, name, text)

    def date(self, parent: etree._Element, name: str, day: date | None) -> None:
        if day is not None:
            self.cbc(parent, name, day.isoformat())

    def cac(self, parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, _CAC + name)

    def amount(self, parent: etree._Element, name: str, minor: int) -> None:
        self.cbc(parent, name, amount_text(minor, self.exponent), currencyID=self.currency)

    def tax_category(self, parent: etree._Element, name: str, category: Category, rate: Decimal,
                     reason: str | None = None, reason_code: str | None = None) -> None:
        cat = self.cac(parent, name)
        self.cbc(cat, "ID", category.value)
        if category is not Category.OUTSIDE_SCOPE:  # BR-O-05: no rate for "not subject to VAT"
            self.cbc(cat, "Percent", percent_text(rate))
        self.opt(cat, "TaxExemptionReasonCode", reason_code)
        self.opt(cat, "TaxExemptionReason", reason)
        self.cbc(self.cac(cat, "TaxScheme"), "ID", "VAT")

    def address(self, parent: etree._Element, name: str, address: Address) -> None:
        el = self.cac(parent, name)
        lines = [ln for ln in address.lines if ln.strip()]
        if lines:
            self.cbc(el, "StreetName", lines[0])
        if len(lines) > 1:
            self.cbc(el, "AdditionalStreetName", lines[1])
        self.cbc(el, "CityName", address.city)
        self.opt(el, "PostalZone", address.postal_code)
        self.opt(el, "CountrySubentity", address.region)
        if len(lines) > 2:
            self.cbc(self.cac(el, "AddressLine"), "Line", ", ".join(lines[2:]))
        self.cbc(self.cac(el, "Country"), "IdentificationCode", address.country)

    def party(self, parent: etree._Element, party: Party, *, seller: bool) -> None:
        el = self.cac(parent, "Party")
        address = endpoint(party, self.flavour)
        if address is not None:
            self.cbc(el, "EndpointID", address[1], schemeID=address[0])
        if seller and party.sepa_creditor_id and self.doc.payment_means is PaymentMeans.SEPA_DIRECT_DEBIT:
            self.cbc(self.cac(el, "PartyIdentification"), "ID", party.sepa_creditor_id,
                     schemeID=SEPA_CREDITOR_SCHEME)
        if party.trading_name:
            self.cbc(self.cac(el, "PartyName"), "Name", party.trading_name)
        self.address(el, "PostalAddress", party.address)
        if party.vat_id:
            scheme = self.cac(el, "PartyTaxScheme")
            self.cbc(scheme, "CompanyID", party.vat_id)
            self.cbc(self.cac(scheme, "TaxScheme"), "ID", "VAT")
        if seller and party.tax_number:
            scheme = self.cac(el, "PartyTaxScheme")
            self.cbc(scheme, "CompanyID", party.tax_number)
            self.cbc(self.cac(scheme, "TaxScheme"), "ID", TAX_NUMBER_SCHEME)
        legal = self.cac(el, "PartyLegalEntity")
        self.cbc(legal, "RegistrationName", party.name)
        self.opt(legal, "CompanyID", party.registration_id)
        if seller:
            self.opt(legal, "CompanyLegalForm", party.legal_info)
        if party.contact_name or party.phone or party.email:
            contact = self.cac(el, "Contact")
            self.opt(contact, "Name", party.contact_name)
            self.opt(contact, "Telephone", party.phone)
            self.opt(contact, "ElectronicMail", party.email)

    def delivery(self, root: etree._Element) -> None:
        delivery = self.doc.delivery
        if delivery is None or not (delivery.date or delivery.address or delivery.name):
            return
        el = self.cac(root, "Delivery")
        self.date(el, "ActualDeliveryDate", delivery.date)
        if delivery.address is not None:
            self.address(self.cac(el, "DeliveryLocation"), "Address", delivery.address)
        if delivery.name:
            self.cbc(self.cac(self.cac(el, "DeliveryParty"), "PartyName"), "Name", delivery.name)

    def payment(self, root: etree._Element) -> None:
        doc = self.doc
        means = doc.payment_means
        if means is None and self.credit and doc.due_date:
            means = PaymentMeans.NOT_DEFINED  # a credit note's due date (BT-9) can only sit in PaymentMeans
        if means is not None:
            el = self.cac(root, "PaymentMeans")
            self.cbc(el, "PaymentMeansCode", means.value)
            if self.credit:  # a UBL 2.1 credit note has no DueDate; EN 16931 puts BT-9 here
                self.date(el, "PaymentDueDate", doc.due_date)
            self.opt(el, "PaymentID", doc.payment_reference)
            if means in CARD_MEANS:
                # Only the card (BG-18): a card payment never carries an account to transfer to (DE-R-024).
                if doc.card is not None:
                    card = self.cac(el, "CardAccount")
                    self.cbc(card, "PrimaryAccountNumberID", doc.card.last4)
                    self.cbc(card, "NetworkID", (doc.card.brand or UNKNOWN_CARD_NETWORK).upper())
            elif means in _DIRECT_DEBITS:
                if doc.mandate is not None:
                    mandate = self.cac(el, "PaymentMandate")
                    self.cbc(mandate, "ID", doc.mandate.reference)
                    if doc.mandate.debited_iban:
                        self.cbc(self.cac(mandate, "PayerFinancialAccount"), "ID",
                                 doc.mandate.debited_iban.replace(" ", ""))
            else:
                self.payee_account(el)
        if doc.payment_terms:
            self.cbc(self.cac(root, "PaymentTerms"), "Note", doc.payment_terms)

    def payee_account(self, parent: etree._Element) -> None:
        account = self.doc.payee_account
        if account is not None:
            acc = self.cac(parent, "PayeeFinancialAccount")
            self.cbc(acc, "ID", account.iban.replace(" ", ""))
            self.opt(acc, "Name", account.account_name)
            if account.bic:
                self.cbc(self.cac(acc, "FinancialInstitutionBranch"), "ID", account.bic)

    def allowance_charge(self, parent: etree._Element, item: AllowanceCharge, *, charge: bool) -> None:
        el = self.cac(parent, "AllowanceCharge")
        self.cbc(el, "ChargeIndicator", "true" if charge else "false")
        self.opt(el, "AllowanceChargeReasonCode", item.reason_code)
        self.opt(el, "AllowanceChargeReason", item.reason)
        self.amount(el, "Amount", item.amount)
        self.tax_category(el, "TaxCategory", item.category, item.rate)

    def tax_total(self, root: etree._Element) -> None:
        el = self.cac(root, "TaxTotal")
        self.amount(el, "TaxAmount", self.doc.totals.tax_total)
        for row in self.doc.tax_breakdown:
            sub = self.cac(el, "TaxSubtotal")
            self.amount(sub, "TaxableAmount", row.taxable_amount)
            self.amount(sub, "TaxAmount", row.tax_amount)
            self.tax_category(sub, "TaxCategory", row.category, row.rate, row.exemption_reason,
                              row.exemption_reason_code)
        if self.doc.tax_currency is not None and self.doc.tax_total_in_tax_currency is not None:
            # BT-111: the VAT total in the seller's accounting currency, in a TaxTotal of its own.
            accounting = self.cac(root, "TaxTotal")
            self.cbc(accounting, "TaxAmount", amount_text(self.doc.tax_total_in_tax_currency,
                                                           exponent_of(self.doc.tax_currency)),
                     currencyID=self.doc.tax_currency)

    def monetary_total(self, root: etree._Element) -> None:
        t = self.doc.totals
        el = self.cac(root, "LegalMonetaryTotal")
        self.amount(el, "LineExtensionAmount", t.line_total)
        self.amount(el, "TaxExclusiveAmount", t.tax_exclusive)
        self.amount(el, "TaxInclusiveAmount", t.tax_inclusive)
        if self.doc.allowances:
            self.amount(el, "AllowanceTotalAmount", t.allowance_total)
        if self.doc.charges:
            self.amount(el, "ChargeTotalAmount", t.charge_total)
        if t.prepaid:
            self.amount(el, "PrepaidAmount", t.prepaid)
        self.amount(el, "PayableAmount", t.payable)

    def line(self, root: etree._Element, ln: Line) -> None:
        el = self.cac(root, "CreditNoteLine" if self.credit else "InvoiceLine")
        self.cbc(el, "ID", ln.id)
        self.cbc(el, "CreditedQuantity" if self.credit else "InvoicedQuantity", decimal_text(ln.quantity),
                 unitCode=ln.unit_code)
        self.amount(el, "LineExtensionAmount", ln.net_amount)
        if ln.discount:
            allowance = self.cac(el, "AllowanceCharge")
            self.cbc(allowance, "ChargeIndicator", "false")
            self.cbc(allowance, "AllowanceChargeReasonCode", ALLOWANCE_DISCOUNT)
            self.opt(allowance, "AllowanceChargeReason", ln.discount_reason)
            self.amount(allowance, "Amount", ln.discount)
        item = self.cac(el, "Item")
        self.opt(item, "Description", ln.description)
        self.cbc(item, "Name", ln.name)
        if ln.sku:
            self.cbc(self.cac(item, "SellersItemIdentification"), "ID", ln.sku)
        self.tax_category(item, "ClassifiedTaxCategory", ln.category, ln.rate)
        price = self.cac(el, "Price")
        gross = Decimal(ln.net_amount + ln.discount).scaleb(-self.exponent, EXACT)
        off = abs(ln.quantity * ln.unit_price - gross) > PEPPOL_LINE_SLACK
        if self.flavour is not Flavour.EN16931 and off and ln.quantity > 0:
            # PEPPOL-EN16931-R120 wants quantity × price within 0.02 of the amount, which a currency
            # without cents cannot round to (3 × ¥333.5 = ¥1001): the price is then for the whole quantity.
            self.cbc(price, "PriceAmount", decimal_text(gross), currencyID=self.currency)
            self.cbc(price, "BaseQuantity", decimal_text(ln.quantity), unitCode=ln.unit_code)
        else:
            self.cbc(price, "PriceAmount", format_price(ln.unit_price, self.currency), currencyID=self.currency)
