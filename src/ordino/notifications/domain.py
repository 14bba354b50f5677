"""Pure notification rules: message kinds, who receives each by default, Message-IDs, languages,
tracking links. No database, no HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote


class Kind(StrEnum):
    ORDER_CONFIRMATION = "order_confirmation"
    APPROVAL_REQUESTED = "approval_requested"
    SHIPMENT = "shipment"
    INVOICE = "invoice"
    RETURN_CREDITED = "return_credited"
    QUOTE_SENT = "quote_sent"
    PROCESS_EXCEPTION = "process_exception"  # to the operations address, never to a contact


# The kinds a contact may choose to receive or not (preferences).
CONTACT_KINDS = tuple(k for k in Kind if k is not Kind.PROCESS_EXCEPTION)
LANGUAGES = ("en", "de")  # complete catalogs; any other locale is written to in English
DEFAULT_LANGUAGE = "en"
# The namespace of Message-IDs: uuid5(namespace, "<event id>/<kind>/<recipient>").
MESSAGE_NAMESPACE = uuid.UUID("6f1b3c1e-5a8e-4d0f-9a52-0e2c6d4b7a11")
MESSAGE_DOMAIN = "ordino.local-domain"


def message_id(event_id: uuid.UUID, kind: str, recipient: str, domain: str = MESSAGE_DOMAIN) -> str:
    """The Message-ID of `kind` sent to `recipient` for the event: the same on every redelivery,
    so a message sent again after a crash is recognisably the same message."""
    key = f"{event_id}/{kind}/{recipient.strip().lower()}"
    return f"<{uuid.uuid5(MESSAGE_NAMESPACE, key)}@{domain}>"


def language(locale: str | None) -> str:
    """The catalog language for an account's locale ('de_AT', 'de-CH', 'DE' → 'de'); English when
    there is no catalog for it."""
    if not locale:
        return DEFAULT_LANGUAGE
    lang = locale.replace("-", "_").split("_")[0].lower()
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def babel_locale(locale: str | None) -> str:
    """The locale numbers and dates are formatted in: the account's when it is well-formed, else the
    catalog language ('de_CH' keeps Swiss number formatting while the text is German)."""
    if locale and all(part.isalpha() for part in locale.replace("-", "_").split("_")):
        parts = locale.replace("-", "_").split("_")
        return "_".join([parts[0].lower(), *[p.upper() for p in parts[1:]]])
    return language(locale)


@dataclass(frozen=True, slots=True)
class ContactInfo:
    id: uuid.UUID
    email: str | None
    roles: tuple[str, ...]
    first_name: str = ""
    last_name: str = ""


# The default rule, by kind: which of an account's contacts receive a message when no preference
# says otherwise. "placer": the contact who placed the order (or asked for the quote); roles: every
# contact holding one of them. The account has no billing role: its administrators get invoices.
DEFAULT_RULE: Mapping[Kind, tuple[str, ...]] = {
    Kind.ORDER_CONFIRMATION: ("placer",),
    Kind.SHIPMENT: ("placer",),
    Kind.RETURN_CREDITED: ("placer",),
    Kind.QUOTE_SENT: ("placer",),
    Kind.INVOICE: ("account_admin",),
    Kind.APPROVAL_REQUESTED: ("approver",),
}
# When the rule finds nobody with an address, these are asked instead (every contact with one of the roles).
FALLBACK: Mapping[Kind, tuple[str, ...]] = {
    Kind.ORDER_CONFIRMATION: ("buyer",),
    Kind.SHIPMENT: ("buyer",),
    Kind.RETURN_CREDITED: ("buyer",),
    Kind.QUOTE_SENT: ("buyer",),
    Kind.INVOICE: ("placer", "buyer"),
    Kind.APPROVAL_REQUESTED: (),
}


def _chosen(kind: Kind, rule: Sequence[str], contacts: Sequence[ContactInfo], placer: uuid.UUID | None) -> list[
    ContactInfo
]:
    return [c for c in contacts if c.email and (("placer" in rule and c.id == placer)
                                                or any(r in c.roles for r in rule if r != "placer"))]


def recipients(
    kind: Kind,
    contacts: Sequence[ContactInfo],
    preferences: Mapping[tuple[uuid.UUID, str], bool],
    *,
    placer: uuid.UUID | None = None,
    excluded: Iterable[uuid.UUID] = (),
) -> list[ContactInfo]:
    """Who receives `kind`: the default rule's contacts (its fallback when it finds none), plus every
    contact who chose to receive it, less every contact who chose not to and the `excluded` (an
    approver who placed the order). Only contacts with an e-mail address; each address once."""
    chosen = _chosen(kind, DEFAULT_RULE[kind], contacts, placer) or _chosen(kind, FALLBACK[kind], contacts, placer)
    ids = {c.id for c in chosen} | {c.id for c in contacts if preferences.get((c.id, kind.value)) is True}
    ids -= {c.id for c in contacts if preferences.get((c.id, kind.value)) is False}
    ids -= set(excluded)
    out, seen = [], set()
    for c in contacts:
        if c.id in ids and c.email and c.email.lower() not in seen:
            seen.add(c.email.lower())
            out.append(c)
    return out


# Carriers' public tracking pages; {n} is the tracking number. A carrier not listed gets no link.
TRACKING_URLS: Mapping[str, str] = {
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={n}",
    "dhl express": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={n}",
    "dpd": "https://tracking.dpd.de/status/en_US/parcel/{n}",
    "gls": "https://gls-group.com/track/{n}",
    "hermes": "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation/#{n}",
    "ups": "https://www.ups.com/track?tracknum={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{n}",
    "postnl": "https://jouw.postnl.nl/track-and-trace/{n}",
}


def tracking_url(carrier: str | None, number: str) -> str | None:
    template = TRACKING_URLS.get((carrier or "").strip().lower())
    return template.format(n=quote(number, safe="")) if template else None
