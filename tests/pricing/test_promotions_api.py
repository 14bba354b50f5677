"""/api/v1/promotions: create, read, list, change with If-Match; coupons."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ordino.kernel.auth import Role
from ordino.pricing.models import Coupon, Promotion, PromotionAccount, PromotionChannel, PromotionSku
from tests.conftest import api_key
from tests.pricing.conftest import NOW_TEXT, account_id, count, event_types, promotion, times_used

URL = "/api/v1/promotions"


def _payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "WINTER",
        "name": "Winter sale",
        "level": "order",
        "kind": "percentage",
        "percentage": "10",
        "currency": "EUR",
        "min_subtotal": "100.00",
        "skus": ["BOLT-M8", "NUT-M8"],
        "accounts": ["GROUP"],
        "channels": ["web"],
        "priority": 5,
        "stackable": False,
        "requires_coupon": True,
        "valid_from": "2026-11-01T00:00:00Z",
        "valid_to": "2027-03-01T00:00:00Z",
        "coupons": [{"code": "winter-acme", "usage_limit": 5}, {"code": "WINTER-ALL"}],
    }
    body.update(overrides)
    return body


def test_a_created_promotion_is_served_by_code_and_by_id(world, client, admin, frozen) -> None:  # type: ignore[no-untyped-def]
    r = client.post(URL, json=_payload(), headers=admin)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc == {
        "id": doc["id"],
        "code": "WINTER",
        "name": "Winter sale",
        "description": None,
        "level": "order",
        "kind": "percentage",
        "percentage": "10",
        "amount": None,
        "currency": "EUR",
        "min_subtotal": "100.00",
        "buy_quantity": None,
        "get_quantity": None,
        "get_sku": None,
        "skus": ["BOLT-M8", "NUT-M8"],
        "accounts": ["GROUP"],
        "channels": ["web"],
        "priority": 5,
        "stackable": False,
        "requires_coupon": True,
        "valid_from": "2026-11-01T00:00:00+00:00",
        "valid_to": "2027-03-01T00:00:00+00:00",
        "active": True,
        "version": 1,
        "created_at": NOW_TEXT,
        "updated_at": NOW_TEXT,
    }
    assert (r.headers["ETag"], r.headers["Location"]) == ('"1"', f"{URL}/{doc['id']}")
    assert client.get(f"{URL}/WINTER", headers=admin).json() == doc
    assert client.get(f"{URL}/{doc['id']}", headers=admin).json() == doc
    coupons = client.get(f"{URL}/WINTER/coupons", headers=admin).json()["items"]
    assert [(c["code"], c["usage_limit"], c["times_used"]) for c in coupons] == [
        ("WINTER-ALL", None, 0), ("WINTER-ACME", 5, 0),
    ]
    assert event_types(world) == ["promotion.created"]


def test_each_kind_of_promotion_can_be_created(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    bxgy = {"code": "B10G1", "name": "Buy 10 bolts, get a nut", "level": "line", "kind": "buy_x_get_y",
            "buy_quantity": 10, "get_quantity": 1, "get_sku": "NUT-M8", "skus": ["BOLT-M8"]}
    per_unit = {"code": "CENT", "name": "A tenth of a cent off", "level": "line", "kind": "amount",
                "amount": "0.001", "currency": "EUR"}
    yen = {"code": "YEN", "name": "500 yen off", "level": "order", "kind": "amount", "amount": "500",
           "currency": "JPY"}
    for body in (bxgy, per_unit, yen):
        r = client.post(URL, json=body, headers=admin)
        assert r.status_code == 201, r.text
    docs = {d["code"]: d for d in client.get(URL, headers=admin).json()["items"]}
    assert (docs["B10G1"]["get_sku"], docs["B10G1"]["buy_quantity"], docs["B10G1"]["get_quantity"]) == ("NUT-M8", 10, 1)
    assert (docs["CENT"]["amount"], docs["YEN"]["amount"]) == ("0.001", "500")


def test_inconsistent_terms_and_unknown_references_are_each_named_and_nothing_is_written(  # type: ignore[no-untyped-def]
    world, client, admin
) -> None:
    body = _payload(
        kind="amount", percentage="10", currency=None, skus=["BOLT-M8", "NOPE", "BOLT-M8"], accounts=["NOPE"],
        channels=["fax"], get_sku="NUT-M8",
    )
    r = client.post(URL, json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "percentage", "message": "is only used by kind 'percentage'; leave it out or set it to null"},
        {"field": "get_sku", "message": "is only used by kind 'buy_x_get_y'; leave it out or set it to null"},
        {"field": "amount", "message": "is required for kind 'amount'"},
        {"field": "currency", "message": "is required for kind 'amount'"},
        {"field": "currency", "message": "is required with a min_subtotal"},
        {"field": "skus[2]", "message": "is given twice"},
        {"field": "skus[1]", "message": "no product 'NOPE'"},
        {"field": "accounts[0]", "message": "no account 'NOPE'"},
        {"field": "channels[0]", "message": "no sales channel 'fax'"},
    ]
    r = client.post(URL, json=_payload(percentage=10, level="basket", priority="1", min_subtotal="100.001"),
                    headers=admin)
    assert r.json()["errors"] == [
        {"field": "level", "message": "Input should be 'line' or 'order'"},
        {"field": "percentage", "message": 'send amounts as decimal strings such as "12.50", not JSON numbers'},
        {"field": "priority", "message": "Input should be a valid integer"},
    ]
    r = client.post(URL, json=_payload(percentage="100.5", min_subtotal="100.001"), headers=admin)
    assert r.json()["errors"] == [
        {"field": "percentage", "message": "must be more than 0 and at most 100"},
        {"field": "min_subtotal", "message": "must be an amount of EUR and not negative"},
    ]
    r = client.post(URL, json=_payload(coupons=[{"code": "A1"}, {"code": "a1"}]), headers=admin)
    assert r.json()["errors"] == [{"field": "coupons[1].code", "message": "is given twice (coupon codes ignore case)"}]
    assert [count(world, m) for m in (Promotion, PromotionSku, PromotionAccount, PromotionChannel, Coupon)] == [0] * 5
    assert event_types(world) == []


def test_taken_codes_are_409s(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    promotion(world, "WINTER", "order", "percentage", percentage="5", coupons=[("WINTER-ACME", None)])
    r = client.post(URL, json=_payload(), headers=admin)
    assert (r.status_code, r.json()["errors"]) == (409, [{"field": "code", "message": "is already taken"}])
    r = client.post(URL, json=_payload(code="SPRING"), headers=admin)
    assert (r.status_code, r.json()["errors"]) == (409, [{"field": "coupons[0].code", "message": "is already taken"}])
    assert (count(world, Promotion), count(world, Coupon)) == (1, 1)


def test_changes_need_the_current_version_and_keep_the_terms_consistent(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    assert client.post(URL, json=_payload(), headers=admin).status_code == 201
    url = f"{URL}/WINTER"
    assert client.patch(url, json={"priority": 1}, headers=admin).status_code == 428
    assert client.patch(url, json={"priority": 1}, headers={**admin, "If-Match": '"2"'}).status_code == 409
    # changing the kind alone would leave a percentage behind
    r = client.patch(url, json={"kind": "amount", "amount": "5.00"}, headers={**admin, "If-Match": '"1"'})
    assert (r.status_code, r.json()["errors"]) == (
        422, [{"field": "percentage", "message": "is only used by kind 'percentage'; leave it out or set it to null"}],
    )
    r = client.patch(url, json={"kind": "amount", "amount": "5.00", "percentage": None, "code": "X"},
                     headers={**admin, "If-Match": '"1"'})
    assert r.json()["errors"] == [{"field": "code", "message": "cannot be changed"}]
    r = client.patch(url, json={"kind": "amount", "amount": "5.00", "percentage": None, "currency": "JPY"},
                     headers={**admin, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    # the minimum subtotal keeps its value in the new currency
    assert (r.json()["kind"], r.json()["amount"], r.json()["min_subtotal"], r.json()["version"]) == (
        "amount", "5", "100", 2,
    )
    # a list given replaces the current one; a change of limits only is a new version too
    r = client.patch(url, json={"skus": ["WASHER-M8"], "channels": []}, headers={**admin, "If-Match": '"2"'})
    assert (r.json()["skus"], r.json()["channels"], r.json()["accounts"], r.json()["version"]) == (
        ["WASHER-M8"], [], ["GROUP"], 3,
    )
    # nothing changed: no new version, no event
    same = client.patch(url, json={"skus": ["WASHER-M8"]}, headers={**admin, "If-Match": '"3"'})
    assert (same.status_code, same.json()["version"]) == (200, 3)
    assert event_types(world) == ["promotion.created", "promotion.updated", "promotion.updated"]
    assert count(world, PromotionChannel) == 0


def test_promotions_are_listed_with_filters(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    promotion(world, "A", "order", "percentage", percentage="5", coupons=[("SAVE-A", None)])
    promotion(world, "B", "line", "amount", amount="1", currency="EUR", active=False)
    promotion(world, "C", "line", "buy_x_get_y", buy_quantity=10, get_quantity=1)
    codes = lambda q: [p["code"] for p in client.get(f"{URL}{q}", headers=admin).json()["items"]]  # noqa: E731
    assert codes("") == ["C", "B", "A"]
    assert codes("?level=line") == ["C", "B"]
    assert codes("?kind=buy_x_get_y") == ["C"]
    assert codes("?active=false") == ["B"]
    assert codes("?coupon=save-a") == ["A"]


def test_coupons_are_added_read_and_limited(world, client, admin) -> None:  # type: ignore[no-untyped-def]
    promotion(world, "WINTER", "order", "percentage", percentage="5", coupons=[("USED", 3)])
    world.transaction(lambda s: s.execute(Coupon.__table__.update().values(times_used=2)))
    url = f"{URL}/WINTER/coupons"
    r = client.post(url, json={"coupons": [{"code": "new-1", "usage_limit": 1}, {"code": "New-2", "active": False}]},
                    headers=admin)
    assert r.status_code == 201, r.text
    assert [(c["code"], c["usage_limit"], c["active"]) for c in r.json()["items"]] == [
        ("NEW-1", 1, True), ("NEW-2", None, False),
    ]
    got = client.get(f"{url}/used", headers=admin)
    assert (got.json()["code"], got.json()["times_used"], got.headers["ETag"]) == ("USED", 2, '"1"')
    low = client.patch(f"{url}/used", json={"usage_limit": 1}, headers={**admin, "If-Match": '"1"'})
    assert (low.status_code, low.json()["errors"]) == (
        409, [{"field": "usage_limit", "message": "cannot be less than the 2 uses counted"}],
    )
    ok = client.patch(f"{url}/USED", json={"usage_limit": 2, "active": False}, headers={**admin, "If-Match": '"1"'})
    assert (ok.status_code, ok.json()["usage_limit"], ok.json()["active"], ok.json()["version"]) == (200, 2, False, 2)
    assert client.get(f"{URL}/NOPE/coupons", headers=admin).status_code == 404
    assert client.get(f"{url}/NOPE", headers=admin).status_code == 404
    assert times_used(world, "USED") == 2
    assert event_types(world) == ["coupon.created", "coupon.updated"]


def test_a_key_scoped_to_an_account_sees_promotions_for_everyone_and_its_own(world, client) -> None:  # type: ignore[no-untyped-def]
    # given a promotion for everyone, one for GROUP (ACME's parent) and one for OTHER, with a coupon
    promotion(world, "ALL", "order", "percentage", percentage="5")
    promotion(world, "GROUP-5", "order", "percentage", percentage="5", accounts=["GROUP"])
    promotion(world, "OTHER-9", "order", "percentage", percentage="9", accounts=["OTHER"],
              coupons=[("OTHER-COUPON", None)])
    agent = api_key(world, Role.AGENT, account_id(world, "ACME"))
    # when an agent key scoped to ACME lists the promotions
    listed = client.get(URL, headers=agent).json()["items"]
    # then it sees those its orders may get, not OTHER's
    assert sorted(p["code"] for p in listed) == ["ALL", "GROUP-5"]
    # and OTHER's promotion and its coupons answer 404 as unknown, to reads and writes alike
    answers = [
        client.get(f"{URL}/OTHER-9", headers=agent),
        client.get(f"{URL}/OTHER-9/coupons", headers=agent),
        client.get(f"{URL}/OTHER-9/coupons/OTHER-COUPON", headers=agent),
        client.patch(f"{URL}/OTHER-9", json={"percentage": "50"}, headers={**agent, "If-Match": '"1"'}),
        client.post(f"{URL}/OTHER-9/coupons", json={"coupons": [{"code": "MINE"}]}, headers=agent),
        client.patch(f"{URL}/OTHER-9/coupons/OTHER-COUPON", json={"active": False},
                     headers={**agent, "If-Match": '"1"'}),
    ]
    assert [(r.status_code, r.json()["detail"]) for r in answers] == [(404, "promotion not found")] * 6
    # and nothing changed
    assert (count(world, Coupon), times_used(world, "OTHER-COUPON")) == (1, 0)
    with world.read() as s:
        assert s.execute(select(Promotion.percentage).where(Promotion.code == "OTHER-9")).scalar_one() == Decimal("9")
        assert s.execute(select(Coupon.active)).scalar_one() is True
