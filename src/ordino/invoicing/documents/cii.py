"""UN/CEFACT Cross Industry Invoice (CII D16B) per EN 16931: the XML inside a Factur-X / ZUGFeRD PDF.

The guideline ID `urn:cen.eu:en16931:2017` is also the Factur-X "EN 16931" profile's. Elements follow
the schema order of the Factur-X 1.0 EN 16931 XSD (a subset of D16B) and the EN 16931 CII syntax
binding. The refusals (what each VAT category asks of the parties, at most two decimals in an amount)
are the UBL writer's, so a document renders in both syntaxes or in neither; amounts are written the
same way, exactly from minor units.

Mapping choices where CII differs from UBL: the due date (BT-9) and the direct-debit mandate (BT-89)
sit in `SpecifiedTradePaymentTerms`, for invoices and credit notes alike; the tax point date (BT-7)
sits once, on the first VAT breakdown row (CII-SR-461); a payee account that is not a valid IBAN goes
in `ProprietaryID`; the card network (UBL's `NetworkID`) has no CII element and is written as the
payment means text (BT-82).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints
from stdnum import iban

from ordino.invoicing.documents.domain import (
    CARD_MEANS,
    Address,
    AllowanceCharge,
    Document,
    Line,
    Party,
    PaymentMeans,
)
from ordino.invoicing.documents.errors import DocumentError
from ordino.invoicing.documents.ubl import (
    ALLOWANCE_DISCOUNT,
    CUSTOMIZATION_ID,
    TAX_NUMBER_SCHEME,
    TYPE_CODES,
    amount_text,
    decimal_text,
    en16931_errors,
)
from ordino.kernel.money import exponent_of, format_price
from ordino.tax.domain import Category, percent_text

GUIDELINE_ID = CUSTOMIZATION_ID  # the Factur-X EN 16931 profile uses the EN's own identifier
NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
_RSM = "{" + NS_RSM + "}"
_RAM = "{" + NS_RAM + "}"
_UDT = "{" + NS_UDT + "}"
_QDT = "{" + NS_QDT + "}"
DATE_FORMAT = "102"  # UNTDID 2379: CCYYMMDD
VAT_SCHEME = "VA"  # a VAT identifier (BT-31 / BT-48)


def render_cii(doc: Document) -> bytes:
    """The document as CII XML (UTF-8), or `DocumentError` if EN 16931 cannot express it."""
    errors = en16931_errors(doc)
    if errors:
        raise DocumentError(errors)
    xml: bytes = etree.tostring(_Writer(doc).root(), xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def _day(day: date) -> str:
    return day.strftime("%Y%m%d")


class _Writer:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.exponent = doc.exponent

    def root(self) -> etree._Element:
        doc = self.doc
        root = etree.Element(_RSM + "CrossIndustryInvoice",
                             nsmap={"rsm": NS_RSM, "ram": NS_RAM, "udt": NS_UDT, "qdt": NS_QDT})
        context = etree.SubElement(root, _RSM + "ExchangedDocumentContext")
        self.ram(self.ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_ID)
        header = etree.SubElement(root, _RSM + "ExchangedDocument")
        self.ram(header, "ID", doc.number)
        self.ram(header, "TypeCode", TYPE_CODES[doc.kind])
        self.date_time(header, "IssueDateTime", doc.issue_date)
        for note in doc.notes:
            self.ram(self.ram(header, "IncludedNote"), "Content", note)
        transaction = etree.SubElement(root, _RSM + "SupplyChainTradeTransaction")
        for ln in doc.lines:
            self.line(transaction, ln)
        self.agreement(self.ram(transaction, "ApplicableHeaderTradeAgreement"))
        self.delivery(self.ram(transaction, "ApplicableHeaderTradeDelivery"))
        self.settlement(self.ram(transaction, "ApplicableHeaderTradeSettlement"))
        return root

    # ---- building blocks ----

    def ram(self, parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
        el = etree.SubElement(parent, _RAM + name, attrs)
        if text is not None:
            el.text = text
        return el

    def opt(self, parent: etree._Element, name: str, text: str | None, **attrs: str) -> None:
        if text:
            self.ram(parent, name, text, **attrs)

    def date_time(self, parent: etree._Element, name: str, day: date) -> None:
        stamp = etree.SubElement(self.ram(parent, name), _UDT + "DateTimeString", format=DATE_FORMAT)
        stamp.text = _day(day)

    def amount(self, parent: etree._Element, name: str, minor: int, **attrs: str) -> None:
        self.ram(parent, name, amount_text(minor, self.exponent), **attrs)

    def tax(self, parent: etree._Element, name: str, category: Category, rate: Decimal) -> None:
        el = self.ram(parent, name)
        self.ram(el, "TypeCode", "VAT")
        self.ram(el, "CategoryCode", category.value)
        if category is not Category.OUTSIDE_SCOPE:  # BR-O-05: no rate for "not subject to VAT"
            self.ram(el, "RateApplicablePercent", percent_text(rate))

    def indicator(self, parent: etree._Element, charge: bool) -> None:
        flag = etree.SubElement(self.ram(parent, "ChargeIndicator"), _UDT + "Indicator")
        flag.text = "true" if charge else "false"

    def address(self, parent: etree._Element, address: Address) -> None:
        el = self.ram(parent, "PostalTradeAddress")
        self.opt(el, "PostcodeCode", address.postal_code)
        lines = [ln for ln in address.lines if ln.strip()]
        for name, text in zip(("LineOne", "LineTwo"), lines, strict=False):
            self.ram(el, name, text)
        if len(lines) > 2:
            self.ram(el, "LineThree", ", ".join(lines[2:]))
        self.ram(el, "CityName", address.city)
        self.ram(el, "CountryID", address.country)
        self.opt(el, "CountrySubDivisionName", address.region)

    def party(self, parent: etree._Element, name: str, party: Party, *, seller: bool) -> None:
        el = self.ram(parent, name)
        self.ram(el, "Name", party.name)
        if seller:
            self.opt(el, "Description", party.legal_info)  # BT-33
        if party.registration_id or party.trading_name:
            legal = self.ram(el, "SpecifiedLegalOrganization")
            self.opt(legal, "ID", party.registration_id)
            self.opt(legal, "TradingBusinessName", party.trading_name)
        if party.contact_name or party.phone or party.email:
            contact = self.ram(el, "DefinedTradeContact")
            self.opt(contact, "PersonName", party.contact_name)
            if party.phone:
                self.ram(self.ram(contact, "TelephoneUniversalCommunication"), "CompleteNumber", party.phone)
            if party.email:
                self.ram(self.ram(contact, "EmailURIUniversalCommunication"), "URIID", party.email)
        self.address(el, party.address)
        if party.endpoint_id and party.endpoint_scheme:
            self.ram(self.ram(el, "URIUniversalCommunication"), "URIID", party.endpoint_id,
                     schemeID=party.endpoint_scheme)
        if party.vat_id:
            self.ram(self.ram(el, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID=VAT_SCHEME)
        if seller and party.tax_number:
            self.ram(self.ram(el, "SpecifiedTaxRegistration"), "ID", party.tax_number, schemeID=TAX_NUMBER_SCHEME)

    def referenced(self, parent: etree._Element, name: str, number: str) -> None:
        self.ram(self.ram(parent, name), "IssuerAssignedID", number)

    # ---- lines ----

    def line(self, parent: etree._Element, ln: Line) -> None:
        el = self.ram(parent, "IncludedSupplyChainTradeLineItem")
        self.ram(self.ram(el, "AssociatedDocumentLineDocument"), "LineID", ln.id)
        product = self.ram(el, "SpecifiedTradeProduct")
        self.opt(product, "SellerAssignedID", ln.sku)
        self.ram(product, "Name", ln.name)
        self.opt(product, "Description", ln.description)
        price = self.ram(self.ram(el, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
        self.ram(price, "ChargeAmount", format_price(ln.unit_price, self.doc.currency))
        self.ram(self.ram(el, "SpecifiedLineTradeDelivery"), "BilledQuantity", decimal_text(ln.quantity),
                 unitCode=ln.unit_code)
        settlement = self.ram(el, "SpecifiedLineTradeSettlement")
        self.tax(settlement, "ApplicableTradeTax", ln.category, ln.rate)
        if ln.discount:
            allowance = self.ram(settlement, "SpecifiedTradeAllowanceCharge")
            self.indicator(allowance, False)
            self.amount(allowance, "ActualAmount", ln.discount)
            self.ram(allowance, "ReasonCode", ALLOWANCE_DISCOUNT)
            self.opt(allowance, "Reason", ln.discount_reason)
        summation = self.ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
        self.amount(summation, "LineTotalAmount", ln.net_amount)

    # ---- header ----

    def agreement(self, el: etree._Element) -> None:
        doc = self.doc
        self.opt(el, "BuyerReference", doc.buyer_reference)
        self.party(el, "SellerTradeParty", doc.seller, seller=True)
        self.party(el, "BuyerTradeParty", doc.buyer, seller=False)
        if doc.order_number:
            self.referenced(el, "SellerOrderReferencedDocument", doc.order_number)
        if doc.purchase_order:
            self.referenced(el, "BuyerOrderReferencedDocument", doc.purchase_order)

    def delivery(self, el: etree._Element) -> None:
        """Always present (the schema requires it), empty when nothing is known of the delivery."""
        delivery = self.doc.delivery
        if delivery is None:
            return
        if delivery.name or delivery.address:
            ship_to = self.ram(el, "ShipToTradeParty")
            self.opt(ship_to, "Name", delivery.name)
            if delivery.address is not None:
                self.address(ship_to, delivery.address)
        if delivery.date is not None:
            self.date_time(self.ram(el, "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime", delivery.date)

    def settlement(self, el: etree._Element) -> None:
        doc = self.doc
        direct_debit = doc.payment_means is PaymentMeans.SEPA_DIRECT_DEBIT
        if direct_debit:
            self.opt(el, "CreditorReferenceID", doc.seller.sepa_creditor_id)  # BT-90
        self.opt(el, "PaymentReference", doc.payment_reference)
        self.opt(el, "TaxCurrencyCode", doc.tax_currency)
        self.ram(el, "InvoiceCurrencyCode", doc.currency)
        self.payment_means(el)
        for i, row in enumerate(doc.tax_breakdown):
            tax = self.ram(el, "ApplicableTradeTax")
            self.amount(tax, "CalculatedAmount", row.tax_amount)
            self.ram(tax, "TypeCode", "VAT")
            self.opt(tax, "ExemptionReason", row.exemption_reason)
            self.amount(tax, "BasisAmount", row.taxable_amount)
            self.ram(tax, "CategoryCode", row.category.value)
            self.opt(tax, "ExemptionReasonCode", row.exemption_reason_code)
            if doc.tax_point_date is not None and i == 0:  # CII-SR-461: once per document
                stamp = etree.SubElement(self.ram(tax, "TaxPointDate"), _UDT + "DateString", format=DATE_FORMAT)
                stamp.text = _day(doc.tax_point_date)
            if row.category is not Category.OUTSIDE_SCOPE:
                self.ram(tax, "RateApplicablePercent", percent_text(row.rate))
        for allowance in doc.allowances:
            self.allowance_charge(el, allowance, charge=False)
        for charge in doc.charges:
            self.allowance_charge(el, charge, charge=True)
        mandate = doc.mandate.reference if direct_debit and doc.mandate else None
        if doc.payment_terms or doc.due_date or mandate:
            terms = self.ram(el, "SpecifiedTradePaymentTerms")
            self.opt(terms, "Description", doc.payment_terms)
            if doc.due_date is not None:
                self.date_time(terms, "DueDateDateTime", doc.due_date)
            self.opt(terms, "DirectDebitMandateID", mandate)
        self.monetary_summation(el)
        for invoice in doc.preceding_invoices:
            ref = self.ram(el, "InvoiceReferencedDocument")
            self.ram(ref, "IssuerAssignedID", invoice.number)
            if invoice.issue_date is not None:
                stamp = etree.SubElement(self.ram(ref, "FormattedIssueDateTime"), _QDT + "DateTimeString",
                                         format=DATE_FORMAT)
                stamp.text = _day(invoice.issue_date)

    def payment_means(self, parent: etree._Element) -> None:
        doc = self.doc
        means = doc.payment_means
        if means is None:
            return
        el = self.ram(parent, "SpecifiedTradeSettlementPaymentMeans")
        self.ram(el, "TypeCode", means.value)
        if means in CARD_MEANS:
            if doc.card is not None:
                self.opt(el, "Information", doc.card.brand.title() if doc.card.brand else None)
                self.ram(self.ram(el, "ApplicableTradeSettlementFinancialCard"), "ID", doc.card.last4)
            return
        if means is PaymentMeans.SEPA_DIRECT_DEBIT:
            if doc.mandate is not None and doc.mandate.debited_iban:
                self.ram(self.ram(el, "PayerPartyDebtorFinancialAccount"), "IBANID",
                         doc.mandate.debited_iban.replace(" ", ""))
            return
        account = doc.payee_account
        if account is None:
            return
        number = account.iban.replace(" ", "")
        acc = self.ram(el, "PayeePartyCreditorFinancialAccount")
        if iban.is_valid(number):
            self.ram(acc, "IBANID", number)
            self.opt(acc, "AccountName", account.account_name)
        else:  # not an IBAN: the account's own number (BT-84 still)
            self.opt(acc, "AccountName", account.account_name)
            self.ram(acc, "ProprietaryID", number)
        if account.bic:
            self.ram(self.ram(el, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", account.bic)

    def allowance_charge(self, parent: etree._Element, item: AllowanceCharge, *, charge: bool) -> None:
        el = self.ram(parent, "SpecifiedTradeAllowanceCharge")
        self.indicator(el, charge)
        self.amount(el, "ActualAmount", item.amount)
        self.opt(el, "ReasonCode", item.reason_code)
        self.opt(el, "Reason", item.reason)
        self.tax(el, "CategoryTradeTax", item.category, item.rate)

    def monetary_summation(self, parent: etree._Element) -> None:
        doc, t = self.doc, self.doc.totals
        el = self.ram(parent, "SpecifiedTradeSettlementHeaderMonetarySummation")
        self.amount(el, "LineTotalAmount", t.line_total)
        if doc.charges:
            self.amount(el, "ChargeTotalAmount", t.charge_total)
        if doc.allowances:
            self.amount(el, "AllowanceTotalAmount", t.allowance_total)
        self.amount(el, "TaxBasisTotalAmount", t.tax_exclusive)
        self.amount(el, "TaxTotalAmount", t.tax_total, currencyID=doc.currency)
        if doc.tax_currency is not None and doc.tax_total_in_tax_currency is not None:  # BT-111
            self.ram(el, "TaxTotalAmount", amount_text(doc.tax_total_in_tax_currency, exponent_of(doc.tax_currency)),
                     currencyID=doc.tax_currency)
        self.amount(el, "GrandTotalAmount", t.tax_inclusive)
        if t.prepaid:
            self.amount(el, "TotalPrepaidAmount", t.prepaid)
        self.amount(el, "DuePayableAmount", t.payable)
