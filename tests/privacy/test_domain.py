"""Pure privacy rules: who a record names, the erased name, the retention date."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from ordino.privacy.domain import Person, names_person, placeholder, replace_fields, replace_strings, retained_until

JANE = Person(uuid.UUID("01a2512b-7c28-705c-b854-435590242f7d"), "Jane", "Doe", "Jane.Doe@acme.example",
              "+49 30 1234567")


@pytest.mark.parametrize(("name", "email", "phone"), [
    ("Jane Doe", None, None), ("DOE, JANE", None, None), ("Attn. Jane  Doe, 3rd floor", None, None),
    ("ACME Receiving", "jane.doe@ACME.example ", None), ("ACME Receiving", None, "+49 (30) 123-4567"),
])
def test_a_record_names_the_person_by_full_name_email_or_phone(name: str, email: str | None, phone: str | None) -> None:
    assert names_person(JANE, name, email, phone) is True


@pytest.mark.parametrize(("name", "email", "phone"), [
    ("Jane", None, None), ("Janet Doe", None, None), ("Jane Doex", None, None), ("ACME Receiving", None, None),
    (None, "john.doe@acme.example", "+49 30 7654321"), ("ACME", None, "12345"),
])
def test_a_record_without_the_full_name_email_or_phone_does_not(name: str | None, email: str | None,
                                                                 phone: str | None) -> None:
    assert names_person(JANE, name, email, phone) is False


def test_the_erased_name_carries_the_random_end_of_the_id() -> None:
    assert placeholder(JANE.contact_id) == "erased contact 90242f7d"


def test_documents_are_kept_ten_years_from_the_end_of_their_year() -> None:
    assert retained_until(date(2026, 11, 26)) == date(2036, 12, 31)
    assert retained_until(date(2026, 1, 1)) == date(2036, 12, 31)


def test_replacing_strings_and_fields_in_payloads() -> None:
    payload = {"by": "buyer:Jane Doe", "items": [{"actor": "buyer:Jane Doe"}, 3], "name": "Jane Doe"}
    assert replace_strings(payload, {"buyer:Jane Doe": "buyer:erased"}) == {
        "by": "buyer:erased", "items": [{"actor": "buyer:erased"}, 3], "name": "Jane Doe"}
    assert replace_fields({"name": "Jane Doe", "city": "Berlin"}, {"name": "x", "phone": None}) == {
        "name": "x", "city": "Berlin"}
