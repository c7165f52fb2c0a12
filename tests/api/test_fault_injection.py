"""Faults on the Stripe side during create, update-status and cancel: the right status code,
and no row left inconsistent with Stripe."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.urls import reverse

from django_apranova_payments.models import Payment
from django_apranova_payments.testing import build_payment_intent

FAULTS = {
    "timeout": ({"exception": requests.Timeout("read timed out")}, 503),
    "connection reset": ({"exception": requests.ConnectionError("connection reset by peer")}, 503),
    "500": ({"status": 500}, 503),
    "502": ({"status": 502}, 503),
    "503": ({"status": 503}, 503),
    "429": ({"status": 429, "error_type": "rate_limit_error", "code": "rate_limit",
             "message": "Too many requests"}, 429),
}


def post(api: Any, url: str, body: dict, **headers: Any) -> Any:
    return api.post(url, data=json.dumps(body), content_type="application/json", **headers)


def assert_clean_error(response: Any, status: int) -> None:
    assert response.status_code == status, response.content
    assert int(response.headers["Retry-After"]) > 0
    assert set(response.json()) == {"detail"}
    assert "sk_test" not in response.content.decode()


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_fault_during_create_stores_nothing(api, stripe_mock, fault):
    failure, status = FAULTS[fault]
    stripe_mock.fail_next("create", **failure)

    response = post(api, reverse("apranova_payments:create-payment"), {"amount": "25.00"})

    assert_clean_error(response, status)
    assert not Payment.objects.exists()


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_fault_during_update_status_leaves_the_row_alone(api, payment, stripe_mock, fault):
    failure, status = FAULTS[fault]
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    stripe_mock.fail_next("retrieve", **failure)
    before = Payment.objects.values().get(pk=payment.pk)

    response = post(api, reverse("apranova_payments:update-status"), {"paymentIntent": payment.stripe_payment_intent})

    assert_clean_error(response, status)
    assert Payment.objects.values().get(pk=payment.pk) == before
    # The next try goes through.
    response = post(api, reverse("apranova_payments:update-status"), {"paymentIntent": payment.stripe_payment_intent})
    assert response.json()["status"] == "succeeded"


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_fault_during_cancel_leaves_the_row_alone_and_a_retry_cancels(api, payment, stripe_mock, fault):
    failure, status = FAULTS[fault]
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment)
    stripe_mock.fail_next("cancel", **failure, lost_response=fault in ("timeout", "connection reset"))
    url = reverse("apranova_payments:payment-cancel", args=[payment.stripe_payment_intent])

    response = post(api, url, {})

    assert_clean_error(response, status)
    payment.refresh_from_db()
    assert payment.status == "pending"
    retry = post(api, url, {})
    assert retry.status_code == 200 and retry.json()["status"] == "canceled"


def test_create_whose_response_was_lost_is_retried_onto_the_same_payment_intent(api, stripe_mock):
    stripe_mock.fail_next("create", exception=requests.Timeout("read timed out"), lost_response=True)
    url = reverse("apranova_payments:create-payment")

    first = post(api, url, {"amount": "25.00"}, HTTP_IDEMPOTENCY_KEY="order-17")
    second = post(api, url, {"amount": "25.00"}, HTTP_IDEMPOTENCY_KEY="order-17")

    assert first.status_code == 503
    assert second.status_code == 201
    assert len(stripe_mock.intents) == 1  # Stripe created exactly one PaymentIntent
    assert second.json()["paymentIntent"] in stripe_mock.intents
    assert Payment.objects.count() == 1


def test_create_without_idempotency_key_after_a_lost_response_leaves_no_row(api, stripe_mock):
    stripe_mock.fail_next("create", exception=requests.Timeout("read timed out"), lost_response=True)

    response = post(api, reverse("apranova_payments:create-payment"), {"amount": "25.00"})

    assert response.status_code == 503
    assert not Payment.objects.exists()  # the orphaned intent has no row; its webhook recreates it


def test_database_error_inside_webhook_processing_is_retried_once(client, payment):
    from django.db import connection

    from django_apranova_payments import signals
    from django_apranova_payments.models import WebhookEvent
    from django_apranova_payments.testing import build_event, post_event

    calls = []

    def receiver(**kwargs):
        calls.append(1)
        if len(calls) == 1:  # a real error from the database, which aborts the transaction
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM apranova_no_such_table")

    signals.payment_succeeded.connect(receiver)
    try:
        event = build_event(payment, "payment_intent.succeeded")
        assert post_event(client, event).status_code == 500
        assert post_event(client, event).status_code == 200
        assert post_event(client, event).json()["outcome"] == "duplicate"
    finally:
        signals.payment_succeeded.disconnect(receiver)

    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert WebhookEvent.objects.get().attempts == 2
    assert len(calls) == 2
