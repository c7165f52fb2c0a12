"""The ``Coupon`` model: one kind of discount, exact amounts, codes upper case; and the
arithmetic of a discount."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from django_apranova_payments.charges import Charge
from django_apranova_payments.coupons import discount_of, percent_of
from django_apranova_payments.models import Coupon, normalize_code

pytestmark = pytest.mark.django_db


def test_codes_are_stored_upper_case_and_stripped():
    assert Coupon.objects.create(code=" spring25 ", percent_off=10).code == "SPRING25"


@pytest.mark.parametrize(("typed", "stored"), [("ab1", "AB1"), (" x-y_z ", "X-Y_Z"), ("ab", None), ("-ab", None),
                                               ("a b c", None), ("ß" * 4, None), ("A" * 41, None), (None, None),
                                               (25, None)])
def test_normalize_code(typed, stored):
    assert normalize_code(typed) == stored


@pytest.mark.parametrize("fields", [
    {"percent_off": 10, "amount_off": 5, "currency": "usd"},  # both
    {},  # neither
    {"amount_off": 5},  # an amount without its currency
    {"percent_off": 10, "currency": "usd"},  # a percent with a currency
    {"percent_off": 0},
    {"percent_off": Decimal("100.01")},
    {"amount_off": 0, "currency": "usd"},
    {"percent_off": 10, "max_redemptions": 0},
    {"percent_off": 10, "max_redemptions_per_user": 0},
])
def test_the_database_refuses_a_coupon_that_is_not_one_kind_of_discount(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(code="BAD", **fields)


def test_a_code_is_unique_whatever_the_case():
    Coupon.objects.create(code="SPRING", percent_off=10)

    with pytest.raises(IntegrityError), transaction.atomic():
        Coupon.objects.create(code="spring", percent_off=20)


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"percent_off": 10, "amount_off": 5, "currency": "usd"}, "percent_off", "not both"),
    ({}, "percent_off", "Give a percent off or an amount off."),
    ({"amount_off": Decimal(5)}, "currency", "needs its currency"),
    ({"percent_off": 10, "currency": "usd"}, "currency", "leave the currency empty"),
    ({"amount_off": Decimal("10.50"), "currency": "jpy"}, "amount_off", "fractional"),
    ({"amount_off": Decimal("1.005"), "currency": "kwd"}, "amount_off", ""),
    ({"amount_off": Decimal(5), "currency": "xyz"}, "currency", "not a currency"),
])
def test_clean_names_the_field_that_is_wrong(fields, field, message):
    coupon = Coupon(code="X1X", **fields)

    with pytest.raises(ValidationError) as caught:
        coupon.full_clean()

    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])


def test_clean_wants_the_end_after_the_start():
    start = timezone.now()
    coupon = Coupon(code="X1X", percent_off=10, valid_from=start, valid_until=start - timedelta(days=1))

    with pytest.raises(ValidationError) as caught:
        coupon.full_clean()

    assert "valid_until" in caught.value.message_dict


def test_describe():
    assert Coupon(code="A1A", percent_off=Decimal("12.50")).describe() == "12.5% off"
    assert Coupon(code="A1A", amount_off=Decimal("10.00"), currency="usd").describe() == "10.00 USD off"


@pytest.mark.parametrize(("minor", "percent", "currency", "expected"), [
    (1999, "15", "usd", 300),
    (1030, "15", "usd", 155),     # 154.5: half up
    (1025, "10", "usd", 103),     # 102.5: half up
    (5130, "15", "kwd", 770),     # whole tens of fils
    (5130, "0.01", "kwd", 0),     # 0.513 fils rounds to no discount at all
    (1999, "100", "usd", 1999),
    (99_999_999, "33.33", "usd", 33_330_000),  # 33,329,999.67: exact at Stripe's maximum
    (50000, "15", "isk", 7500),   # ISK is charged in whole krónur, sent in aurar
    (50100, "15", "isk", 7500),   # 75.15 krónur: whole krónur only
])
def test_percent_of(minor, percent, currency, expected):
    assert percent_of(minor, Decimal(percent), currency) == expected


def test_an_amount_off_never_takes_more_than_the_price():
    coupon = Coupon(code="BIG", amount_off=Decimal("500.00"), currency="usd")

    assert discount_of(coupon, Charge.of("49.00", "usd")) == 4900
