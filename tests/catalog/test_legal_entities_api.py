"""Legal entities (the sellers) through the API, and the entity a channel sells as."""

from __future__ import annotations

from ordino.catalog.service import seller_of_channel
from tests import factories

ENTITIES = "/api/v1/legal-entities"
BERLIN = {
    "code": "ORDINO-DE", "name": "Ordino Supply GmbH", "line1": "Friedrichstraße 100", "city": "Berlin",
    "postal_code": "10117", "country": "DE", "vat_id": "DE136695976", "iban": "DE89 3704 0044 0532 0130 00",
    "bic": "COBADEFFXXX", "is_default": True,
}


def test_a_legal_entity_is_created_read_and_changed(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(ENTITIES, json=BERLIN, headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    # the IBAN is kept in its compact form
    assert (doc["code"], doc["iban"], doc["invalid_vat_id"], doc["us_nexus_states"]) == (
        "ORDINO-DE", "DE89370400440532013000", "refuse", None
    )
    assert client.get(f"{ENTITIES}/ORDINO-DE", headers=admin).json() == doc
    patch = {"invalid_vat_id": "tax_as_b2c"}
    r = client.patch(f"{ENTITIES}/ORDINO-DE", json=patch, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["invalid_vat_id"], r.json()["version"]) == ("tax_as_b2c", 2)


def test_bad_bank_details_are_refused_naming_the_field(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    for field, value in (("iban", "DE00370400440532013000"), ("bic", "NOTABIC"), ("us_nexus_states", ["California"])):
        r = client.post(ENTITIES, json={**BERLIN, field: value}, headers=admin)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["errors"][0]["field"].startswith(field)
    assert client.get(ENTITIES, headers=admin).json()["items"] == []


def test_a_new_default_entity_replaces_the_old_one(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.post(ENTITIES, json=BERLIN, headers=admin).status_code == 201
    us = {"code": "ORDINO-US", "name": "Ordino Supply Inc.", "line1": "1 Market St", "city": "San Francisco",
          "postal_code": "94105", "region": "CA", "country": "US", "us_nexus_states": ["TX", "CA", "CA"],
          "is_default": True}
    r = client.post(ENTITIES, json=us, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["us_nexus_states"] == ["CA", "TX"]
    berlin = client.get(f"{ENTITIES}/ORDINO-DE", headers=admin).json()
    assert (berlin["is_default"], berlin["version"]) == (False, 2)


def test_a_channel_sells_as_its_own_entity_or_the_default(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # given a default German entity and a US one
    factories.legal_entity(db)
    factories.legal_entity(db, "ORDINO-US", name="Ordino Supply Inc.", country="US", is_default=False)
    # when a channel names the US entity, and another names none
    r = client.post("/api/v1/channels", json={"code": "us-web", "name": "US web", "legal_entity": "ORDINO-US"},
                    headers=admin)
    assert r.status_code == 201, r.text
    factories.channel(db, "web")
    # then each sells as expected
    with db.read() as s:
        us, web = seller_of_channel(s, "us-web"), seller_of_channel(s, "web")
        assert (us.code if us else None, web.code if web else None) == ("ORDINO-US", "ORDINO-DE")
    # and a channel naming an unknown entity is refused
    bad = client.post("/api/v1/channels", json={"code": "x", "name": "X", "legal_entity": "NOPE"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "legal_entity", "message": "'NOPE' names no legal entity"}]


EINVOICING = {
    "endpoint_scheme": "9930", "endpoint_id": "DE136695976", "contact_name": "Jana Dvořáková",
    "phone": "+49 30 1234567-0", "tax_number": "37/123/45678", "register_court": "Amtsgericht Charlottenburg",
    "managing_directors": "Jana Dvořáková, Tomás Herrera", "share_capital": "25.000 EUR",
    "sepa_creditor_id": "DE98ZZZ09999999999",
}


def test_a_legal_entity_takes_its_e_invoicing_details(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    # when the seller is created with its electronic address, contact and legal mentions
    r = client.post(ENTITIES, json={**BERLIN, **EINVOICING}, headers=admin)
    # then they are stored as sent
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in EINVOICING} == EINVOICING
    # and a patch changes one of them
    patch = {"endpoint_scheme": "0088", "endpoint_id": "4000001000005"}
    r = client.patch(f"{ENTITIES}/ORDINO-DE", json=patch, headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert (r.json()["endpoint_scheme"], r.json()["endpoint_id"], r.json()["version"]) == ("0088", "4000001000005", 2)


def test_bad_e_invoicing_details_are_refused_naming_the_field(db, client, admin) -> None:  # type: ignore[no-untyped-def]
    bad = [
        ({"endpoint_scheme": "1234", "endpoint_id": "X"}, "endpoint_scheme"),
        ({"endpoint_scheme": "9930"}, "endpoint_id"),
        ({"endpoint_id": "DE136695976"}, "endpoint_scheme"),
        ({"sepa_creditor_id": "DE00ZZZ09999999999"}, "sepa_creditor_id"),
        ({"contact_name": ""}, "contact_name"),
    ]
    for fields, field in bad:
        # when a seller is created with one bad detail
        r = client.post(ENTITIES, json={**BERLIN, **fields}, headers=admin)
        # then the answer is a 422 naming it, and nothing is written
        assert r.status_code == 422, (fields, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], fields
    assert client.get(ENTITIES, headers=admin).json()["items"] == []
    # and a patch that leaves half an electronic address changes nothing
    assert client.post(ENTITIES, json=BERLIN, headers=admin).status_code == 201
    r = client.patch(f"{ENTITIES}/ORDINO-DE", json={"endpoint_id": "DE136695976"}, headers={**admin, "If-Match": '"1"'})
    assert (r.status_code, [e["field"] for e in r.json()["errors"]]) == (422, ["endpoint_scheme"])
    assert client.get(f"{ENTITIES}/ORDINO-DE", headers=admin).json()["version"] == 1
