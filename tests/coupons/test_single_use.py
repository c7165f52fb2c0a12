"""``Coupon.objects.create_single_use``: codes from an unambiguous alphabet, drawn with
``secrets``, unique against the table and each other, inserted in one transaction, drawn again
when another transaction took one first."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError

from django_apranova_payments.models import CODE_ALPHABET, Coupon, CouponQuerySet
from tests.factories import CouponFactory


def scripted(*codes: str) -> Any:
    draws: Iterator[str] = iter(codes)
    return lambda prefix: prefix + next(draws)


def test_codes_already_taken_or_drawn_twice_are_drawn_again(db):
    CouponFactory(code="S-AAAAAAAA")

    created = Coupon.objects.create_single_use(
        3, Coupon(percent_off=Decimal(10)), "S-", draw=scripted("AAAAAAAA", "BBBBBBBB", "BBBBBBBB", "CCCCCCCC",
                                                                 "DDDDDDDD"))

    codes = sorted(c.code for c in created)
    assert len(codes) == 3 and len(set(codes)) == 3
    assert "S-AAAAAAAA" not in codes
    assert Coupon.objects.count() == 4


def test_a_batch_is_drawn_again_when_another_transaction_took_a_code_first(db, monkeypatch):
    CouponFactory(code="AAAAAAAA")  # as if inserted after the batch checked its codes
    missed = [False, True]  # the first check misses it
    real = CouponQuerySet._taken
    monkeypatch.setattr(CouponQuerySet, "_taken", lambda self, codes: set() if missed.pop() else real(self, codes))

    created = Coupon.objects.create_single_use(
        2, Coupon(percent_off=Decimal(10)), draw=scripted("AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD"))

    assert sorted(c.code for c in created) == ["CCCCCCCC", "DDDDDDDD"]
    assert Coupon.objects.count() == 3


def test_codes_that_cannot_be_drawn_unused_create_nothing(db):
    CouponFactory(code="AAAAAAAA")

    with pytest.raises(IntegrityError, match="Could not draw 1 unused codes"):
        Coupon.objects.create_single_use(1, Coupon(percent_off=Decimal(10)), draw=lambda prefix: "AAAAAAAA")

    assert Coupon.objects.count() == 1


def test_random_codes_use_the_unambiguous_alphabet(db):
    created = Coupon.objects.create_single_use(200, Coupon(percent_off=Decimal(10)))

    used = {char for coupon in created for char in coupon.code}
    assert used <= set(CODE_ALPHABET)
    assert not used & set("0O1IL")
    assert len({c.code for c in created}) == 200


def test_single_use_copies_keep_the_discount_dates_and_description(db):
    template = Coupon(amount_off=Decimal("5.00"), currency="EUR", description="Q4", max_redemptions=50,
                      max_redemptions_per_user=None, active=False)

    (coupon,) = Coupon.objects.create_single_use(1, template, "q-", draw=scripted("abcdefgh"))

    coupon.refresh_from_db()
    assert (coupon.code, coupon.amount_off, coupon.currency, coupon.description) == ("Q-ABCDEFGH", Decimal("5.00"),
                                                                                     "eur", "Q4")
    assert (coupon.max_redemptions, coupon.max_redemptions_per_user, coupon.active) == (1, 1, True)
