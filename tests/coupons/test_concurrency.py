"""Redemptions are never exceeded, however many students apply the last ones at once: real
threads on PostgreSQL, where the coupon's row lock is real."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from django_apranova_payments.gateway import StripeGateway
from django_apranova_payments.models import Payment
from tests.coupons.conftest import create, make_coupon
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(users: list[Any], keys: list[str | None]) -> list[Any]:
    """create-payment with the coupon, one thread per (user, key), started together."""
    start, answers = threading.Barrier(len(users)), []

    def buy(user: Any, key: str | None) -> None:
        try:
            client = APIClient()
            client.force_authenticate(user)
            start.wait(30)
            headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
            answers.append(create(client, "LAUNCH", "100.00", **headers))
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=pair) for pair in zip(users, keys, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == len(users)
    return answers


@pytest.fixture
def slow_stripe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stripe takes 50 ms to create a PaymentIntent: the others reach the coupon meanwhile."""
    create_intent = StripeGateway.create_payment_intent

    def slow(self: StripeGateway, **kwargs: Any) -> Any:
        time.sleep(0.05)
        return create_intent(self, **kwargs)

    monkeypatch.setattr(StripeGateway, "create_payment_intent", slow)


def test_fifty_students_at_once_on_the_last_two_redemptions_get_exactly_two(stripe_mock, slow_stripe):
    coupon = make_coupon("LAUNCH", max_redemptions=5)
    earlier = UserFactory()
    for i in range(3):
        Payment.objects.create(user=earlier, stripe_payment_intent=f"pi_earlier{i}", amount=75, currency="usd",
                               coupon=coupon, discount=25)
    students = [UserFactory() for _ in range(50)]

    answers = at_once(students, [None] * 50)

    assert Counter(a.status_code for a in answers) == {201: 2, 400: 48}
    assert {a.json()["coupon"][0] for a in answers if a.status_code == 400} == {"This coupon has been used up."}
    assert Payment.objects.filter(coupon=coupon).count() == 5
    assert len(stripe_mock.calls_to("create")) == 2


def test_one_student_in_ten_tabs_at_once_redeems_once(stripe_mock, slow_stripe):
    make_coupon("LAUNCH")  # one per student
    student = UserFactory()

    answers = at_once([student] * 10, [f"tab-{i}" for i in range(10)])

    assert Counter(a.status_code for a in answers) == {201: 1, 400: 9}
    assert Payment.objects.filter(user=student).count() == 1


def test_one_retry_sent_ten_times_at_once_holds_one_redemption(stripe_mock, slow_stripe):
    make_coupon("LAUNCH", max_redemptions=1)
    student = UserFactory()

    answers = at_once([student] * 10, ["same"] * 10)

    assert Counter(a.status_code for a in answers) == {201: 10}
    assert len({a.json()["paymentIntent"] for a in answers}) == 1
    assert Payment.objects.count() == 1
