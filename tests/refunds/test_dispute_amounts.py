"""A dispute can never be for more than its payment: a signed dispute whose amount is above
the payment's is refused with a clear note, as a refund that would exceed the payment is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from django_apranova_payments.gateway import DisputeData
from django_apranova_payments.models import Dispute, WebhookEvent
from django_apranova_payments.refunds import DISPUTE_EXCEEDS, apply_dispute, decide_dispute
from django_apranova_payments.testing import build_dispute, build_event, capture_signals, post_event
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def paid(**kwargs: Any) -> Any:
    return PaymentFactory(status="succeeded", stripe_status="succeeded", amount=Decimal("100.00"), **kwargs)


def test_a_signed_dispute_far_above_the_payment_is_refused_with_a_clear_note(client):
    payment = paid()
    dispute = build_dispute(payment, amount=10_000_000)  # 100,000.00 USD of a 100.00 payment

    with capture_signals() as signals:
        response = post_event(client, build_event(dispute, "charge.dispute.created"))

    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    event = WebhookEvent.objects.get(object_id=dispute["id"])
    assert event.outcome == "ignored"
    assert event.note == f"not applied: {DISPUTE_EXCEEDS}"
    assert not Dispute.objects.exists()
    assert signals.names() == ["webhook_event_received"]


def test_a_dispute_of_one_minor_unit_more_is_refused_and_one_of_the_whole_amount_is_stored():
    payment = paid()

    above = apply_dispute(payment, DisputeData.from_dict(build_dispute(payment, amount=10_001)))
    whole = apply_dispute(payment, DisputeData.from_dict(build_dispute(payment, amount=10_000)))

    assert above.refused == DISPUTE_EXCEEDS and above.obj is None
    assert whole.applied and Dispute.objects.get().amount == Decimal("100.00")


def test_an_update_raising_a_stored_dispute_above_the_payment_is_refused():
    payment = paid()
    dispute = build_dispute(payment, amount=5_000)
    apply_dispute(payment, DisputeData.from_dict(dispute))

    result = apply_dispute(payment, DisputeData.from_dict({**dispute, "amount": 20_000, "status": "under_review"}))

    assert result.refused == DISPUTE_EXCEEDS
    stored = Dispute.objects.get()
    assert (stored.amount, stored.status) == (Decimal("50.00"), "needs_response")


def test_the_dry_run_says_the_same():
    payment = paid()

    assert decide_dispute(payment, DisputeData.from_dict(build_dispute(payment, amount=10_001))).refused == (
        DISPUTE_EXCEEDS)
