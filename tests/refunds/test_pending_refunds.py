"""Pending refunds: one holds its amount (what is left, and what ``charge.refunded`` is compared
with), and a full refund that starts ``pending`` and then succeeds is applied in full."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from django_apranova_payments import services
from django_apranova_payments.models import Payment
from django_apranova_payments.refunds import refunded_or_open_minor
from django_apranova_payments.testing import (
    build_charge,
    build_event,
    build_payment_intent,
    capture_signals,
    post_event,
)
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(stripe_mock: Any) -> Payment:
    payment = PaymentFactory(status="succeeded", stripe_status="succeeded", amount=Decimal("100.00"))
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


def pending_refund(stripe_mock: Any, payment: Payment, amount: str | None) -> Any:
    stripe_mock.refund_status = "pending"
    try:
        refund = services.refund_payment(payment, Decimal(amount) if amount else None).refund
    finally:
        stripe_mock.refund_status = "succeeded"
    assert refund.status == "pending"
    return refund


def test_a_pending_refund_counts_as_refunded_or_open(paid, stripe_mock):
    services.refund_payment(paid, Decimal("10.00"))
    pending_refund(stripe_mock, paid, "30.00")
    paid.refresh_from_db()

    assert paid.amount_refunded == Decimal("10.00")
    assert paid.amount_left_to_refund == Decimal("60.00")
    assert refunded_or_open_minor(paid) == 4000


def test_charge_refunded_covered_by_a_pending_refund_asks_stripe_nothing(client, paid, stripe_mock):
    """Stripe's Charge counts a pending refund in ``amount_refunded``: the refund stored here
    already explains it, so nothing is fetched."""
    pending_refund(stripe_mock, paid, "30.00")

    response = post_event(client, build_event(build_charge(paid, 3000), "charge.refunded"))

    assert response.json()["outcome"] == "processed"
    assert stripe_mock.calls_to("list_refunds") == []


def test_a_full_refund_that_starts_pending_then_succeeds_refunds_everything(client, paid, stripe_mock):
    refund = pending_refund(stripe_mock, paid, None)  # all of it
    succeeded = stripe_mock.set_refund_status(refund.stripe_refund, "succeeded")

    with capture_signals() as sent:
        response = post_event(client, build_event(succeeded, "refund.updated"))

    assert response.json()["outcome"] == "processed"
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == "succeeded"
    assert paid.amount_refunded == Decimal("100.00") and paid.is_fully_refunded
    assert sent.names().count("payment_refunded") == 1
