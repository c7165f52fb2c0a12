"""The installation mark covers the coupon and its discount; coupon guessing is throttled."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test.utils import override_settings

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, post_event
from tests.coupons.conftest import coupon_errors, create, make_coupon, payments_settings

pytestmark = pytest.mark.django_db


def test_a_lost_row_is_rebuilt_with_its_coupon_and_discount(api, client, stripe_mock, coupon):
    pi = create(api, "SPRING25", "100.00", HTTP_IDEMPOTENCY_KEY="k1").json()["paymentIntent"]
    Payment.objects.all().delete()  # as if the process died between Stripe's answer and the INSERT

    response = post_event(client, build_event(stripe_mock.set_status(pi, "succeeded"), "payment_intent.succeeded"))

    assert response.status_code == 200
    rebuilt = Payment.objects.get(stripe_payment_intent=pi)
    assert (rebuilt.coupon, rebuilt.discount, rebuilt.amount, rebuilt.status) == (
        coupon, Decimal("25.00"), Decimal("75.00"), "succeeded")


@pytest.mark.parametrize(("key", "forged"), [("apranova_discount", "9900"), ("apranova_coupon", "OTHER")])
def test_a_forged_coupon_or_discount_breaks_the_mark(api, client, stripe_mock, coupon, key, forged):
    make_coupon("OTHER")
    pi = create(api).json()["paymentIntent"]
    Payment.objects.all().delete()
    intent = stripe_mock.set_status(pi, "succeeded")
    intent["metadata"][key] = forged

    assert post_event(client, build_event(intent, "payment_intent.succeeded")).status_code == 200

    assert not Payment.objects.exists()
    assert WebhookEvent.objects.get().outcome == "ignored"


def test_a_rebuilt_payment_keeps_its_discount_when_the_coupon_was_deleted(api, client, stripe_mock, coupon):
    pi = create(api).json()["paymentIntent"]
    Payment.objects.all().delete()
    coupon.delete()

    post_event(client, build_event(stripe_mock.set_status(pi, "succeeded"), "payment_intent.succeeded"))

    rebuilt = Payment.objects.get()
    assert (rebuilt.coupon, rebuilt.discount) == (None, Decimal("25.00"))


def test_coupon_guessing_is_throttled_with_the_create_rate(api, stripe_mock):
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "coupons"}}
    with override_settings(CACHES=caches), payments_settings(THROTTLE_RATES={"create": "3/min"}):
        cache.clear()
        answers = [create(api, f"GUESS{i}") for i in range(4)]
        cache.clear()

    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert "Retry-After" in answers[-1].headers
    assert stripe_mock.calls == []


def test_a_payment_with_a_coupon_shows_it_in_the_list_and_detail(api, stripe_mock, coupon):
    pi = create(api).json()["paymentIntent"]

    listed = api.get("/billing/v1/").json()["results"][0]
    detail = api.get(f"/billing/v1/{pi}/").json()

    assert (listed["coupon"], listed["discount"]) == (detail["coupon"], detail["discount"]) == ("SPRING25", "25.00")


def test_only_payments_with_this_coupon_hold_its_redemptions(api, other_user, stripe_mock):
    limited = make_coupon(max_redemptions=1)
    other = make_coupon("OTHER")
    Payment.objects.create(user=other_user, stripe_payment_intent="pi_other", amount=75, currency="usd",
                           coupon=other, discount=25)
    Payment.objects.create(user=other_user, stripe_payment_intent="pi_plain", amount=100, currency="usd")

    assert create(api).status_code == 201
    assert Payment.objects.filter(coupon=limited).count() == 1
    assert coupon_errors(create(api)) == ["This coupon has been used up."]
