"""What we send is what Stripe accepts, and what Stripe sends is read as it is (DESIGN.md,
"Talking to Stripe as it is"): empty metadata values, the cancellation reason, the pinned
API version of the SDK. The disputes' statuses and the refunds and disputes matched through
their charge are in tests/refunds/test_stripe_as_it_is.py."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib.metadata import requires
from io import StringIO
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from packaging.requirements import Requirement

from django_apranova_payments import conf, metadata, services
from django_apranova_payments.gateway import get_gateway
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, build_payment_intent, post_event
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("apranova_payments:create-payment")


def create(api: Any, body: Any) -> Any:
    return api.post(CREATE, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")


def as_stripe_keeps(intent: dict[str, Any]) -> dict[str, Any]:
    """The PaymentIntent as Stripe stores it: a key sent with an empty value is unset."""
    return {**intent, "metadata": {k: v for k, v in intent["metadata"].items() if v != ""}}


def test_an_empty_metadata_value_is_never_sent_and_never_stored(api, stripe_mock):
    response = create(api, {"amount": "19.99", "metadata": {"course": "7", "note": ""}})

    assert response.status_code == 201, response.content
    sent = stripe_mock.calls_to("create")[0]["params"]["metadata"]
    assert "note" not in sent and sent["course"] == "7"
    assert all(value != "" for value in sent.values())
    assert response.json()["metadata"] == {"course": "7"}
    assert Payment.objects.get().metadata == {"course": "7"}


@pytest.mark.usefixtures("webhook_mode")
def test_a_payment_created_with_an_empty_metadata_value_is_rebuilt_from_what_stripe_keeps(
    api, stripe_mock, user, captured_signals,
):
    """The installation mark covers exactly what Stripe stores: when the row is lost, the
    succeeded event (whose metadata lacks the emptied key) still proves the payment ours,
    and the student is enrolled."""
    response = create(api, {"amount": "19.99", "metadata": {"course": "7", "note": ""}})
    intent_id = response.json()["paymentIntent"]
    Payment.objects.all().delete()
    intent = as_stripe_keeps({**stripe_mock.intents[intent_id], "status": "succeeded"})

    post_event(Client(), build_event(intent, "payment_intent.succeeded"))

    payment = Payment.objects.get(stripe_payment_intent=intent_id)
    assert payment.status == "succeeded" and payment.user == user
    assert payment.metadata == {"course": "7"}
    assert WebhookEvent.objects.get().outcome == "processed"
    assert captured_signals.count("payment_succeeded") == 1


def test_a_refund_without_a_requester_sends_no_empty_user(stripe_mock, user):
    payment = PaymentFactory(user=user, status="succeeded")
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")

    services.refund_payment(payment)

    sent = stripe_mock.calls_to("refund")[0]["params"]["metadata"]
    assert metadata.USER not in sent
    assert all(value != "" for value in sent.values())
    assert metadata.MARK in sent


def test_the_gateway_refuses_to_send_an_empty_metadata_value(stripe_mock):
    with pytest.raises(ValueError, match=r"must not be empty.*note"):
        get_gateway().create_payment_intent(
            amount=1999, currency="usd", metadata={"course": "7", "note": ""}, idempotency_key="k")
    assert stripe_mock.calls_to("create") == []


def test_the_mark_of_metadata_without_empty_values_is_the_mark_of_what_stripe_keeps():
    own = metadata.own_metadata(user_pk=5, amount_minor=100, currency="usd", host={"a": "1"},
                                idempotency_key="", fingerprint="")
    assert "" not in own.values() and metadata.IDEMPOTENCY_KEY not in own
    assert metadata.verified_owner({**own, "a": "1"}, 100, "usd") is not None


def test_cancel_abandoned_tells_stripe_the_payment_was_abandoned(stripe_mock):
    payment = PaymentFactory(status="pending")
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=30))
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "requires_payment_method")

    call_command("apranova_cancel_abandoned", "--older-than", "24", stdout=StringIO())

    (call,) = stripe_mock.calls_to("cancel")
    assert call["params"] == {"cancellation_reason": "abandoned"}
    assert stripe_mock.intents[payment.stripe_payment_intent]["cancellation_reason"] == "abandoned"
    assert Payment.objects.get(pk=payment.pk).status == "canceled"


def test_a_student_cancelling_tells_stripe_it_was_requested_by_the_customer(api, stripe_mock, user):
    payment = PaymentFactory(user=user, status="pending")
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "requires_payment_method")

    response = api.post(reverse("apranova_payments:payment-cancel", args=[payment.stripe_payment_intent]))

    assert response.status_code == 200, response.content
    assert stripe_mock.calls_to("cancel")[0]["params"] == {"cancellation_reason": "requested_by_customer"}


def test_the_sdk_is_required_at_the_release_that_pins_the_api_version_we_send():
    """``stripe`` is required at the minor version whose generated types are those of the
    API version sent on every request: 16.0 pins the version before ours, 16.2 may pin the
    next."""
    assert stripe.api_version == conf.STRIPE_API_VERSION
    (requirement,) = [Requirement(line) for line in requires("django-apranova-payments") or []
                      if Requirement(line).name == "stripe"]
    allowed = [version for version in ("16.0.0", "16.1.0", "16.1.9", "16.2.0", "17.0.0")
               if requirement.specifier.contains(version)]
    assert allowed == ["16.1.0", "16.1.9"]
