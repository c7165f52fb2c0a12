"""The edges of the contract: the exact boundaries and the guards a one-character change
would break (a signature prefix, the tolerance and size limits, same-second events, the
currency half of the mismatch guard, another user's PaymentIntent, a failure recorded over a
success). Each test here fails on such a change and passes on the code as written."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments import exceptions, services, signals, signing, webhooks
from django_apranova_payments.charges import Charge
from django_apranova_payments.gateway import PaymentIntentData
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, post_event, sign_payload
from tests.factories import PaymentFactory

URL = reverse("apranova_payments:webhook")
SECRET = settings.STRIPE_TEST_WEBHOOK_SECRET
BODY = b'{"id": "evt_edge"}'


# -- the signature ----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 4, 32, 63])
def test_a_prefix_of_the_right_signature_never_verifies(length):
    header = signing.signature_header(BODY, SECRET, 1_000)
    prefix = header.split("v1=")[1][:length]

    with pytest.raises(exceptions.WebhookSignatureError):
        signing.verify(BODY, f"t=1000,v1={prefix}", [SECRET], tolerance=300, now=1_000)


@pytest.mark.parametrize("length", [4, 63])
def test_the_comparison_itself_is_exact_whatever_the_parser_lets_through(monkeypatch, length):
    """Defence in depth: the parser keeps only 64-digit signatures, and the comparison does not
    rely on it. A prefix handed straight to the comparison is refused too."""
    prefix = signing.signature_header(BODY, SECRET, 1_000).split("v1=")[1][:length]
    monkeypatch.setattr(signing, "parse_header", lambda header: (1_000, [prefix]))

    with pytest.raises(exceptions.WebhookSignatureError, match="No signature matches"):
        signing.verify(BODY, "parsed by the stand-in", [SECRET], tolerance=300, now=1_000)


def test_a_signature_differing_in_its_last_digit_never_verifies():
    good = signing.signature_header(BODY, SECRET, 1_000).split("v1=")[1]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")

    with pytest.raises(exceptions.WebhookSignatureError):
        signing.verify(BODY, f"t=1000,v1={wrong}", [SECRET], tolerance=300, now=1_000)


@pytest.mark.parametrize("now", [1_000 - 300, 1_000 + 300])
def test_a_timestamp_exactly_the_tolerance_away_is_accepted(now):
    signing.verify(BODY, signing.signature_header(BODY, SECRET, 1_000), [SECRET], tolerance=300, now=now)


@pytest.mark.parametrize("now", [1_000 - 301, 1_000 + 301])
def test_a_timestamp_one_second_past_the_tolerance_is_refused(now):
    with pytest.raises(exceptions.WebhookSignatureError, match="tolerance"):
        signing.verify(BODY, signing.signature_header(BODY, SECRET, 1_000), [SECRET], tolerance=300, now=now)


# -- the body limit ---------------------------------------------------------------------------


def signed_body_of(payment: Payment, size: int) -> bytes:
    """A signed, valid event padded with JSON whitespace to exactly ``size`` bytes."""
    body = json.dumps(build_event(payment, "payment_intent.succeeded")).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


def post_under_limit(body: bytes, limit: int) -> Any:
    """POST a signed ``body`` with ``WEBHOOK_MAX_BYTES`` set to ``limit``."""
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": limit}):
        return Client().post(URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign_payload(body))


@pytest.mark.django_db
def test_a_body_of_exactly_webhook_max_bytes_is_accepted(payment):
    response = post_under_limit(signed_body_of(payment, 4_096), 4_096)

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "processed"


@pytest.mark.django_db
def test_a_body_one_byte_over_webhook_max_bytes_is_a_413(payment):
    response = post_under_limit(signed_body_of(payment, 4_097), 4_096)

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def asgi_post(body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """POST ``body`` through Django's ASGI handler, as uvicorn or daphne would, with exactly
    ``headers`` (so no Content-Length unless given)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": URL, "raw_path": URL.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"testserver"), *headers], "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(ASGIHandler()(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("over", [1, 2, 1_000])
def test_under_asgi_a_body_over_the_limit_without_content_length_is_a_413(over):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": 100}):
        status, content = asgi_post(b"x" * (100 + over), [(b"content-type", b"application/json")])

    assert status == 413, content
    assert b"larger than 100 bytes" in content


def test_under_asgi_a_body_at_the_limit_without_content_length_is_read_and_checked():
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": 100}):
        status, content = asgi_post(b"x" * 100, [(b"content-type", b"application/json")])

    assert status == 400 and b"Stripe-Signature" in content  # read whole, then refused unsigned


# -- transitions ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_intent_in_another_currency_with_the_same_amount_is_not_applied(payment):
    assert payment.currency == "usd"
    intent = build_payment_intent(payment, "succeeded", currency="eur")

    response = post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    assert response.json()["outcome"] == "ignored"
    assert WebhookEvent.objects.get().note.startswith("not applied: mismatch")
    payment.refresh_from_db()
    assert payment.status == "pending"


@pytest.mark.django_db
def test_processing_then_failed_in_the_same_second_both_apply(payment):
    created = int(time.time())
    processing = build_event(build_payment_intent(payment, "processing"), "payment_intent.processing", created=created)
    failed = build_event(payment, "payment_intent.payment_failed", created=created)

    outcomes = [post_event(Client(), event).json()["outcome"] for event in (processing, failed)]

    assert outcomes == ["processed", "processed"]
    payment.refresh_from_db()
    assert payment.status == "failed"


@pytest.mark.django_db
def test_failed_then_requires_action_in_the_same_second_stays_failed(payment):
    created = int(time.time())
    failed = build_event(payment, "payment_intent.payment_failed", created=created)
    action = build_event(build_payment_intent(payment, "requires_action"), "payment_intent.requires_action",
                         created=created)

    post_event(Client(), failed)
    response = post_event(Client(), action)

    assert response.json()["outcome"] == "ignored"
    assert "stale" in WebhookEvent.objects.get(stripe_id=action["id"]).note
    payment.refresh_from_db()
    assert payment.status == "failed"


@pytest.mark.django_db
def test_failed_then_requires_action_a_second_later_is_a_retry(payment):
    created = int(time.time())
    post_event(Client(), build_event(payment, "payment_intent.payment_failed", created=created))
    action = build_event(build_payment_intent(payment, "requires_action"), "payment_intent.requires_action",
                         created=created + 1)

    assert post_event(Client(), action).json()["outcome"] == "processed"
    payment.refresh_from_db()
    assert payment.status == "pending"


# -- services ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_payment_intent_id_stored_for_another_user_is_never_returned(user, other_user, monkeypatch):
    """If Stripe ever answered with the id of a PaymentIntent stored for someone else, the
    request fails; it never hands this user the other user's payment."""
    theirs = PaymentFactory(user=other_user)
    charge = Charge.of(theirs.amount, theirs.currency)

    class SameIdGateway:
        livemode = False

        def create_payment_intent(self, **kwargs: Any) -> PaymentIntentData:
            return PaymentIntentData(id=theirs.stripe_payment_intent, status="requires_payment_method",
                                     amount=charge.minor_units, currency=charge.currency, client_secret="cs")

    monkeypatch.setattr(services, "get_gateway", SameIdGateway)

    with pytest.raises(exceptions.GatewayError):
        services.create_payment(user, charge)
    assert list(Payment.objects.filter(user=user)) == []


# -- the event store --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_forced_replay_that_fails_never_marks_a_processed_event_failed(payment):
    event = build_event(payment, "payment_intent.succeeded")
    assert post_event(Client(), event).json()["outcome"] == "processed"

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("receiver broke on replay")

    signals.payment_status_changed.connect(broken, weak=False)
    try:
        stored = WebhookEvent.objects.get()
        Payment.objects.filter(pk=payment.pk).update(status="pending")  # so the replay transitions again
        (replayed,) = webhooks.replay(WebhookEvent.objects.filter(pk=stored.pk))
    finally:
        signals.payment_status_changed.disconnect(broken)

    assert replayed.outcome == "failed" and isinstance(replayed.error, RuntimeError)
    stored.refresh_from_db()
    assert (stored.outcome, stored.error, stored.attempts) == ("processed", "", 1)
