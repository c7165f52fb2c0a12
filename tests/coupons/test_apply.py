"""Applying a coupon on create-payment: the discount after the price, each refusal a 400 on
``coupon`` before Stripe is called, 100% off through the free path."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from django_apranova_payments.models import Coupon, Payment
from django_apranova_payments.testing import build_event, post_event
from tests.coupons.conftest import CREATE, coupon_errors, create, make_coupon, payments_settings
from tests.factories import staff_holding

pytestmark = pytest.mark.django_db


def test_a_percent_coupon_takes_its_share_off_the_price(api, user, stripe_mock, coupon):
    response = create(api, "SPRING25", "100.00")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["discount"], body["coupon"]) == ("75.00", "25.00", "SPRING25")
    payment = Payment.objects.get()
    assert (payment.amount, payment.discount, payment.coupon) == (Decimal("75.00"), Decimal("25.00"), coupon)
    sent = stripe_mock.calls_to("create")[0]
    assert sent["params"]["amount"] == "7500"
    metadata = stripe_mock.intents[body["paymentIntent"]]["metadata"]
    assert (metadata["apranova_coupon"], metadata["apranova_discount"]) == ("SPRING25", "2500")


@pytest.mark.parametrize("typed", ["spring25", " Spring25 ", "SPRING25"])
def test_codes_match_without_regard_to_case_or_surrounding_space(api, stripe_mock, coupon, typed):
    response = create(api, typed)

    assert response.status_code == 201 and response.json()["coupon"] == "SPRING25"


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_coupon_field_applies_none(api, stripe_mock, coupon, empty):
    response = create(api, empty)

    assert response.status_code == 201
    body = response.json()
    assert (body["coupon"], body["discount"], body["amount"]) == (None, "0.00", "100.00")


# The rounding table: percent off, rounded half up to the currency's smallest chargeable unit
# (three-decimal currencies end in 0).
ROUNDING = [
    ("usd", "19.99", "15", "3.00", "16.99"),   # 2.9985
    ("usd", "19.99", "33", "6.60", "13.39"),   # 6.5967
    ("usd", "10.30", "15", "1.55", "8.75"),    # 1.545: half up, where half even gives 1.54
    ("jpy", "1999", "15", "300", "1699"),      # 299.85
    ("jpy", "1999", "33", "660", "1339"),      # 659.67
    ("jpy", "1010", "15", "152", "858"),       # 151.5: half up
    ("kwd", "5.130", "15", "0.770", "4.360"),  # 0.7695 -> 76.95 steps of 0.010 -> 77
    ("kwd", "5.130", "33", "1.690", "3.440"),  # 1.6929 -> 169.29 steps -> 169
    ("inr", "4999.00", "15", "749.85", "4249.15"),
    ("inr", "4999.00", "33", "1649.67", "3349.33"),
]


@pytest.mark.parametrize(("currency", "price", "percent", "discount", "charged"), ROUNDING)
def test_the_rounding_table(api, stripe_mock, currency, price, percent, discount, charged):
    make_coupon(percent_off=Decimal(percent))

    with payments_settings(CURRENCIES=["usd", "jpy", "kwd", "inr"]):
        response = create(api, "SPRING25", price, currency)

    assert response.status_code == 201, response.content
    assert (response.json()["discount"], response.json()["amount"]) == (discount, charged)
    minor = int(stripe_mock.calls_to("create")[0]["params"]["amount"])
    assert minor == {"usd": 100, "inr": 100, "jpy": 1, "kwd": 1000}[currency] * Decimal(charged)


WHOLE_PRICES = [("usd", "19.99"), ("jpy", "1999"), ("kwd", "5.130"), ("inr", "4999.00")]


@pytest.mark.parametrize(("currency", "price"), WHOLE_PRICES)
def test_100_percent_of_every_currency_is_the_whole_price_and_free(api, stripe_mock, currency, price):
    make_coupon("SCHOLAR", percent_off=Decimal(100))

    with payments_settings(CURRENCIES=["usd", "jpy", "kwd", "inr"], ALLOW_FREE=True):
        response = create(api, "scholar", price, currency)

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["discount"], body["status"], body["clientSecret"]) == (
        str(Decimal(0).quantize(Decimal(price))), price, "succeeded", None)
    assert stripe_mock.calls == []


def test_an_amount_off_applies_in_its_own_currency(api, stripe_mock):
    make_coupon("TENOFF", amount_off=Decimal("10.00"), currency="usd")

    response = create(api, "TENOFF", "49.00")

    assert response.status_code == 201
    assert (response.json()["amount"], response.json()["discount"]) == ("39.00", "10.00")


def test_an_amount_off_larger_than_the_price_makes_it_free(api, stripe_mock, captured_signals):
    make_coupon("BIG", amount_off=Decimal("500.00"), currency="usd")

    with payments_settings(ALLOW_FREE=True):
        response = create(api, "BIG", "49.00")

    assert response.status_code == 201
    assert (response.json()["amount"], response.json()["discount"], response.json()["status"]) == (
        "0.00", "49.00", "succeeded")
    assert captured_signals.names() == ["payment_created", "payment_status_changed", "payment_succeeded"]


def test_a_full_discount_without_allow_free_is_refused(api, stripe_mock):
    make_coupon("SCHOLAR", percent_off=Decimal(100))

    response = create(api, "SCHOLAR")

    assert coupon_errors(response) == [
        "This coupon covers the whole price, and free purchases are not accepted here."]
    assert stripe_mock.calls == [] and not Payment.objects.exists()


def test_a_discounted_price_below_stripes_minimum_is_refused(api, stripe_mock):
    make_coupon("NINETY", percent_off=Decimal(90))

    response = create(api, "NINETY", "1.00")  # 0.10 USD left; Stripe's minimum is 0.50

    assert coupon_errors(response) == [
        "With this coupon the price would be 0.10 USD, which cannot be charged: Amount must be at least 0.50 USD."]
    assert stripe_mock.calls == []


def now() -> Any:
    return timezone.now()


REFUSALS = [
    ("unknown", {}, "NOPE", "This coupon code is not valid."),
    ("malformed", {}, "no such code!", "This coupon code is not valid."),
    ("inactive", {"active": False}, "SPRING25", "This coupon is no longer active."),
    ("other currency", {"percent_off": None, "amount_off": Decimal(5), "currency": "eur"}, "SPRING25",
     "This coupon applies to prices in EUR only."),
]


@pytest.mark.parametrize(("why", "fields", "typed", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_is_a_400_on_coupon_before_stripe_is_called(api, stripe_mock, why, fields, typed, message):
    make_coupon(**fields)

    response = create(api, typed)

    assert coupon_errors(response) == [message]
    assert stripe_mock.calls == [] and not Payment.objects.exists()


def test_a_coupon_not_yet_valid_says_from_when(api, stripe_mock):
    make_coupon(valid_from=now() + timedelta(days=2))

    [message] = coupon_errors(create(api))

    assert message.startswith("This coupon can be used from ") and stripe_mock.calls == []


def test_an_expired_coupon_says_since_when(api, stripe_mock):
    make_coupon(valid_until=now() - timedelta(seconds=1))

    [message] = coupon_errors(create(api))

    assert message.startswith("This coupon expired on ") and stripe_mock.calls == []


def test_a_coupon_is_valid_from_its_first_moment_to_just_before_its_last(api, stripe_mock):
    make_coupon(valid_from=now() - timedelta(seconds=1), valid_until=now() + timedelta(minutes=5))

    assert create(api).status_code == 201


def test_a_code_longer_than_any_coupon_is_a_400_on_coupon(api, stripe_mock):
    response = create(api, "X" * 5000)

    assert response.status_code == 400 and set(response.json()) == {"coupon"}


@pytest.mark.parametrize("hostile", [["SPRING25"], {"code": "SPRING25"}, 25, True])
def test_a_coupon_that_is_not_a_string_is_a_400_on_coupon(api, stripe_mock, coupon, hostile):
    response = create(api, hostile)

    assert response.status_code == 400 and set(response.json()) == {"coupon"}
    assert not Payment.objects.exists()


def test_refusals_are_translated(api, stripe_mock):
    with override("hi"):
        response = create(api, "NOPE", HTTP_ACCEPT_LANGUAGE="hi")

    assert coupon_errors(response) == ["यह कूपन कोड मान्य नहीं है।"]


def test_a_used_up_coupon_is_refused(api, other_user, stripe_mock):
    make_coupon(max_redemptions=1)
    Payment.objects.create(user=other_user, stripe_payment_intent="pi_other", amount=75, currency="usd",
                           coupon=Coupon.objects.get(), discount=25)

    assert coupon_errors(create(api)) == ["This coupon has been used up."]
    assert stripe_mock.calls == []


def test_a_student_who_used_it_already_is_refused(api, stripe_mock, coupon):
    assert create(api).status_code == 201

    assert coupon_errors(create(api)) == ["You have already used this coupon."]
    assert len(stripe_mock.calls_to("create")) == 1


def test_a_coupon_per_user_limit_of_none_lets_a_student_use_it_again(api, stripe_mock):
    make_coupon(max_redemptions_per_user=None)

    assert [create(api).status_code for _ in range(3)] == [201, 201, 201]


def test_a_per_user_limit_above_one_is_kept(api, stripe_mock):
    make_coupon(max_redemptions_per_user=2)

    assert [create(api).status_code for _ in range(3)] == [201, 201, 400]


def test_a_failed_payment_still_holds_its_redemption(api, stripe_mock, coupon):
    create(api)
    Payment.objects.update(status=Payment.Status.FAILED)

    assert coupon_errors(create(api)) == ["You have already used this coupon."]


def test_canceling_gives_the_redemption_back(api, stripe_mock, coupon):
    first = create(api).json()["paymentIntent"]

    assert api.post(reverse("apranova_payments:payment-cancel", args=[first])).status_code == 200
    again = create(api)

    assert again.status_code == 201, again.content
    assert Payment.objects.filter(coupon=coupon).exclude(status="canceled").count() == 1


def test_a_canceled_event_from_stripe_gives_the_redemption_back(api, client, stripe_mock, coupon):
    first = create(api).json()["paymentIntent"]
    canceled = stripe_mock.set_status(first, "canceled")

    assert post_event(client, build_event(canceled, "payment_intent.canceled")).status_code == 200
    assert Payment.objects.get(stripe_payment_intent=first).status == "canceled"
    assert create(api).status_code == 201


def test_cancel_abandoned_gives_the_redemption_back(api, stripe_mock, coupon):
    first = create(api).json()["paymentIntent"]
    Payment.objects.update(created_at=timezone.now() - timedelta(hours=3))

    call_command("apranova_cancel_abandoned", "--older-than", "2", stdout=io.StringIO())

    assert Payment.objects.get(stripe_payment_intent=first).status == "canceled"
    assert create(api).status_code == 201


def test_an_idempotent_retry_holds_no_second_redemption(api, stripe_mock, coupon):
    first = create(api, HTTP_IDEMPOTENCY_KEY="k1")
    retry = create(api, HTTP_IDEMPOTENCY_KEY="k1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["paymentIntent"] == first.json()["paymentIntent"]
    assert Payment.objects.filter(coupon=coupon).count() == 1


def test_a_retry_is_replayed_even_after_the_coupon_was_deactivated(api, stripe_mock, coupon):
    first = create(api, HTTP_IDEMPOTENCY_KEY="k1")
    Coupon.objects.update(active=False)

    retry = create(api, HTTP_IDEMPOTENCY_KEY="k1")

    assert retry.status_code == 201 and retry.json()["paymentIntent"] == first.json()["paymentIntent"]


def test_the_same_key_with_another_coupon_is_a_conflict(api, stripe_mock, coupon):
    make_coupon("OTHER")
    assert create(api, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201

    assert create(api, "OTHER", HTTP_IDEMPOTENCY_KEY="k1").status_code == 422
    assert create(api, ..., HTTP_IDEMPOTENCY_KEY="k1").status_code == 422


def test_the_price_comes_from_the_resolver_first(api, stripe_mock, coupon):
    with payments_settings(PRICE_RESOLVER="tests.coupons.test_apply.course_price"):
        response = api.post(CREATE, {"coupon": "spring25", "metadata": {"course": "7"}},
                            format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["amount"], response.json()["discount"]) == ("300.00", "100.00")


def course_price(request: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"amount": Decimal("400.00"), "currency": "usd", "metadata": data["metadata"]}


SEEN: list[Any] = []


def only_for_course_7(request: Any, coupon: Coupon, data: dict[str, Any]) -> None:
    SEEN.append((request.user.pk, coupon.code, data))
    if data["metadata"].get("course") != "7":
        raise ValidationError({"metadata": ["SPRING25 is for the spring course only."]})


def test_coupon_validator_sees_the_request_the_coupon_and_the_price_before_discount(api, user, stripe_mock, coupon):
    SEEN.clear()
    with payments_settings(COUPON_VALIDATOR="tests.coupons.test_apply.only_for_course_7"):
        refused = api.post(CREATE,
                           {"amount": "80.00", "coupon": "SPRING25", "metadata": {"course": "8"}}, format="json")
        allowed = api.post(CREATE,
                           {"amount": "80.00", "coupon": "SPRING25", "metadata": {"course": "7"}}, format="json")

    assert coupon_errors(refused) == ["SPRING25 is for the spring course only."]
    assert allowed.status_code == 201 and allowed.json()["amount"] == "60.00"
    price = {"amount": Decimal("80.00"), "currency": "usd", "metadata": {"course": "8"}}
    assert SEEN[0] == (user.pk, "SPRING25", price)
    assert len(stripe_mock.calls_to("create")) == 1


def test_a_refund_gives_back_at_most_what_was_paid(api, client, stripe_mock, coupon):
    pi = create(api).json()["paymentIntent"]
    post_event(client, build_event(stripe_mock.set_status(pi, "succeeded"), "payment_intent.succeeded"))
    staff = APIClient()
    staff.force_authenticate(staff_holding("refund_payment"))
    url = reverse("apranova_payments:payment-refund", args=[pi])

    refund = staff.post(url, {}, format="json")

    assert refund.status_code == 201, refund.content
    assert refund.json()["amount"] == "75.00"
    assert stripe_mock.calls_to("refund")[0]["params"]["amount"] == "7500"
    assert staff.post(url, {"amount": "0.01"}, format="json").status_code == 409


def test_a_coupon_costs_at_most_two_statements_more(api, stripe_mock, coupon):
    with CaptureQueriesContext(connection) as plain:
        assert create(api, ...).status_code == 201
    with CaptureQueriesContext(connection) as with_coupon:
        assert create(api).status_code == 201

    assert len(with_coupon) - len(plain) <= 2, [q["sql"] for q in with_coupon]


def refuses_in_djangos_words(request: Any, coupon: Coupon, data: dict[str, Any]) -> None:
    raise DjangoValidationError("Not for this course.")


def refuses_without_words(request: Any, coupon: Coupon, data: dict[str, Any]) -> None:
    raise ValidationError({})


@pytest.mark.parametrize(("validator", "message"), [
    ("refuses_in_djangos_words", "Not for this course."),
    ("refuses_without_words", "This coupon cannot be used for this purchase."),
])
def test_a_validator_refusal_of_any_shape_is_a_400_on_coupon(api, stripe_mock, coupon, validator, message):
    with payments_settings(COUPON_VALIDATOR=f"tests.coupons.test_apply.{validator}"):
        response = create(api)

    assert coupon_errors(response) == [message]
    assert stripe_mock.calls == []


def free_course(request: Any, data: dict[str, Any]) -> dict[str, Any]:
    return {"amount": 0, "currency": "usd", "metadata": {}}


def test_a_coupon_on_a_free_course_is_refused_and_spends_nothing(api, stripe_mock, coupon):
    with payments_settings(PRICE_RESOLVER="tests.coupons.test_apply.free_course", ALLOW_FREE=True):
        with_coupon = api.post(CREATE, {"coupon": "SPRING25"}, format="json")
        without = api.post(CREATE, {}, format="json")

    assert coupon_errors(with_coupon) == ["This purchase is free already: no coupon is needed."]
    assert without.status_code == 201 and Payment.objects.get().coupon is None
