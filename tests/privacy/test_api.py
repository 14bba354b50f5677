"""GET /contacts/{id}/personal-data and POST /contacts/{id}/erasure: what is exported, what each
table holds after an erasure, what invoices keep, and who may ask."""

# ruff: noqa: F811 (fixtures imported from tests.invoicing.support)

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from ordino.accounts.models import Address, Contact
from ordino.invoicing.documents.rendering import invoice_document
from ordino.invoicing.models import Invoice
from ordino.kernel.auth import ApiKey, Role, create_key
from ordino.kernel.db import Database
from ordino.kernel.idempotency import IdempotencyRecord
from ordino.kernel.outbox import OutboxEvent
from ordino.kernel.statemachine import StatusHistory
from ordino.orders.approvals.models import ApprovalRequest
from ordino.orders.models import OrderDeliveryGroupSummary, OrderSummary
from ordino.orders.quotes.models import Quote
from ordino.privacy.models import ContactErasure
from tests.audit.conftest import log
from tests.conftest import api_key
from tests.invoicing.support import api, frozen, gateways, sim, sim_server, world  # noqa: F401
from tests.privacy.support import EMAIL, KEY_NAME, PHONE, Jane, account_of, jane_world, set_order

NOW = "2026-11-26T10:00:00+00:00"
SHIP_TO_ACME = {"name": "ACME Receiving", "line1": "Invalidenstraße 1", "line2": None, "city": "Berlin",
                "postal_code": "10115", "region": None, "country": "DE", "phone": None, "email": None}


def _erased(jane: Jane) -> str:
    return f"erased contact {uuid.UUID(jane.contact).hex[-8:]}"


def _groups(db: Database, order: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    with db.read() as s:
        rows = s.execute(select(OrderDeliveryGroupSummary.ship_to_name, OrderDeliveryGroupSummary.ship_to_phone,
                                OrderDeliveryGroupSummary.ship_to_email)
                         .where(OrderDeliveryGroupSummary.order_summary_id == uuid.UUID(order["id"]))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_export_holds_every_record_naming_the_contact(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane Doe of ACME, named on an address, two ACME orders, a quote, an approval and a key
    jane = jane_world(world, api, admin, gateways)
    # when an admin exports her personal data
    r = api.get(f"/api/v1/contacts/{jane.contact}/personal-data", headers=admin)
    # then the document holds her contact record and every record naming her, and nothing else
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["exported_at"] == NOW
    assert {k: doc["contact"][k] for k in ("id", "account", "first_name", "last_name", "email", "phone", "title",
                                           "roles")} == {
        "id": jane.contact, "account": "ACME", "first_name": "Jane", "last_name": "Doe", "email": EMAIL,
        "phone": PHONE, "title": "Purchasing", "roles": ["approver", "buyer"]}
    assert doc["account"]["number"] == "ACME"
    assert [(a["id"], a["name"], a["phone"]) for a in doc["addresses"]] == [(jane.address, "Jane Doe", PHONE)]
    first, second = doc["orders"]
    assert (first["number"], first["status"], first["placed_by_contact"], first["bill_to"]) == (
        "SO-000001", "fulfilled", False, None)
    assert [g["ship_to"] for g in first["delivery_groups"]] == [{
        "name": "Jane Doe", "line1": "Invalidenstraße 1", "line2": None, "city": "Berlin", "postal_code": "10115",
        "region": None, "country": "DE", "phone": PHONE, "email": EMAIL}]
    assert (second["number"], second["status"], second["placed_by_contact"], second["created_by"]) == (
        "SO-000002", "cancelled", True, f"buyer:{KEY_NAME}")
    assert second["bill_to"] == {"name": "Jane Doe", "line1": "Hauptstraße 5", "line2": None, "city": "Berlin",
                                 "postal_code": "10115", "region": None, "country": "DE", "phone": None,
                                 "email": EMAIL}
    assert [g["ship_to"] for g in second["delivery_groups"]] == [SHIP_TO_ACME]
    assert [(q["number"], q["status"], q["notes"]) for q in doc["quotes"]] == [
        ("Q-000001", "rejected", f"Call Jane on {PHONE}")]
    assert [(a["order"], a["role"], a["decision_note"]) for a in doc["approvals"]] == [
        ("SO-000002", "approver", "ok, Jane")]
    assert doc["approval_rules"] == []
    (key,) = doc["api_keys"]
    assert (key["id"], key["name"], key["role"], key["revoked_at"], sorted(key)) == (
        str(jane.key_id), KEY_NAME, "buyer", None, ["created_at", "hint", "id", "name", "revoked_at", "role"])
    assert [(e["type"], e["subject"], e["data"].get("email"), e["data"].get("name")) for e in doc["events"]] == [
        ("contact.created", f"contact/{jane.contact}", EMAIL, None),
        ("address.created", f"address/{jane.address}", None, "Jane Doe"),
    ]
    assert doc["erasure"] is None
    # and HANSA's order to another "Jane Doe" is not hers
    assert "SO-000003" not in r.text


def test_erasure_anonymises_every_table_and_keeps_what_the_invoice_shows(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane Doe named across ACME's records, SO-000001 invoiced (INV-2026-000001)
    jane = jane_world(world, api, admin, gateways)
    with world.read() as s:
        invoice_id = s.execute(select(Invoice.id)).scalar_one()
        invoice_before = invoice_document(s, invoice_id)
    # when an admin erases her
    r = api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers={**admin, "Idempotency-Key": "erase-jane"})
    # then the answer counts what changed and names what the invoice keeps, until the end of 2036
    assert r.status_code == 200, r.text
    assert r.json() == {
        "contact_id": jane.contact, "account": "ACME", "erased_at": NOW, "erased_by": "admin:test admin",
        "anonymised": {"contact": 1, "addresses": 1, "delivery_groups": 1, "bill_to": 1, "quote_notes": 1,
                       "approval_notes": 1, "actor_names": 3, "events": 2},
        "revoked_api_keys": 1, "forgotten_idempotency_records": 1,
        "retained": [{"order": "SO-000001", "documents": ["INV-2026-000001"],
                      "fields": ["delivery_groups[].ship_to.name"], "until": "2036-12-31"}],
    }
    erased = _erased(jane)
    with world.read() as s:
        contact = s.get(Contact, uuid.UUID(jane.contact))
        assert contact is not None
        assert (contact.first_name, contact.last_name, contact.email, contact.phone, contact.title, contact.roles,
                contact.version) == ("erased contact", erased[-8:], None, None, None, [], 2)
        address = s.get(Address, uuid.UUID(jane.address))
        other = s.get(Address, uuid.UUID(jane.other_address))
        assert address is not None and other is not None
        assert (address.name, address.phone, address.line1, address.version) == (erased, None, "Hauptstraße 5", 2)
        assert (other.name, other.phone, other.version) == ("ACME Receiving", "+49 30 999999", 1)
        order = s.get(OrderSummary, uuid.UUID(jane.cancelled["id"]))
        assert order is not None
        assert (order.bill_to, order.created_by) == (
            {"name": erased, "line1": "Hauptstraße 5", "line2": None, "city": "Berlin", "postal_code": "10115",
             "region": None, "country": "DE", "phone": None, "email": None}, f"buyer:{erased}")
        quote = s.get(Quote, jane.quote)
        approval = s.get(ApprovalRequest, jane.approval)
        key = s.get(ApiKey, jane.key_id)
        assert quote is not None and approval is not None and key is not None
        assert (quote.notes, quote.created_by) == (None, f"buyer:{erased}")
        assert (approval.decision_note, approval.decided_by, approval.status) == (None, f"buyer:{erased}", "approved")
        assert (key.name, key.revoked_at is not None) == (erased, True)
        assert s.execute(select(func.count()).select_from(IdempotencyRecord)
                         .where(IdempotencyRecord.key == "jane-1")).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(StatusHistory)
                         .where(StatusHistory.actor == f"buyer:{KEY_NAME}")).scalar_one() == 0
        events = s.execute(select(OutboxEvent.type, OutboxEvent.data).where(
            OutboxEvent.subject == f"contact/{jane.contact}").order_by(OutboxEvent.position)).all()
        assert [(t, d.get("first_name"), d.get("email"), d.get("phone")) for t, d in events] == [
            ("contact.created", "erased contact", None, None), ("contact.erased", None, None, None)]
        assert events[1][1] == {"id": jane.contact, "account": "ACME"}
        invoice_after = invoice_document(s, invoice_id)
    # and the invoiced order keeps the ship-to name its invoice shows, without phone and e-mail
    assert _groups(world, jane.invoiced) == [("Jane Doe", None, None)]
    assert invoice_after == invoice_before
    # and the cancelled order's ship-to never named her; HANSA's order is untouched
    assert _groups(world, jane.cancelled) == [("ACME Receiving", None, None)]
    assert _groups(world, jane.hansa) == [("Jane Doe", PHONE, EMAIL)]
    with world.read() as s:
        assert s.execute(select(func.count()).select_from(ContactErasure)).scalar_one() == 1


def test_erasing_twice_answers_the_first_erasure_and_changes_nothing(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane, erased once
    jane = jane_world(world, api, admin, gateways)
    first = api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=admin)
    assert first.status_code == 200, first.text
    with world.read() as s:
        events = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
    # when she is erased again, without and with an Idempotency-Key
    again = api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=admin)
    keyed = api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers={**admin, "Idempotency-Key": "e2"})
    # then both answer the first erasure, and nothing more is written
    assert (again.status_code, again.json()) == (200, first.json())
    assert (keyed.status_code, keyed.json()) == (200, first.json())
    with world.read() as s:
        assert s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one() == events
        assert s.execute(select(func.count()).select_from(ContactErasure)).scalar_one() == 1
    # and the export says she was erased, and when
    doc = api.get(f"/api/v1/contacts/{jane.contact}/personal-data", headers=admin).json()
    assert doc["erasure"] == first.json()
    assert (doc["contact"]["first_name"], doc["contact"]["email"]) == ("erased contact", None)


def test_the_erased_contacts_key_no_longer_authenticates(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane's own buyer key, which works
    jane = jane_world(world, api, admin, gateways)
    account_id = account_of(world, jane.invoiced)
    _, secret = world.transaction(lambda s: create_key(s, name="Jane phone", role=Role.BUYER, account_id=account_id,
                                                       contact_id=uuid.UUID(jane.contact)))
    own = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/accounts/ACME", headers=own).status_code == 200
    # when she is erased
    assert api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=admin).status_code == 200
    # then her key is refused at once
    assert api.get("/api/v1/accounts/ACME", headers=own).status_code == 401


def test_a_contact_with_an_open_order_is_not_erased(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane, whose cancelled order SO-000002 is open again (approved, not delivered)
    jane = jane_world(world, api, admin, gateways)
    set_order(world, jane.cancelled["id"], status="approved")
    before = api.get(f"/api/v1/contacts/{jane.contact}/personal-data", headers=admin).json()
    # when an admin asks to erase her
    r = api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=admin)
    # then 409 names the open order, and nothing was erased
    assert r.status_code == 409
    problem = r.json()
    assert (problem["type"], problem["orders"], problem["quotes"]) == (
        "https://ordino.dev/problems/contact-has-open-business", ["SO-000002"], [])
    after = api.get(f"/api/v1/contacts/{jane.contact}/personal-data", headers=admin).json()
    assert {k: v for k, v in after.items() if k != "events"} == {k: v for k, v in before.items() if k != "events"}
    with world.read() as s:
        assert s.execute(select(func.count()).select_from(ContactErasure)).scalar_one() == 0
        key = s.get(ApiKey, jane.key_id)
        assert key is not None and key.revoked_at is None


def test_only_admins_export_or_erase(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane, and keys of every other role (one scoped to ACME, one scoped to HANSA)
    jane = jane_world(world, api, admin, gateways)
    acme_id = account_of(world, jane.invoiced)
    others = [api_key(world, role) for role in (Role.AGENT, Role.FULFILLMENT, Role.FINANCE, Role.INTEGRATION)]
    others.append(api_key(world, Role.BUYER, acme_id))
    # when they ask, then 403, and nothing is erased
    for headers in others:
        assert api.get(f"/api/v1/contacts/{jane.contact}/personal-data", headers=headers).status_code == 403
        assert api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=headers).status_code == 403
    # and an unknown or malformed contact is 404 for an admin
    assert api.get(f"/api/v1/contacts/{uuid.uuid4()}/personal-data", headers=admin).status_code == 404
    assert api.post("/api/v1/contacts/not-an-id/erasure", headers=admin).status_code == 404
    with world.read() as s:
        assert s.execute(select(func.count()).select_from(ContactErasure)).scalar_one() == 0


def test_export_and_erasure_are_audited_without_a_personal_value(
    world: Database, sim: Any, gateways: Any, api: Any, admin: dict[str, str]
) -> None:
    # given Jane of ACME
    jane = jane_world(world, api, admin, gateways)
    # when an admin exports her data, erases her, then erases her again
    assert api.get(f"/api/v1/contacts/{jane.contact}/personal-data", headers=admin).status_code == 200
    erased = api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=admin)
    assert api.post(f"/api/v1/contacts/{jane.contact}/erasure", headers=admin).status_code == 200
    # then the audit log holds one export and one erasure of her contact, by the admin key
    entries = [e for e in log(world) if e["action"].startswith("data.")]
    with world.read() as s:
        account = s.execute(select(Contact.account_id).where(Contact.id == uuid.UUID(jane.contact))).scalar_one()
    assert [(e["action"], e["actor"][0], e["subject"]) for e in entries] == [
        ("data.exported", "admin", ("contact", jane.contact, account)),
        ("data.erased", "admin", ("contact", jane.contact, account)),
    ]
    assert entries[0]["after"] == {"exported_at": NOW}
    assert entries[1]["after"]["anonymised"] == erased.json()["anonymised"]
    # and no entry holds a personal value of hers
    text = str(entries)
    assert not any(value in text for value in ("Jane", "Doe", EMAIL, PHONE))
