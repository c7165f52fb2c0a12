"""The refund page and buttons know when nothing is left to refund and where the refund
happens: no "Refund…" for a payment refunded in full or free, a clear message (and no form)
when the page is reached anyway, "Refund in the simulator" with the simulator gateway, and
Django admin's form markup."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from tests.factories import PaymentFactory

SIMULATOR = "django_apranova_payments.simulator.gateway.SimulatorGateway"


def change_page(client: Any, payment: Any) -> str:
    response = client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk]))
    assert response.status_code == 200
    return str(response.content.decode())


def refund_page(client: Any, payment: Any) -> Any:
    return client.get(reverse("admin:apranova_payments_payment_refund", args=[payment.pk]))


@pytest.mark.parametrize(("fields", "offered"), [
    ({}, True),
    ({"amount_refunded": Decimal("40.00")}, True),
    ({"amount_refunded": Decimal("100.00")}, False),
    ({"status": "failed"}, False),
    ({"stripe_payment_intent": "free_0123456789abcdef", "amount": Decimal("0.00")}, False),
])
def test_refund_is_offered_only_while_something_is_left(admin_client, user, fields, offered):
    payment = PaymentFactory(user=user, **{"status": "succeeded", "amount": Decimal("100.00"), **fields})

    assert ('class="refundlink"' in change_page(admin_client, payment)) is offered


@pytest.mark.parametrize(("fields", "why"), [
    ({"amount_refunded": Decimal("100.00")}, "nothing left to refund"),
    ({"stripe_payment_intent": "free_0123456789abcdef", "amount": Decimal("0.00")}, "nothing to refund: free"),
])
def test_the_refund_page_reached_anyway_says_nothing_is_left_and_has_no_form(admin_client, user, fields, why):
    payment = PaymentFactory(user=user, **{"status": "succeeded", "amount": Decimal("100.00"), **fields})

    response = refund_page(admin_client, payment)

    assert response.status_code == 200
    content = response.content.decode().split('id="content-main"')[1]
    assert '<p class="errornote">This payment has nothing to refund: see why below.</p>' in content
    assert why in content
    assert "<form" not in content and 'name="apply"' not in content


def test_the_refund_page_is_an_admin_form_saying_at_stripe(admin_client, user):
    payment = PaymentFactory(user=user, status="succeeded", amount=Decimal("100.00"))

    content = refund_page(admin_client, payment).content.decode()

    assert '<fieldset class="module aligned">' in content
    assert '<div class="form-row field-amount">' in content and '<div class="submit-row">' in content
    assert '<label for="id_amount">Amount:</label>' in content
    assert 'value="Refund at Stripe" class="default"' in content and "Yes, refund at Stripe" in content
    assert "simulator" not in content


def test_with_the_simulator_the_refund_page_says_no_money_moves(admin_client, user, settings):
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "GATEWAY": SIMULATOR}
    payment = PaymentFactory(user=user, status="succeeded", amount=Decimal("100.00"))

    content = refund_page(admin_client, payment).content.decode()

    assert 'value="Refund in the simulator" class="default"' in content
    assert "Yes, refund in the simulator (no money moves)" in content
    assert "This refunds the payment below in the simulator: no money moves." in content
    assert "at Stripe" not in content
