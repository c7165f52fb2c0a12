"""What we send is what Stripe accepts, and what Stripe sends is read as it is (DESIGN.md,
"Talking to Stripe as it is"): empty metadata values, the cancellation reason, the pinned
API version of the SDK."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
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

from django_apranova_payments import conf, metadata, refunds, services
from django_apranova_payments.gateway import get_gateway
from django_apranova_payments.models import Dispute, Payment, WebhookEvent
from django_apranova_payments.testing import build_dispute, build_event, build_payment_intent, post_event
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


# -- disputes: every status of the pinned API version, and the ones Stripe adds later ----------------------


@pytest.fixture
def disputed(user: Any) -> Payment:
    return PaymentFactory(user=user, status="succeeded")


def deliver(obj: dict[str, Any], event_type: str, created: int) -> str:
    response = post_event(Client(), build_event(obj, event_type, created=created))
    assert response.status_code == 200, response.content
    return str(response.json()["outcome"])


def test_a_lost_dispute_may_be_appealed_and_won_and_each_close_is_announced(disputed, captured_signals):
    dispute = build_dispute(disputed, "needs_response")
    steps = [("charge.dispute.created", "needs_response"), ("charge.dispute.closed", "lost"),
             ("charge.dispute.updated", "appeal_needs_response"), ("charge.dispute.updated", "appeal_under_review"),
             ("charge.dispute.closed", "won")]

    outcomes = [deliver({**dispute, "status": status}, kind, 1_800_000_000 + n)
                for n, (kind, status) in enumerate(steps)]

    assert outcomes == ["processed"] * 5
    assert Dispute.objects.get().status == "won"
    assert captured_signals.count("payment_disputed") == 1
    assert [sent["dispute"].status for sent in captured_signals.of("dispute_closed")] == ["lost", "won"]


def test_an_appeal_whose_lost_was_never_seen_is_applied(disputed, captured_signals):
    dispute = build_dispute(disputed, "under_review")
    deliver(dispute, "charge.dispute.created", 1_800_000_000)

    assert deliver({**dispute, "status": "appeal_under_review"}, "charge.dispute.updated", 1_800_000_001) == "processed"
    assert deliver({**dispute, "status": "appeal_needs_response"}, "charge.dispute.updated", 1_800_000_002) == "ignored"
    assert Dispute.objects.get().status == "appeal_under_review"
    assert Payment.objects.get(pk=disputed.pk).is_disputed


def test_a_prevented_dispute_is_closed_and_final(disputed, captured_signals):
    dispute = build_dispute(disputed, "warning_needs_response", is_charge_refundable=True)
    deliver(dispute, "charge.dispute.created", 1_800_000_000)

    assert deliver({**dispute, "status": "prevented"}, "charge.dispute.closed", 1_800_000_001) == "processed"
    assert deliver({**dispute, "status": "needs_response"}, "charge.dispute.updated", 1_800_000_002) == "ignored"
    assert Dispute.objects.get().status == "prevented"
    assert [sent["dispute"].status for sent in captured_signals.of("dispute_closed")] == ["prevented"]
    assert not Payment.objects.get(pk=disputed.pk).is_disputed


def test_every_dispute_status_of_the_pinned_version_is_known():
    """The statuses of ``Dispute.status`` in stripe-python's generated resource, which follow
    the API version the SDK pins (the same as ours)."""
    (cls,) = ast.parse(textwrap.dedent(inspect.getsource(stripe.Dispute))).body
    (annotation,) = [node.annotation for node in cls.body  # status: Union[str, Literal["won", …]]
                     if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "status"]
    stripe_statuses = {node.value for node in ast.walk(annotation) if isinstance(node, ast.Constant)}
    assert stripe_statuses == refunds.KNOWN_DISPUTE_STATUSES


@pytest.mark.parametrize("due_by", [0, None])
def test_a_dispute_the_bank_allows_no_response_to_has_no_deadline(disputed, due_by):
    dispute = build_dispute(disputed, "needs_response")
    dispute["evidence_details"] = {**dispute.get("evidence_details", {}), "due_by": due_by}

    deliver(dispute, "charge.dispute.created", 1_800_000_000)

    assert Dispute.objects.get().evidence_due_by is None


# -- a refund or dispute that names only its charge ----------------------------------------------------------


def test_a_refund_without_a_payment_intent_is_matched_through_its_charge(stripe_mock, disputed, captured_signals):
    from django_apranova_payments.testing import build_refund

    stripe_mock.intents[disputed.stripe_payment_intent] = build_payment_intent(disputed, "succeeded")
    refund = {**build_refund(disputed), "payment_intent": None}

    assert deliver(refund, "refund.created", 1_800_000_000) == "processed"

    assert Payment.objects.get(pk=disputed.pk).amount_refunded == disputed.amount
    assert captured_signals.count("payment_refunded") == 1
    assert stripe_mock.calls_to("retrieve_charge")[0]["url"].endswith(f"/v1/charges/{refund['charge']}")


def test_a_dispute_without_a_payment_intent_is_matched_through_its_charge(stripe_mock, disputed, captured_signals):
    stripe_mock.intents[disputed.stripe_payment_intent] = build_payment_intent(disputed, "succeeded")

    assert deliver({**build_dispute(disputed), "payment_intent": None}, "charge.dispute.created",
                   1_800_000_000) == "processed"
    assert captured_signals.count("payment_disputed") == 1


def test_a_refund_of_a_charge_stripe_does_not_know_is_ignored(stripe_mock, disputed):
    from django_apranova_payments.testing import build_refund

    refund = {**build_refund(disputed), "payment_intent": None, "charge": "ch_elsewhere"}

    assert deliver(refund, "refund.created", 1_800_000_000) == "ignored"
    assert WebhookEvent.objects.get().note == "Refund of a charge Stripe does not know"
    assert not Payment.objects.get(pk=disputed.pk).refunds.exists()


def test_stripe_down_while_matching_a_charge_fails_the_event_for_a_retry(stripe_mock, disputed):
    from django_apranova_payments.testing import build_refund

    stripe_mock.fail_next("retrieve_charge", status=500, times=3)  # and stripe-python's two retries
    refund = {**build_refund(disputed), "payment_intent": None}

    response = post_event(Client(), build_event(refund, "refund.created", created=1_800_000_000))

    assert response.status_code == 500
    assert WebhookEvent.objects.get().outcome == "failed"
