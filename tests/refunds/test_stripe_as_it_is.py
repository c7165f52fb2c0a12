"""Refunds and disputes as Stripe sends them (DESIGN.md, "Talking to Stripe as it is"): every
dispute status of the pinned API version and the ones Stripe adds later, and a refund or
dispute that names only its charge."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

import pytest
import stripe
from django.test import Client

from django_apranova_payments import refunds
from django_apranova_payments.models import Dispute, Payment, WebhookEvent
from django_apranova_payments.testing import build_dispute, build_event, build_payment_intent, post_event
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


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
