"""The pure rules: Message-IDs, languages, tracking links, who receives what by default."""

from __future__ import annotations

import re
import uuid

from ordino.notifications import domain
from ordino.notifications.domain import ContactInfo, Kind

EVENT = uuid.UUID("01a2531d-d4b9-70e1-8037-b16bf3c32b05")
BUYER = ContactInfo(uuid.UUID(int=1), "anna@acme.example", ("buyer",))
ADMIN = ContactInfo(uuid.UUID(int=2), "billing@acme.example", ("account_admin",))
APPROVER = ContactInfo(uuid.UUID(int=3), "clara@acme.example", ("approver", "buyer"))
NO_MAIL = ContactInfo(uuid.UUID(int=4), None, ("account_admin",))


def test_the_message_id_depends_on_event_kind_and_recipient_only() -> None:
    mid = domain.message_id(EVENT, "invoice", "Anna@ACME.example")
    assert re.fullmatch(r"<[0-9a-f-]{36}@ordino\.local-domain>", mid)
    assert domain.message_id(EVENT, "invoice", "anna@acme.example ") == mid  # one address, however written
    assert domain.message_id(EVENT, "shipment", "anna@acme.example") != mid
    assert domain.message_id(EVENT, "invoice", "clara@acme.example") != mid
    assert domain.message_id(uuid.UUID(int=9), "invoice", "anna@acme.example") != mid


def test_the_language_is_the_locales_when_a_catalog_has_it() -> None:
    assert [domain.language(x) for x in ("de", "de_AT", "de-CH", "DE", "en_US", "fr_FR", "", None)] == [
        "de", "de", "de", "de", "en", "en", "en", "en"]
    assert [domain.babel_locale(x) for x in ("de-ch", "en_US", "fr", None, "x!")] == ["de_CH", "en_US", "fr", "en",
                                                                                       "en"]


def test_tracking_links_for_known_carriers_only() -> None:
    assert domain.tracking_url("UPS", "1Z 999") == "https://www.ups.com/track?tracknum=1Z%20999"
    assert domain.tracking_url(" dhl ", "003404") == "https://www.dhl.com/global-en/home/tracking.html?tracking-id=003404"
    assert domain.tracking_url("Own van", "7") is None
    assert domain.tracking_url(None, "7") is None


def test_the_default_rule() -> None:
    contacts = [BUYER, ADMIN, APPROVER, NO_MAIL]
    # the one who placed the order gets confirmations; administrators with an address get invoices
    assert domain.recipients(Kind.ORDER_CONFIRMATION, contacts, {}, placer=BUYER.id) == [BUYER]
    assert domain.recipients(Kind.INVOICE, contacts, {}, placer=BUYER.id) == [ADMIN]
    # approvers, never the one who placed it
    assert domain.recipients(Kind.APPROVAL_REQUESTED, contacts, {}, placer=APPROVER.id,
                             excluded=[APPROVER.id]) == []
    assert domain.recipients(Kind.APPROVAL_REQUESTED, contacts, {}, placer=BUYER.id) == [APPROVER]
    # no placer known: every buyer
    assert domain.recipients(Kind.SHIPMENT, contacts, {}) == [BUYER, APPROVER]
    # no administrator with an address: the placer gets the invoice
    assert domain.recipients(Kind.INVOICE, [BUYER, NO_MAIL], {}, placer=BUYER.id) == [BUYER]


def test_preferences_add_and_remove() -> None:
    contacts = [BUYER, ADMIN]
    prefs = {(BUYER.id, "invoice"): True, (ADMIN.id, "invoice"): False}
    assert domain.recipients(Kind.INVOICE, contacts, prefs, placer=BUYER.id) == [BUYER]
    prefs = {(BUYER.id, "order_confirmation"): False}
    assert domain.recipients(Kind.ORDER_CONFIRMATION, contacts, prefs, placer=BUYER.id) == []


def test_each_address_once() -> None:
    twin = ContactInfo(uuid.UUID(int=5), "ANNA@acme.example", ("buyer",))
    assert domain.recipients(Kind.SHIPMENT, [BUYER, twin], {}) == [BUYER]
