"""models.py: the Payment contract, and the queryset's counts and revenue figures (revenue is
never summed across currencies)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone, translation

from django_apranova_payments.models import Payment
from tests.factories import PaymentFactory, UserFactory


def succeeded(user: Any, amount: str, currency: str = "usd", at: datetime | None = None) -> Payment:
    return PaymentFactory(
        user=user, amount=Decimal(amount), currency=currency, status="succeeded",
        stripe_status="succeeded", succeeded_at=at or timezone.now(),
    )


def day_of(period: date | datetime) -> date:
    """The calendar day of a period value (a date, or a datetime in the current time zone)."""
    return period.date() if isinstance(period, datetime) else period


def rows(queryset: Any, period: str) -> list[tuple[date, str, Decimal, int]]:
    return [
        (day_of(row["period"]), row["currency"], row["total"], row["count"])
        for row in queryset.revenue_by_period(period)
    ]


# -- revenue_by_currency ----------------------------------------------------------------------


def test_revenue_is_grouped_by_currency_never_summed_across(user):
    for _ in range(3):
        succeeded(user, "19.99", "usd")
    succeeded(user, "500.00", "inr")
    succeeded(user, "1000", "jpy")

    revenue = Payment.objects.revenue_by_currency()

    assert revenue == {"usd": Decimal("59.97"), "inr": Decimal("500.00"), "jpy": Decimal("1000")}
    assert all(isinstance(total, Decimal) for total in revenue.values())


def test_revenue_counts_only_succeeded_payments(user):
    succeeded(user, "10.00")
    for status in ("pending", "processing", "failed", "canceled"):
        PaymentFactory(user=user, amount=Decimal("1000.00"), status=status)

    assert Payment.objects.revenue_by_currency() == {"usd": Decimal("10.00")}


def test_revenue_of_no_payments_is_empty(db):
    PaymentFactory(status="pending")

    assert Payment.objects.revenue_by_currency() == {}


def test_revenue_can_be_narrowed_to_a_user(user, other_user):
    succeeded(user, "10.00")
    succeeded(other_user, "99.00")
    succeeded(other_user, "5.00", "eur")

    assert Payment.objects.for_user(user).revenue_by_currency() == {"usd": Decimal("10.00")}
    assert Payment.objects.for_user(other_user).revenue_by_currency() == {
        "usd": Decimal("99.00"), "eur": Decimal("5.00"),
    }


def test_revenue_is_exact_over_many_small_amounts(user):
    for _ in range(30):
        succeeded(user, "0.10")
    for _ in range(7):
        succeeded(user, "0.29")

    assert Payment.objects.revenue_by_currency() == {"usd": Decimal("5.03")}


# -- revenue_by_period --------------------------------------------------------------------------


def test_revenue_by_day_groups_by_day_and_currency_oldest_first(user):
    succeeded(user, "10.00", "usd", at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    succeeded(user, "15.50", "usd", at=datetime(2026, 3, 2, 23, 59, tzinfo=UTC))
    succeeded(user, "700.00", "inr", at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    succeeded(user, "20.00", "usd", at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    PaymentFactory(user=user, status="failed", amount=Decimal("99.00"))

    assert rows(Payment.objects, "day") == [
        (date(2026, 3, 1), "usd", Decimal("20.00"), 1),
        (date(2026, 3, 2), "inr", Decimal("700.00"), 1),
        (date(2026, 3, 2), "usd", Decimal("25.50"), 2),
    ]


def test_revenue_by_month_starts_each_month_on_its_first_day(user):
    succeeded(user, "10.00", at=datetime(2026, 1, 31, 10, 0, tzinfo=UTC))
    succeeded(user, "12.00", at=datetime(2026, 1, 1, 10, 0, tzinfo=UTC))
    succeeded(user, "30.00", at=datetime(2026, 2, 14, 10, 0, tzinfo=UTC))
    succeeded(user, "4.00", "gbp", at=datetime(2026, 2, 28, 10, 0, tzinfo=UTC))

    assert rows(Payment.objects, "month") == [
        (date(2026, 1, 1), "usd", Decimal("22.00"), 2),
        (date(2026, 2, 1), "gbp", Decimal("4.00"), 1),
        (date(2026, 2, 1), "usd", Decimal("30.00"), 1),
    ]


def test_revenue_by_period_uses_the_hosts_time_zone_not_the_active_one(user):
    succeeded(user, "10.00", at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))  # 01:30 on 2 March in India

    assert rows(Payment.objects, "day") == [(date(2026, 3, 1), "usd", Decimal("10.00"), 1)]
    with timezone.override("Asia/Kolkata"):
        assert rows(Payment.objects, "day") == [(date(2026, 3, 1), "usd", Decimal("10.00"), 1)]
    with override_settings(TIME_ZONE="Asia/Kolkata"):
        assert rows(Payment.objects, "day") == [(date(2026, 3, 2), "usd", Decimal("10.00"), 1)]


def test_revenue_by_period_skips_succeeded_payments_without_a_time(user):
    PaymentFactory(user=user, status="succeeded", succeeded_at=None)

    assert Payment.objects.revenue_by_period("day") == []


def test_revenue_by_period_is_narrowed_by_the_queryset(user, other_user):
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    succeeded(user, "10.00", at=at)
    succeeded(other_user, "90.00", at=at)

    assert rows(Payment.objects.for_user(user), "day") == [(date(2026, 3, 1), "usd", Decimal("10.00"), 1)]


@pytest.mark.parametrize("period", ["week", "year", "", "DAY"])
def test_revenue_by_unknown_period_is_a_value_error(db, period):
    with pytest.raises(ValueError, match="period must be 'day' or 'month'"):
        Payment.objects.revenue_by_period(period)


# -- counts and filters ----------------------------------------------------------------------------


def test_failed_count(user, other_user):
    PaymentFactory.create_batch(3, user=user, status="failed")
    PaymentFactory(user=other_user, status="failed")
    PaymentFactory(user=user, status="pending")

    assert Payment.objects.failed_count() == 4
    assert Payment.objects.for_user(user).failed_count() == 3
    assert Payment.objects.for_user(UserFactory()).failed_count() == 0


def test_for_user_returns_only_that_users_payments(user, other_user):
    mine = PaymentFactory.create_batch(2, user=user)
    PaymentFactory(user=other_user)

    assert set(Payment.objects.for_user(user)) == set(mine)


def test_open_is_pending_processing_and_failed(user):
    by_status = {status: PaymentFactory(user=user, status=status) for status in Payment.Status.values}

    assert set(Payment.objects.open()) == {by_status["pending"], by_status["processing"], by_status["failed"]}
    assert set(Payment.objects.succeeded()) == {by_status["succeeded"]}
    assert set(Payment.objects.failed()) == {by_status["failed"]}


# -- the model contract ---------------------------------------------------------------------------


def test_payments_are_newest_first(user):
    first, second = PaymentFactory(user=user), PaymentFactory(user=user)
    Payment.objects.filter(pk=first.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))

    assert list(Payment.objects.all()) == [second, first]


def test_payment_intent_id_is_unique(user):
    payment = PaymentFactory(user=user)

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(user=user, stripe_payment_intent=payment.stripe_payment_intent)


def test_idempotency_key_is_unique_per_user_only(user, other_user):
    PaymentFactory(user=user, idempotency_key="k")
    PaymentFactory(user=other_user, idempotency_key="k")
    PaymentFactory(user=user, idempotency_key=None)
    PaymentFactory(user=user, idempotency_key=None)

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(user=user, idempotency_key="k")


def test_index_on_user_and_status():
    assert ["user", "status"] in [index.fields for index in Payment._meta.indexes]


def test_amount_minor_str_and_terminal(user):
    payment = PaymentFactory(user=user, amount=Decimal("19.99"), currency="usd")
    yen = PaymentFactory(user=user, amount=Decimal("500"), currency="jpy", status="succeeded")

    assert payment.amount_minor == 1999 and yen.amount_minor == 500
    assert payment.stripe_payment_intent in str(payment) and "(Pending)" in str(payment)
    with translation.override("hi"):
        assert str(payment).endswith(f"({payment.get_status_display()})") and "Pending" not in str(payment)
    assert not payment.is_terminal and yen.is_terminal
