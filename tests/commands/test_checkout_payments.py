"""apranova_cancel_abandoned and apranova_reconcile know Stripe Checkout payments: an abandoned
one has its open Session expired (its PaymentIntent may not exist yet), and a stuck one is
refreshed from its Session until its PaymentIntent is known."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from django_apranova_payments.models import Payment

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def checkout_payment(api: Any, hours: float) -> Payment:
    body = {"amount": "19.99", "successUrl": "http://testserver/paid", "cancelUrl": "http://testserver/cart"}
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        response = api.post(reverse("apranova_payments:checkout-session"), data=json.dumps(body),
                            content_type="application/json")
    assert response.status_code == 201, response.content
    payment = Payment.objects.get(stripe_checkout_session=response.json()["checkoutSession"])
    past = timezone.now() - timedelta(hours=hours)
    Payment.objects.filter(pk=payment.pk).update(created_at=past, updated_at=past)
    return payment


def test_an_abandoned_checkout_has_its_session_expired_not_a_payment_intent_canceled(api, stripe_mock,
                                                                                       captured_signals):
    payment = checkout_payment(api, 30)

    out = run("apranova_cancel_abandoned", "--older-than", "24")

    payment.refresh_from_db()
    assert payment.status == "canceled"
    assert stripe_mock.sessions[payment.stripe_checkout_session]["status"] == "expired"
    assert [call["url"].split("/")[-2] for call in stripe_mock.calls_to("expire_checkout_session")] == [
        payment.stripe_checkout_session]
    assert stripe_mock.calls_to("cancel") == []
    assert captured_signals.count("payment_canceled") == 1
    assert f"{payment.stripe_checkout_session}: pending -> canceled" in out


def test_an_abandoned_checkout_whose_payment_intent_exists_is_expired_and_its_intent_canceled(api, stripe_mock):
    payment = checkout_payment(api, 30)
    intent = stripe_mock.open_session_intent(payment.stripe_checkout_session)

    run("apranova_cancel_abandoned", "--older-than", "24")

    payment.refresh_from_db()
    assert payment.status == "canceled" and payment.stripe_payment_intent == intent["id"]
    assert stripe_mock.intents[intent["id"]]["status"] == "canceled"


def test_a_checkout_paid_meanwhile_is_left_to_its_webhook(api, stripe_mock, captured_signals):
    payment = checkout_payment(api, 30)
    stripe_mock.pay_session(payment.stripe_checkout_session)

    out = run("apranova_cancel_abandoned", "--older-than", "24")

    payment.refresh_from_db()
    assert payment.status == "pending" and "left to its webhook" in out
    assert captured_signals.count("payment_canceled") == 0


def test_the_dry_run_names_the_session_it_would_expire(api, stripe_mock):
    payment = checkout_payment(api, 30)

    out = run("apranova_cancel_abandoned", "--older-than", "24", "--dry-run")

    assert f"would expire {payment.stripe_checkout_session}" in out
    assert stripe_mock.calls_to("expire_checkout_session") == []


def test_reconcile_applies_a_paid_session_and_records_its_payment_intent(api, stripe_mock, captured_signals):
    payment = checkout_payment(api, 1)
    _, intent = stripe_mock.pay_session(payment.stripe_checkout_session)

    out = run("apranova_reconcile", "--older-than", "30")

    payment.refresh_from_db()
    assert (payment.status, payment.stripe_payment_intent) == ("succeeded", intent["id"])
    assert captured_signals.count("payment_succeeded") == 1
    assert f"{payment.stripe_checkout_session}: pending -> succeeded" in out
    assert stripe_mock.calls_to("retrieve") == []


def test_reconcile_leaves_an_open_session_pending(api, stripe_mock):
    payment = checkout_payment(api, 1)

    out = run("apranova_reconcile", "--older-than", "30")

    payment.refresh_from_db()
    assert payment.status == "pending" and "the Checkout Session is open, unpaid" in out


def test_reconcile_dry_run_changes_nothing(api, stripe_mock):
    payment = checkout_payment(api, 1)
    stripe_mock.expire_session(payment.stripe_checkout_session)

    out = run("apranova_reconcile", "--older-than", "30", "--dry-run")

    payment.refresh_from_db()
    assert payment.status == "pending" and "would move pending -> canceled" in out


def test_reconcile_asks_the_payment_intent_once_it_is_known(api, stripe_mock):
    payment = checkout_payment(api, 1)
    _, intent = stripe_mock.pay_session(payment.stripe_checkout_session, "processing")
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent=intent["id"], status="processing")
    stripe_mock.intents[intent["id"]]["status"] = "succeeded"

    run("apranova_reconcile", "--older-than", "30")

    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert stripe_mock.calls_to("retrieve_checkout_session") == []
