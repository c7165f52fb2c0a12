"""Concurrent first purchases of one student, on real threads and PostgreSQL: one Customer at
Stripe, one row, every PaymentIntent on it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import pre_save
from rest_framework.test import APIClient

from django_apranova_payments.models import Customer, Payment
from tests.factories import UserFactory

from .conftest import create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BUYERS = 4


def test_concurrent_first_purchases_make_one_customer(stripe_mock):
    user = UserFactory()
    # Every request waits, after Stripe answered and before its INSERT, until all have come
    # that far: each of them looked for the row before any was stored.
    all_asked_stripe = threading.Barrier(BUYERS, timeout=10)

    def hold_the_insert(sender: Any, **kwargs: Any) -> None:
        all_asked_stripe.wait()

    answers: list[Any] = []

    def buy() -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            answers.append(create(client, {"amount": "19.99", "savePaymentMethod": True}))
        finally:
            connection.close()

    pre_save.connect(hold_the_insert, sender=Customer, dispatch_uid="hold_the_insert")
    try:
        threads = [threading.Thread(target=buy) for _ in range(BUYERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        pre_save.disconnect(dispatch_uid="hold_the_insert", sender=Customer)

    assert [answer.status_code for answer in answers] == [201] * BUYERS
    row = Customer.objects.get(user=user)
    assert list(stripe_mock.customers) == [row.stripe_customer]
    assert {call["params"]["customer"] for call in stripe_mock.calls_to("create")} == {row.stripe_customer}
    assert len(stripe_mock.calls_to("create_customer")) == BUYERS  # each asked; Stripe made one
    assert len({call["headers"]["Idempotency-Key"] for call in stripe_mock.calls_to("create_customer")}) == 1
    assert Payment.objects.filter(user=user).count() == BUYERS
