"""The gateway simulator: outcomes by token, idempotency per request key, expiry, counting; and the
HTTP adapter's retries with the same key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ordino.payments.gateway import GatewayUnavailable, HttpGateway
from tests.payments.support import CLIENT_TIMEOUT, Sim


def _auth(gw: HttpGateway, token: str, key: str, amount: int = 5000):  # type: ignore[no-untyped-def]
    return gw.authorize(token=token, amount_minor=amount, currency="EUR", reference="order-1", idempotency_key=key)


def test_tok_visa_is_approved_with_an_expiry(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    # when a tok_visa authorization is asked for
    result = _auth(gateways["simulator"], "tok_visa", "k1")
    # then it is approved, with the gateway's reference and an expiry a week away
    assert (result.approved, result.code) == (True, None)
    assert result.reference is not None and result.reference.startswith("auth_")
    assert result.expires_at is not None
    assert [(c.attempt, c.outcome, c.http_status) for c in result.calls] == [(1, "approved", 200)]
    assert sim.authorization(result.reference)["status"] == "authorized"
    assert sim.stats() == {"requests": 1, "replays": 0, "performed": {"authorize": 1}, "approved": {"authorize": 1}}


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        ("tok_decline", "card_declined", "The card was declined."),
        ("tok_insufficient", "insufficient_funds", "The card has insufficient funds."),
    ],
)
def test_declining_tokens(sim: Sim, gateways: dict[str, HttpGateway], token: str, code: str, message: str) -> None:
    result = _auth(gateways["simulator"], token, "k1")
    assert (result.approved, result.code, result.message, result.expires_at) == (False, code, message, None)
    assert [c.outcome for c in result.calls] == ["declined"]
    assert sim.stats()["approved"] == {}


def test_tok_timeout_is_retried_with_the_same_key_and_performed_once(
    sim: Sim, gateways: dict[str, HttpGateway]
) -> None:
    # given a token whose first answers come after the client's timeout
    gw = gateways["simulator"]
    # when it is authorized and captured
    auth = _auth(gw, "tok_timeout", "auth-key")
    cap = gw.capture(authorization=auth.reference or "", amount_minor=2000, currency="EUR", idempotency_key="cap-key")
    # then each call timed out once and the retry with the same key got the original answer
    assert [(c.attempt, c.outcome, c.idempotency_key) for c in auth.calls] == [
        (1, "timeout", "auth-key"), (2, "approved", "auth-key")
    ]
    assert [(c.attempt, c.outcome) for c in cap.calls] == [(1, "timeout"), (2, "approved")]
    assert auth.calls[0].latency_ms >= CLIENT_TIMEOUT * 1000 - 5
    # and the simulator authorized once and captured once
    assert sim.stats() == {
        "requests": 4, "replays": 2, "performed": {"authorize": 1, "capture": 1},
        "approved": {"authorize": 1, "capture": 1},
    }
    assert sim.authorization(auth.reference or "")["captured_minor"] == 2000


def test_same_key_same_request_replays_and_other_request_is_refused(sim: Sim) -> None:
    body = {"token": "tok_visa", "amount_minor": 5000, "currency": "EUR", "reference": "o"}
    first = httpx.post(f"{sim.url}/v1/authorizations", json=body, headers={"Idempotency-Key": "k"})
    again = httpx.post(f"{sim.url}/v1/authorizations", json=body, headers={"Idempotency-Key": "k"})
    other = httpx.post(
        f"{sim.url}/v1/authorizations", json={**body, "amount_minor": 6000}, headers={"Idempotency-Key": "k"}
    )
    missing = httpx.post(f"{sim.url}/v1/authorizations", json=body)
    assert again.json() == first.json()
    assert (other.status_code, other.json()) == (422, {"detail": "the Idempotency-Key was used with another request"})
    assert missing.status_code == 400
    assert sim.stats() == {"requests": 3, "replays": 1, "performed": {"authorize": 1}, "approved": {"authorize": 1}}


def test_partial_and_multiple_captures_up_to_the_authorization(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    gw = gateways["simulator"]
    ref = _auth(gw, "tok_visa", "a").reference or ""
    first = gw.capture(authorization=ref, amount_minor=3000, currency="EUR", idempotency_key="c1")
    second = gw.capture(authorization=ref, amount_minor=2000, currency="EUR", idempotency_key="c2")
    third = gw.capture(authorization=ref, amount_minor=1, currency="EUR", idempotency_key="c3")
    assert (first.approved, second.approved) == (True, True)
    assert (third.approved, third.code) == (False, "amount_exceeds_authorization")
    assert sim.authorization(ref)["captured_minor"] == 5000


def test_refund_up_to_the_capture_and_reversal(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    gw = gateways["simulator"]
    ref = _auth(gw, "tok_visa", "a").reference or ""
    cap = gw.capture(authorization=ref, amount_minor=3000, currency="EUR", idempotency_key="c1").reference or ""
    assert gw.refund(capture=cap, amount_minor=2500, currency="EUR", idempotency_key="r1").approved is True
    too_much = gw.refund(capture=cap, amount_minor=501, currency="EUR", idempotency_key="r2")
    assert (too_much.approved, too_much.code) == (False, "amount_exceeds_capture")
    assert gw.void(authorization=ref, amount_minor=2000, currency="EUR", idempotency_key="v1").approved is True
    assert sim.authorization(ref) | {"expires_at": None} == {
        "id": ref, "status": "reversed", "amount_minor": 5000, "currency": "EUR", "captured_minor": 3000,
        "reversed_minor": 2000, "expires_at": None,
    }


def test_tok_expired_lapses_and_captures_are_declined(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    gw = gateways["simulator"]
    auth = _auth(gw, "tok_expired", "a")
    assert auth.approved is True
    cap = gw.capture(authorization=auth.reference or "", amount_minor=100, currency="EUR", idempotency_key="c")
    assert (cap.approved, cap.code) == (False, "authorization_expired")
    assert sim.authorization(auth.reference or "")["status"] == "expired"


def test_tok_expires_in_n_seconds(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    # given the simulator's clock in the test's hands
    now = [datetime(2026, 11, 26, 12, 0, tzinfo=UTC)]
    sim.state.config.clock = lambda: now[0]
    gw = gateways["simulator"]
    auth = _auth(gw, "tok_expires_in_1", "a")
    ok = gw.capture(authorization=auth.reference or "", amount_minor=100, currency="EUR", idempotency_key="c1")
    # when a second passes, a capture is declined
    now[0] += timedelta(seconds=1)
    late = gw.capture(authorization=auth.reference or "", amount_minor=100, currency="EUR", idempotency_key="c2")
    assert (ok.approved, late.approved, late.code) == (True, False, "authorization_expired")


def test_reauthorization_replaces_an_expired_authorization(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    gw = gateways["simulator"]
    old = _auth(gw, "tok_expired", "a").reference or ""
    sim.state.config.expired_after = 3600.0
    new = gw.reauthorize(authorization=old, amount_minor=4000, currency="EUR", idempotency_key="re")
    assert new.approved is True and new.reference != old
    assert sim.authorization(new.reference or "")["status"] == "authorized"
    assert sim.stats()["performed"] == {"authorize": 1, "reauthorize": 1}


def test_processor_failures_by_token(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    gw = gateways["simulator"]
    ref = _auth(gw, "tok_capture_fails", "a").reference or ""
    cap = gw.capture(authorization=ref, amount_minor=100, currency="EUR", idempotency_key="c")
    assert (cap.approved, cap.code) == (False, "processor_declined")


def test_unknown_authorization_is_a_rejected_request(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    gw = gateways["simulator"]
    result = gw.capture(authorization="auth_nope", amount_minor=1, currency="EUR", idempotency_key="c")
    assert (result.approved, result.code, result.message) == (False, "invalid_request", "no authorization auth_nope")
    assert [(c.outcome, c.http_status) for c in result.calls] == [("rejected", 404)]


def test_unreachable_gateway_gives_up_after_bounded_retries() -> None:
    # given an adapter pointed at a port nobody listens on
    gw = HttpGateway("simulator", "http://127.0.0.1:9", timeout=0.2, attempts=3, backoff=0.01, max_backoff=0.02)
    # when it is asked to capture, then it raises with every attempt described
    with pytest.raises(GatewayUnavailable) as failed:
        gw.capture(authorization="auth_1", amount_minor=100, currency="EUR", idempotency_key="k")
    assert [(c.attempt, c.outcome, c.idempotency_key) for c in failed.value.calls] == [
        (1, "connection_error", "k"), (2, "connection_error", "k"), (3, "connection_error", "k")
    ]


def test_adapter_never_sends_card_data(sim: Sim, gateways: dict[str, HttpGateway]) -> None:
    with pytest.raises(ValueError, match="card data is never sent"):
        _auth(gateways["simulator"], "4111 1111 1111 1111", "k")
    assert sim.stats()["requests"] == 0
