"""create_payment when the row was stored by another path while Stripe answered: the intent's
own webhook rebuilt it, or a concurrent request with the same Idempotency-Key stored it first.
(Survivors of the mutation run, docs/explanation/testing.md.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from django_apranova_payments import exceptions, services
from django_apranova_payments.charges import Charge
from django_apranova_payments.gateway import PaymentIntentData
from django_apranova_payments.models import Payment
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

CHARGE = Charge.of(Decimal("12.50"), "usd", {"course": "7"})


def gateway_that(before_answering: Any, intent_id: str = "pi_meanwhile") -> type:
    """A gateway whose create_payment_intent runs ``before_answering`` (the other path storing
    the row) and then answers with the intent, as Stripe would."""

    class Gateway:
        livemode = False

        def create_payment_intent(self, **kwargs: Any) -> PaymentIntentData:
            before_answering()
            return PaymentIntentData(
                id=intent_id,
                status="requires_payment_method",
                amount=kwargs["amount"],
                currency=kwargs["currency"],
                client_secret="cs_meanwhile",
            )

    return Gateway


def test_a_row_the_webhook_stored_meanwhile_is_returned_as_created(user, monkeypatch):
    stored = []
    monkeypatch.setattr(
        services,
        "get_gateway",
        gateway_that(
            lambda: stored.append(
                PaymentFactory(user=user, stripe_payment_intent="pi_meanwhile", amount=Decimal("12.50"), currency="usd")
            )
        ),
    )

    created = services.create_payment(user, CHARGE)

    assert created.payment == stored[0]
    assert (created.client_secret, created.replayed) == ("cs_meanwhile", False)
    assert Payment.objects.count() == 1


def test_a_row_stored_meanwhile_by_the_same_key_is_a_replay(user, other_user, monkeypatch):
    PaymentFactory(user=user, idempotency_key="k0")  # this user's other payment
    PaymentFactory(user=other_user, idempotency_key="k1")  # the same key, another user's
    fingerprint = services.request_fingerprint({"amount": "12.50", "currency": "usd", "metadata": {"course": "7"}})
    stored = []
    monkeypatch.setattr(
        services,
        "get_gateway",
        gateway_that(
            lambda: stored.append(
                PaymentFactory(
                    user=user, stripe_payment_intent="pi_first", idempotency_key="k1", request_fingerprint=fingerprint
                )
            )
        ),
    )

    created = services.create_payment(user, CHARGE, idempotency_key="k1")

    assert created.payment == stored[0]
    assert (created.client_secret, created.replayed) == ("cs_meanwhile", True)
    assert Payment.objects.filter(user=user).count() == 2


def test_a_row_stored_meanwhile_by_the_same_key_for_another_body_is_a_conflict(user, monkeypatch):
    monkeypatch.setattr(
        services,
        "get_gateway",
        gateway_that(
            lambda: PaymentFactory(
                user=user, stripe_payment_intent="pi_first", idempotency_key="k1", request_fingerprint="another body"
            )
        ),
    )

    with pytest.raises(exceptions.IdempotencyConflict):
        services.create_payment(user, CHARGE, idempotency_key="k1")
    assert list(Payment.objects.values_list("stripe_payment_intent", flat=True)) == ["pi_first"]
