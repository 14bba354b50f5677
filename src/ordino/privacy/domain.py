"""Pure rules of personal data: who a record names, what an erased person is called, what is kept.

A contact is a person of a B2B account. Records name the person when they carry the person's
e-mail, phone number or full name; the street address of a ship-to is the company's delivery
place (it decides the tax of the order), not the person's, and is kept.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

# An order in one of these states still has to be delivered (or decided): its ship-to is needed.
OPEN_ORDER_STATUSES = ("created", "pending_approval", "approved", "partially_fulfilled")
# A quote in one of these states still waits for the agent or the buyer.
OPEN_QUOTE_STATUSES = ("draft", "requested", "priced", "sent")

# Invoices and credit memos are kept ten years from the end of the year of issue
# (DE: § 147 AO, § 257 HGB; FR: art. L123-22 Code de commerce, art. L102 B LPF).
RETENTION_YEARS = 10


@dataclass(frozen=True, slots=True)
class Person:
    """What identifies a contact in other records."""

    contact_id: uuid.UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None


def placeholder(contact_id: uuid.UUID) -> str:
    """The name an erased contact keeps: no personal data, yet one erased contact is told from
    another (the last 8 hex digits of the id: the random part of a UUIDv7)."""
    return f"erased contact {contact_id.hex[-8:]}"


def _words(text: str) -> str:
    return " ".join(text.casefold().replace(",", " ").split())


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def names_person(person: Person, name: str | None, email: str | None = None, phone: str | None = None) -> bool:
    """True when a name, e-mail or phone of a record is the person's: the same e-mail (any case),
    the same phone digits (at least 6), or a name holding the full name ("Jane Doe", "Doe, Jane",
    "Attn. Jane Doe")."""
    if email and person.email and email.strip().casefold() == person.email.strip().casefold():
        return True
    if phone and person.phone:
        mine = _digits(person.phone)
        if len(mine) >= 6 and _digits(phone) == mine:
            return True
    if not name:
        return False
    first, last = _words(person.first_name), _words(person.last_name)
    if not first or not last:
        return False
    padded = f" {_words(name)} "
    return f" {first} {last} " in padded or f" {last} {first} " in padded


def retained_until(issued: date) -> date:
    """The last day a document issued on `issued` must be kept."""
    return date(issued.year + RETENTION_YEARS, 12, 31)


def replace_strings(value: Any, replacements: Mapping[str, str | None]) -> Any:
    """A copy of a JSON-like value in which every string equal to a key of `replacements` is
    replaced by its value (an actor naming an erased person, say)."""
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, dict):
        return {k: replace_strings(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_strings(v, replacements) for v in value]
    return value


def replace_fields(value: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a JSON object whose members named in `fields` take the given values (members
    it does not have are not added)."""
    return {k: fields.get(k, v) for k, v in value.items()}
