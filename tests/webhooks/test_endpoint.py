"""POST webhook/: every answer in the webhook reference's table (docs/reference/webhook.md),
secret rotation, failures; each test in both WEBHOOK_PROCESSING modes (``webhook_mode``)."""

from __future__ import annotations

import copy
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments import signals, signing
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import (
    build_event,
    build_payment_intent,
    capture_signals,
    post_event,
    sign_payload,
)
from tests.factories import PaymentFactory

pytestmark = pytest.mark.usefixtures("webhook_mode")

URL = reverse("apranova_payments:webhook")
SECRET = settings.STRIPE_TEST_WEBHOOK_SECRET


@pytest.fixture
def csrf_client() -> Client:
    """Stripe sends no CSRF token; the endpoint must not ask for one."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def verifier_now(monkeypatch: pytest.MonkeyPatch) -> int:
    """The clock the signature check reads, stopped at a whole second: a header signed
    ``skew`` seconds from it stays exactly ``skew`` seconds away, however long the signing and
    the request take."""
    now = int(time.time())
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now))
    return now


def post_raw(client: Client, body: bytes, signature: str | None, **extra: Any) -> Any:
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(URL, data=body, content_type="application/json", **headers, **extra)


# -- refused before anything is stored ------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "garbage",
        "t=notanumber,v1=abc",
        "v1=deadbeef",
        "t=1700000000",
        f"t={int(time.time())},v0=deadbeef",
        f"t={int(time.time())},v1={'0' * 64}",
    ],
)
def test_missing_or_bad_signature_is_400_and_stores_nothing(csrf_client, payment, signature, captured_signals):
    body = json.dumps(build_event(payment)).encode()

    response = post_raw(csrf_client, body, signature)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
    assert captured_signals.names() == []


def test_wrong_secret_is_400(csrf_client, payment):
    response = post_event(csrf_client, build_event(payment), secret="whsec_someone_else")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_body_changed_after_signing_is_400(csrf_client, payment):
    body = json.dumps(build_event(payment)).encode()
    signature = sign_payload(body, SECRET)

    response = post_raw(csrf_client, body.replace(b"succeeded", b"canceled"), signature)

    assert response.status_code == 400


@pytest.mark.parametrize("skew", [-301, 301, -3600, 3600])
def test_timestamp_outside_tolerance_either_way_is_400(csrf_client, payment, verifier_now, skew):
    response = post_event(csrf_client, build_event(payment), timestamp=verifier_now + skew)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("skew", [-300, -290, 0, 290, 300])
def test_timestamp_inside_tolerance_is_accepted(csrf_client, payment, verifier_now, skew):
    response = post_event(csrf_client, build_event(payment), timestamp=verifier_now + skew)

    assert response.status_code == 200


def test_tolerance_setting_is_honoured(csrf_client, payment, verifier_now):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_TOLERANCE": 10}):
        response = post_event(csrf_client, build_event(payment), timestamp=verifier_now - 11)

    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b"\xff\xfe\x00", b"[1, 2, 3]", b'{"object": "charge"}', b'{"object": "event"}',
     b'{"object": "event", "id": "evt_1", "type": "x", "data": []}', b"[" * 10_000],
)
def test_signed_body_that_is_not_a_stripe_event_is_400(csrf_client, db, body):
    response = post_raw(csrf_client, body, sign_payload(body, SECRET))

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_oversized_body_is_413_unread(csrf_client, db):
    body = b"x" * 2048
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_MAX_BYTES": 1024}):
        response = post_raw(csrf_client, body, sign_payload(body, SECRET))

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_default_size_limit_is_one_mebibyte(csrf_client, payment):
    event = build_event(payment)
    event["data"]["object"]["padding"] = "x" * 1_048_576

    response = post_event(csrf_client, event)

    assert response.status_code == 413


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
def test_other_methods_are_405(csrf_client, db, method):
    response = getattr(csrf_client, method)(URL)

    assert response.status_code == 405
    assert not WebhookEvent.objects.exists()


def test_no_webhook_secret_configured_refuses_everything(csrf_client, payment):
    config = {k: v for k, v in settings.APRANOVA_PAYMENTS.items() if k != "STRIPE_WEBHOOK_SECRET"}
    with override_settings(APRANOVA_PAYMENTS=config):
        response = post_event(csrf_client, build_event(payment), secret=SECRET)

    assert response.status_code == 400


# -- stored and answered 200 ------------------------------------------------------------------


def test_succeeded_event_moves_the_payment_and_fires_signals_once(csrf_client, payment, captured_signals,
                                                                 webhook_mode):
    event = build_event(payment, "payment_intent.succeeded")

    response = post_event(csrf_client, event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": webhook_mode.answer("processed")}
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.succeeded_at is not None
    assert captured_signals.names() == ["webhook_event_received", "payment_status_changed", "payment_succeeded"]
    assert all(sent.sender is Payment for sent in captured_signals)
    stored = WebhookEvent.objects.get()
    assert (stored.stripe_id, stored.type, stored.outcome, stored.attempts) == (
        event["id"], "payment_intent.succeeded", "processed", 1)
    assert stored.object_id == payment.stripe_payment_intent
    kept = copy.deepcopy(event)
    del kept["data"]["object"]["client_secret"]  # Stripe sends it; it is never stored
    assert stored.payload == kept and stored.processed_at is not None
    assert stored.api_version == event["api_version"] and stored.livemode is False


def test_duplicate_event_fires_signal_once_and_stores_nothing_new(csrf_client, payment, captured_signals):
    event = build_event(payment, "payment_intent.succeeded")
    post_event(csrf_client, event)

    second = post_event(csrf_client, event)
    third = post_event(csrf_client, event)

    assert second.status_code == third.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    assert captured_signals.count("payment_succeeded") == 1
    assert captured_signals.count("webhook_event_received") == 1
    assert WebhookEvent.objects.get().attempts == 1


def test_payment_failed_event_records_the_failure(csrf_client, payment, captured_signals):
    post_event(csrf_client, build_event(payment, "payment_intent.payment_failed"))

    payment.refresh_from_db()
    assert payment.status == "failed"
    assert payment.failure_code == "insufficient_funds"
    assert payment.failure_message == "Your card has insufficient funds."
    assert captured_signals.names()[-1] == "payment_failed"


def test_unhandled_event_type_is_stored_ignored_and_announced(csrf_client, db, captured_signals):
    event = build_event({"id": "ch_1", "object": "charge"}, "charge.succeeded")

    response = post_event(csrf_client, event)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.outcome == "ignored" and stored.note == "event type not handled"
    assert captured_signals.names() == ["webhook_event_received"]
    assert captured_signals.of("webhook_event_received")[0]["event"]["id"] == event["id"]
    assert captured_signals[0].sender is Payment


def test_livemode_mismatch_is_stored_and_ignored(csrf_client, payment, captured_signals):
    event = build_event(payment, "payment_intent.succeeded", livemode=True)

    response = post_event(csrf_client, event)

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert WebhookEvent.objects.get().outcome == "ignored"
    assert "livemode" in WebhookEvent.objects.get().note
    assert "payment_succeeded" not in captured_signals.names()


def test_unknown_payment_intent_is_logged_and_answered_200(csrf_client, db, caplog):
    intent = {"id": "pi_never_ours", "object": "payment_intent", "amount": 500, "currency": "usd",
              "status": "succeeded", "metadata": {}, "livemode": False}

    with caplog.at_level("INFO", logger="django_apranova_payments"):
        response = post_event(csrf_client, build_event(intent, "payment_intent.succeeded"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == "ignored"
    assert not Payment.objects.exists()
    assert "pi_never_ours" in caplog.text


def test_missing_row_of_our_own_intent_is_recreated_from_metadata(csrf_client, user, captured_signals):
    lost = PaymentFactory.build(user=user, metadata={"course": "7"}, idempotency_key="k1", request_fingerprint="f" * 64)
    intent = build_payment_intent(lost, "succeeded")

    response = post_event(csrf_client, build_event(intent, "payment_intent.succeeded"))

    assert response.status_code == 200
    payment = Payment.objects.get(stripe_payment_intent=lost.stripe_payment_intent)
    assert payment.user == user and payment.status == "succeeded"
    assert payment.amount == lost.amount and payment.currency == "usd"
    assert payment.metadata == {"course": "7"}
    assert payment.idempotency_key == "k1"
    assert captured_signals.names() == [
        "webhook_event_received", "payment_created", "payment_status_changed", "payment_succeeded",
    ]
    assert all(sent.sender is Payment for sent in captured_signals)


def test_intent_whose_amount_differs_from_the_payment_is_not_applied(csrf_client, payment):
    intent = build_payment_intent(payment, "succeeded", amount=1)

    response = post_event(csrf_client, build_event(intent, "payment_intent.succeeded"))

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert WebhookEvent.objects.get().outcome == "ignored"


def test_created_event_never_moves_a_status(csrf_client, payment):
    post_event(csrf_client, build_event(payment, "payment_intent.payment_failed"))
    post_event(csrf_client, build_event(payment, "payment_intent.created"))

    payment.refresh_from_db()
    assert payment.status == "failed"


# -- failures -----------------------------------------------------------------------------------


def test_receiver_that_raises_rolls_back_answers_500_and_redelivery_applies_once(csrf_client, payment, webhook_mode,
                                                                                settings):
    """In task mode the delivery is answered before the task runs (200, queued); with one
    attempt allowed, the failed event waits for Stripe's redelivery just as inline."""
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "TASK_MAX_ATTEMPTS": 1}
    calls = []

    def flaky_enrollment(sender, payment, event, **kwargs):
        calls.append(event["id"])
        if len(calls) == 1:
            raise RuntimeError("enrollment service down")

    signals.payment_succeeded.connect(flaky_enrollment)
    try:
        event = build_event(payment, "payment_intent.succeeded")
        first = post_event(csrf_client, event)
        payment.refresh_from_db()
        stored = WebhookEvent.objects.get()
        assert first.status_code == (200 if webhook_mode.is_task else 500)
        assert "enrollment service down" not in first.content.decode()
        assert payment.status == "pending"
        assert (stored.outcome, stored.attempts) == ("failed", 1)
        assert "RuntimeError: enrollment service down" in stored.error

        second = post_event(csrf_client, event)
        third = post_event(csrf_client, event)
    finally:
        signals.payment_succeeded.disconnect(flaky_enrollment)

    assert second.status_code == third.status_code == 200
    assert [second.json()["outcome"], third.json()["outcome"]] == [webhook_mode.answer("processed"), "duplicate"]
    payment.refresh_from_db()
    stored.refresh_from_db()
    assert payment.status == "succeeded"
    assert (stored.outcome, stored.attempts, stored.error) == ("processed", 2, "")
    assert calls == [event["id"], event["id"]]  # the first call's effects were rolled back


# -- secret rotation --------------------------------------------------------------------------


ROTATING = ["whsec_new_secret", SECRET]


@override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": ROTATING})
@pytest.mark.parametrize("secret", ROTATING)
def test_any_secret_in_the_list_verifies(csrf_client, payment, secret):
    assert post_event(csrf_client, build_event(payment), secret=secret).status_code == 200


@override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": ROTATING})
def test_header_with_one_signature_per_secret_verifies(csrf_client, payment):
    body = json.dumps(build_event(payment)).encode()
    old = sign_payload(body, SECRET)
    new = sign_payload(body, "whsec_new_secret")

    response = post_raw(csrf_client, body, f"{old},{new.split(',')[1]}")

    assert response.status_code == 200


@override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": ["whsec_new_secret"]})
def test_retired_secret_no_longer_verifies(csrf_client, payment):
    assert post_event(csrf_client, build_event(payment), secret=SECRET).status_code == 400


# -- host middleware ----------------------------------------------------------------------------


def test_webhook_works_under_login_required_middleware(csrf_client, payment):
    middleware = [*settings.MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    with override_settings(MIDDLEWARE=middleware, LOGIN_URL="/login/"):
        response = post_event(csrf_client, build_event(payment))

    assert response.status_code == 200


def test_webhook_works_with_atomic_requests(csrf_client, payment, settings):
    settings.DATABASES["default"]["ATOMIC_REQUESTS"] = True
    try:
        response = post_event(csrf_client, build_event(payment))
    finally:
        settings.DATABASES["default"]["ATOMIC_REQUESTS"] = False

    assert response.status_code == 200


def test_created_webhook_arriving_before_the_insert_does_not_break_create(api, client, user, stripe_mock, monkeypatch):
    """Stripe's payment_intent.created can be delivered (and rebuild the row) before the
    creating request stores it: create-payment answers with that row, and one
    payment_created is sent."""
    from django_apranova_payments import services

    store = services.store_payment
    delivered = []

    def webhook_first(**kwargs):
        if not delivered:  # create-payment's own call: the webhook gets in first
            delivered.append(kwargs["intent"].id)
            post_event(client, build_event({**stripe_mock.intents[kwargs["intent"].id]}, "payment_intent.created"))
        return store(**kwargs)

    monkeypatch.setattr(services.payments, "store_payment", webhook_first)
    with capture_signals() as sent:
        response = api.post(reverse("apranova_payments:create-payment"), {"amount": "10.00"}, format="json")

    assert response.status_code == 201, response.content
    assert Payment.objects.get().stripe_payment_intent == response.json()["paymentIntent"]
    assert response.json()["clientSecret"]
    assert sent.count("payment_created") == 1
