"""Hypothesis against the refund endpoint: a few refund requests with any JSON body and any
Idempotency-Key, on a new succeeded KWD payment each time. Never a 5xx; the refunds stored
always add up to ``amount_refunded``, which never exceeds the payment, and Stripe made
exactly those refunds."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_apranova_payments.models import Payment, Refund
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory, staff_holding
from tests.fuzz.budget import API_EXAMPLES
from tests.fuzz.test_webhook_fuzz import json_values

FUZZ = settings(
    max_examples=API_EXAMPLES * 4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# KWD refunds that may fit (steps of 0.010 up to 20.000), so several refunds succeed before
# the payment is used up; then everything else.
fitting = st.integers(min_value=1, max_value=2000).map(lambda steps: str(Decimal(steps) / 100))
amounts = (
    fitting
    | fitting.map(Decimal).map(float)
    | st.none()
    | st.decimals(min_value=Decimal("-100"), max_value=Decimal("100"), allow_nan=False, places=3).map(str)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.text(max_size=12)
    | json_values
)
known_reasons = st.sampled_from(["", "duplicate", "fraudulent", "requested_by_customer"])
reasons = known_reasons | known_reasons | json_values
keys = (
    st.none()
    | st.text(alphabet="abc-", min_size=1, max_size=3)  # reused keys: replays and 422s
    | st.text(min_size=0, max_size=300).filter(lambda key: "\n" not in key and "\r" not in key)
)
extras = st.just({}) | st.dictionaries(st.text(max_size=8), json_values, max_size=2)


@pytest.fixture
def staff_api(db: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_holding("refund_payment"))
    return client


def succeeded_payment(stripe_mock: Any) -> Payment:
    payment = PaymentFactory(status=Payment.Status.SUCCEEDED, amount=Decimal("60.00"), currency="kwd")
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


@FUZZ
@given(requests=st.lists(st.tuples(amounts, reasons, keys, extras), min_size=1, max_size=4))
def test_any_refund_bodies_are_answered_without_a_5xx_and_never_refund_too_much(
    staff_api, stripe_mock, count_request, requests
):
    payment = succeeded_payment(stripe_mock)  # a new one for each example
    url = reverse("apranova_payments:payment-refund", args=[payment.stripe_payment_intent])
    for amount, reason, key, extra in requests:
        count_request("api: POST refund (hypothesis)")
        headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        try:
            response = staff_api.post(url, data=json.dumps({**extra, "amount": amount, "reason": reason}),
                                      content_type="application/json", **headers)
        except ValueError:  # the test client itself refuses some header values
            continue

        assert response.status_code in (201, 400, 409, 422), response.content
        payment.refresh_from_db()
        stored = Refund.objects.filter(payment=payment, status="succeeded").values_list("amount", flat=True)
        assert sum(stored, Decimal(0)) == payment.amount_refunded <= payment.amount
        made = [r["amount"] for r in stripe_mock.refunds.values()
                if r["payment_intent"] == payment.stripe_payment_intent]
        assert sum(made) == payment.amount_refunded * 1000  # KWD: three decimals
