"""Check digits of the demo companies' VAT and tax ids."""

from __future__ import annotations

import pytest

from ordino.demo import taxids
from ordino.demo.companies import COMPANIES

# Published valid identifiers (the examples of the issuing authorities and python-stdnum).
KNOWN_VALID = [
    ("DE", "DE136695976"), ("FR", "FR40303265045"), ("NL", "NL004495445B01"), ("AT", "ATU13585627"),
    ("IT", "IT00743110157"), ("GB", "GB980780684"), ("CH", "CHE-107.787.577 IVA"), ("PL", "PL8567346215"),
    ("SE", "SE123456789701"), ("JP", "T5835678256246"),
]


@pytest.mark.parametrize(("country", "tax_id"), KNOWN_VALID)
def test_published_identifiers_are_valid(country: str, tax_id: str) -> None:
    assert taxids.is_valid(country, tax_id)


@pytest.mark.parametrize(("country", "tax_id"), KNOWN_VALID)
def test_a_changed_digit_is_caught(country: str, tax_id: str) -> None:
    # given a valid id with its last digit changed (for NL and SE: the last digit before the suffix)
    at = max(i for i, ch in enumerate(tax_id[:-3] if country in ("NL", "SE") else tax_id) if ch.isdigit())
    wrong = tax_id[:at] + str((int(tax_id[at]) + 1) % 10) + tax_id[at + 1 :]
    assert taxids.is_valid(country, wrong) is False


def test_builders_reproduce_published_identifiers() -> None:
    assert taxids.de_vat("13669597") == "DE136695976"
    assert taxids.fr_vat("30326504") == "FR40303265045"
    assert taxids.nl_vat("00449544") == "NL004495445B01"
    assert taxids.at_vat("1358562") == "ATU13585627"
    assert taxids.it_vat("0074311015") == "IT00743110157"
    assert taxids.gb_vat("9807806") == "GB980780684"
    assert taxids.ch_vat("10778757") == "CHE-107.787.577 MWST"
    assert taxids.pl_vat("856734621") == "PL8567346215"
    assert taxids.se_vat("123456789") == "SE123456789701"
    assert taxids.jp_invoice_number("835678256246") == "T5835678256246"
    assert taxids.us_ein("364718205") == "36-4718205"


def test_every_demo_company_has_a_valid_tax_id() -> None:
    assert [(c.number, taxids.is_valid(c.country, c.tax_id)) for c in COMPANIES] == [
        (c.number, True) for c in COMPANIES
    ]


def test_a_body_without_a_check_digit_is_refused() -> None:
    # weighted sums that leave 10 have no check digit: such numbers are never issued
    with pytest.raises(ValueError, match="no valid RSIN check digit"):
        taxids.nl_vat("00000005")  # 5 × 2 = 10
    with pytest.raises(ValueError, match="no valid NIP check digit"):
        taxids.pl_vat("000000003")  # 3 × 7 = 21 ≡ 10 (mod 11)
    with pytest.raises(ValueError, match="expected 8 digits"):
        taxids.de_vat("1234567")
