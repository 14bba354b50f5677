"""VAT and tax identifiers with correct check digits, for demo companies.

Each function takes the digits of a made-up number without its check digit(s) and returns the
identifier as it is printed on invoices. The algorithms are the ones the issuing authorities
publish (and that python-stdnum implements); `is_valid` checks a finished identifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def _digits(text: str, count: int) -> list[int]:
    if not re.fullmatch(rf"\d{{{count}}}", text):
        raise ValueError(f"expected {count} digits, got '{text}'")
    return [int(c) for c in text]


def luhn_sum(number: str) -> int:
    """The Luhn checksum of `number` (check digit included): 0 when it is valid."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:  # every second digit from the right is doubled
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10


def luhn_check_digit(body: str) -> int:
    """The digit that makes `body` + digit pass the Luhn test."""
    return (10 - luhn_sum(body + "0")) % 10


def de_vat(body: str) -> str:
    """Germany, USt-IdNr: DE + 8 digits + ISO 7064 MOD 11,10 check digit."""
    product = 10
    for d in _digits(body, 8):
        s = (d + product) % 10 or 10
        product = (2 * s) % 11
    return f"DE{body}{(11 - product) % 10}"


def fr_vat(siren_body: str) -> str:
    """France, numéro de TVA: FR + 2-digit key + SIREN (8 digits + Luhn digit)."""
    _digits(siren_body, 8)
    siren = f"{siren_body}{luhn_check_digit(siren_body)}"
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def nl_vat(body: str) -> str:
    """Netherlands, btw-id of a legal entity: NL + RSIN (8 digits + mod-11 digit) + B01."""
    digits = _digits(body, 8)
    check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
    if check == 10:
        raise ValueError(f"'{body}' has no valid RSIN check digit")
    return f"NL{body}{check}B01"


def at_vat(body: str) -> str:
    """Austria, UID: ATU + 7 digits + check digit."""
    _digits(body, 7)
    return f"ATU{body}{(6 - luhn_sum(body)) % 10}"


def it_vat(body: str) -> str:
    """Italy, partita IVA: IT + 10 digits (the last three are the tax office) + Luhn digit."""
    _digits(body, 10)
    return f"IT{body}{luhn_check_digit(body)}"


def gb_vat(body: str) -> str:
    """United Kingdom, VAT registration number: GB + 7 digits + 2 check digits (mod 97)."""
    digits = _digits(body, 7)
    total = sum(d * w for d, w in zip(digits, (8, 7, 6, 5, 4, 3, 2), strict=True))
    return f"GB{body}{(-total) % 97:02d}"


def ch_vat(body: str, language: str = "MWST") -> str:
    """Switzerland, UID with VAT suffix: CHE-123.456.789 MWST (mod 11 check digit)."""
    digits = _digits(body, 8)
    check = (11 - sum(d * w for d, w in zip(digits, (5, 4, 3, 2, 7, 6, 5, 4), strict=True)) % 11) % 11
    if check == 10:
        raise ValueError(f"'{body}' has no valid UID check digit")
    n = f"{body}{check}"
    return f"CHE-{n[0:3]}.{n[3:6]}.{n[6:9]} {language}"


def pl_vat(body: str) -> str:
    """Poland, NIP with EU prefix: PL + 9 digits + mod-11 check digit."""
    digits = _digits(body, 9)
    check = sum(d * w for d, w in zip(digits, (6, 5, 7, 2, 3, 4, 5, 6, 7), strict=True)) % 11
    if check == 10:
        raise ValueError(f"'{body}' has no valid NIP check digit")
    return f"PL{body}{check}"


def se_vat(body: str) -> str:
    """Sweden, momsregistreringsnummer: SE + organisation number (9 digits + Luhn) + 01."""
    _digits(body, 9)
    return f"SE{body}{luhn_check_digit(body)}01"


def jp_invoice_number(body: str) -> str:
    """Japan, qualified invoice issuer number: T + corporate number (check digit first)."""
    digits = _digits(body, 12)
    weights = (1, 2) * 6
    check = 9 - sum(d * w for d, w in zip(reversed(digits), weights, strict=True)) % 9
    return f"T{check}{body}"


def us_ein(body: str) -> str:
    """United States, employer identification number: NN-NNNNNNN (no check digit)."""
    _digits(body, 9)
    return f"{body[:2]}-{body[2:]}"


_FORMS: dict[str, tuple[str, Callable[[str], str], Callable[[str], str]]] = {
    # country: (pattern, how to take the body back out, how to build it again)
    "DE": (r"DE\d{9}", lambda t: t[2:10], de_vat),
    "FR": (r"FR\d{11}", lambda t: t[4:12], fr_vat),
    "NL": (r"NL\d{9}B01", lambda t: t[2:10], nl_vat),
    "AT": (r"ATU\d{8}", lambda t: t[3:10], at_vat),
    "IT": (r"IT\d{11}", lambda t: t[2:12], it_vat),
    "GB": (r"GB\d{9}", lambda t: t[2:9], gb_vat),
    "CH": (r"CHE-\d{3}\.\d{3}\.\d{3} (MWST|TVA|IVA)", lambda t: t[4:15].replace(".", "")[:8],
           lambda b: ch_vat(b)),
    "PL": (r"PL\d{10}", lambda t: t[2:11], pl_vat),
    "SE": (r"SE\d{10}01", lambda t: t[2:11], se_vat),
    "JP": (r"T\d{13}", lambda t: t[2:], jp_invoice_number),
    "US": (r"\d{2}-\d{7}", lambda t: t.replace("-", ""), us_ein),
}


def is_valid(country: str, tax_id: str) -> bool:
    """True when `tax_id` has the format and check digits of `country`'s identifier."""
    form = _FORMS.get(country)
    if form is None or not re.fullmatch(form[0], tax_id):
        return False
    body_of, build = form[1], form[2]
    rebuilt = build(body_of(tax_id))
    if country == "CH":  # the language suffix is free
        return rebuilt.split(" ")[0] == tax_id.split(" ")[0]
    return rebuilt == tax_id
