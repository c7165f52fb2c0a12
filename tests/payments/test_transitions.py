"""The status machine documented in docs/explanation/status-machine.md: Stripe statuses
mapped to local ones, transitions allowed."""

from __future__ import annotations

import pytest

from django_apranova_payments.gateway import PaymentIntentData
from django_apranova_payments.transitions import ALLOWED_TRANSITIONS, can_transition, status_for_intent


def intent(status: str, failure: str = "") -> PaymentIntentData:
    return PaymentIntentData(id="pi_1", status=status, amount=1000, currency="usd", failure_code=failure)


@pytest.mark.parametrize(
    ("stripe_status", "failure", "local"),
    [
        ("requires_payment_method", "", "pending"),
        ("requires_confirmation", "", "pending"),
        ("requires_action", "", "pending"),
        ("requires_payment_method", "card_declined", "failed"),
        ("requires_confirmation", "card_declined", "failed"),
        ("requires_action", "authentication_required", "failed"),
        ("processing", "", "processing"),
        ("succeeded", "", "succeeded"),
        ("canceled", "", "canceled"),
        ("requires_capture", "", None),
        ("something_new", "", None),
    ],
)
def test_stripe_status_maps_to_local_status(stripe_status, failure, local):
    assert status_for_intent(intent(stripe_status, failure)) == local


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pending", "processing"), ("pending", "succeeded"), ("pending", "failed"), ("pending", "canceled"),
        ("processing", "succeeded"), ("processing", "failed"), ("processing", "canceled"),
        ("failed", "processing"), ("failed", "succeeded"), ("failed", "pending"), ("failed", "canceled"),
    ],
)
def test_allowed_transitions(old, new):
    assert can_transition(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("processing", "pending"),
        *[("succeeded", other) for other in ("pending", "processing", "failed", "canceled")],
        *[("canceled", other) for other in ("pending", "processing", "failed", "succeeded")],
    ],
)
def test_refused_transitions(old, new):
    assert not can_transition(old, new)


def test_terminal_statuses_have_no_way_out():
    assert ALLOWED_TRANSITIONS["succeeded"] == ALLOWED_TRANSITIONS["canceled"] == frozenset()
