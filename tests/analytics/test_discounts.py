"""``discounts``: what coupons took off the payments counted in ``gross``, per currency, on the
local day each payment succeeded; never added across currencies, never taken off ``net``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from django_apranova_payments.models import Payment
from tests.factories import UserFactory, dated_payment, discounted_payment

NOV = date(2026, 11, 1)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def money_of(report: Any, currency: str) -> tuple[str, ...]:
    figures = report.as_dict()["currencies"][currency]
    return tuple(figures[key] for key in ("gross", "refunded", "net", "discounts"))


@pytest.fixture
def coupons(db: Any) -> None:
    """November 2026: discounts in three currencies (two decimals, none, three: KWD amounts are
    whole tens of fils, as Stripe takes them), and coupons on payments that never succeeded."""
    discounted_payment(at(NOV), "75.00", "25.00")
    discounted_payment(at(NOV), "19.99", "0.01", code="PENNY")
    dated_payment(at(NOV), "50.00")  # no coupon
    discounted_payment(at(NOV + timedelta(days=1)), "750", "250", "jpy")
    discounted_payment(at(NOV + timedelta(days=1)), "999", "1", "jpy")
    discounted_payment(at(NOV + timedelta(days=2)), "3.75", "1.25", "kwd")
    discounted_payment(at(NOV + timedelta(days=2)), "0.99", "0.01", "kwd")
    for status in ("failed", "canceled", "pending", "processing"):
        discounted_payment(at(NOV + timedelta(days=2)), "30.00", "10.00", status=status)
        discounted_payment(at(NOV + timedelta(days=2)), "3000", "1000", "jpy", status=status)
        discounted_payment(at(NOV + timedelta(days=2)), "3.00", "1.00", "kwd", status=status)


def test_discounts_are_exact_per_currency_and_never_added_across(coupons):
    report = Payment.objects.analytics(NOV, NOV + timedelta(days=2))

    assert money_of(report, "usd") == ("144.99", "0.00", "144.99", "25.01")
    assert money_of(report, "jpy") == ("1749", "0", "1749", "251")
    assert money_of(report, "kwd") == ("4.740", "0.000", "4.740", "1.260")
    assert {code: figures.discounts for code, figures in report.currencies.items()} == {
        "jpy": Decimal("251"), "kwd": Decimal("1.26"), "usd": Decimal("25.01")}


def test_coupons_on_payments_that_did_not_succeed_are_counted_but_not_their_discount(coupons):
    usd = Payment.objects.analytics(NOV + timedelta(days=2), NOV + timedelta(days=2)).currencies["usd"]

    assert (usd.payments, usd.failed, usd.canceled, usd.succeeded) == (4, 1, 1, 0)
    assert (usd.gross, usd.discounts) == (Decimal("0.00"), Decimal("0.00"))


def test_the_series_puts_each_discount_on_its_payments_day(coupons):
    series = Payment.objects.analytics(NOV, NOV + timedelta(days=2)).as_dict()["series"]

    assert [(row["period"], row["currency"], row["discounts"]) for row in series] == [
        ("2026-11-01", "jpy", "0"), ("2026-11-01", "kwd", "0.000"), ("2026-11-01", "usd", "25.01"),
        ("2026-11-02", "jpy", "251"), ("2026-11-02", "kwd", "0.000"), ("2026-11-02", "usd", "0.00"),
        ("2026-11-03", "jpy", "0"), ("2026-11-03", "kwd", "1.260"), ("2026-11-03", "usd", "0.00"),
    ]


def test_a_discount_counts_on_the_day_the_payment_succeeded_not_the_day_it_was_created(db):
    discounted_payment(at(NOV, 23), "75.00", "25.00", succeeded=at(NOV + timedelta(days=3), 1))

    created = Payment.objects.analytics(NOV, NOV)
    succeeded = Payment.objects.analytics(NOV + timedelta(days=3), NOV + timedelta(days=3))
    by_month = Payment.objects.analytics(date(2026, 10, 1), date(2026, 11, 30), "month")

    assert created.currencies["usd"].payments == 1 and created.currencies["usd"].discounts == Decimal("0.00")
    assert money_of(succeeded, "usd") == ("75.00", "0.00", "75.00", "25.00")
    assert succeeded.currencies["usd"].payments == 0
    assert [(row.period, row.discounts) for row in by_month.series] == [
        (date(2026, 10, 1), Decimal("0.00")), (NOV, Decimal("25.00"))]


def test_a_discount_counts_on_the_local_day_in_the_hosts_time_zone(db):
    discounted_payment(at(NOV, 20), "75.00", "25.00")  # 01:30 on the 2nd in Kolkata

    with override_settings(TIME_ZONE="Asia/Kolkata"):
        report = Payment.objects.analytics(NOV, NOV + timedelta(days=1))

    assert [(row.period, row.discounts) for row in report.series] == [
        (NOV, Decimal("0.00")), (NOV + timedelta(days=1), Decimal("25.00"))]


def test_a_refund_leaves_the_discount_as_it_was_and_net_does_not_take_it_off(db):
    discounted_payment(at(NOV), "75.00", "25.00", refunded="75.00", refunded_at=at(NOV + timedelta(days=1)))
    discounted_payment(at(NOV), "1500", "500", "jpy", refunded="200")

    paid_day = Payment.objects.analytics(NOV, NOV)
    refund_day = Payment.objects.analytics(NOV + timedelta(days=1), NOV + timedelta(days=1))
    both = Payment.objects.analytics(NOV, NOV + timedelta(days=1))

    assert money_of(paid_day, "usd") == ("75.00", "0.00", "75.00", "25.00")
    assert money_of(refund_day, "usd") == ("0.00", "75.00", "-75.00", "0.00")
    assert money_of(both, "usd") == ("75.00", "75.00", "0.00", "25.00")
    assert money_of(both, "jpy") == ("1500", "200", "1300", "500")


def test_a_succeeded_payment_without_a_success_time_has_no_discount_as_it_has_no_gross(db):
    payment = discounted_payment(at(NOV), "75.00", "25.00")
    Payment.objects.filter(pk=payment.pk).update(succeeded_at=None)

    assert Payment.objects.analytics(NOV, NOV).currencies["usd"].discounts == Decimal("0.00")
    assert Payment.objects.figures_by_currency()["usd"].discounts == Decimal("0.00")


def test_many_small_discounts_add_up_exactly(db):
    for _ in range(30):
        discounted_payment(at(NOV), "0.90", "0.10")
    for _ in range(7):
        discounted_payment(at(NOV), "0.71", "0.29", code="ODD")

    assert Payment.objects.analytics(NOV, NOV).currencies["usd"].discounts == Decimal("5.03")


def test_only_the_discounts_of_the_querysets_payments_count(coupons):
    other = discounted_payment(at(NOV), "60.00", "40.00", user=UserFactory())

    mine = Payment.objects.exclude(user=other.user).analytics(NOV, NOV)
    everyone = Payment.objects.analytics(NOV, NOV)

    assert mine.currencies["usd"].discounts == Decimal("25.01")
    assert everyone.currencies["usd"].discounts == Decimal("65.01")


def test_the_queryset_methods_give_the_same_discounts(coupons):
    assert {code: figures.discounts for code, figures in Payment.objects.figures_by_currency().items()} == {
        "jpy": Decimal("251"), "kwd": Decimal("1.26"), "usd": Decimal("25.01")}
    assert [(row.period, row.currency, row.discounts) for row in Payment.objects.figures_by_period()
            if row.discounts] == [
        (NOV, "usd", Decimal("25.01")), (NOV + timedelta(days=1), "jpy", Decimal("251")),
        (NOV + timedelta(days=2), "kwd", Decimal("1.26")),
    ]
    assert [(row["period"], row["currency"], row["total"], row["discounts"])
            for row in Payment.objects.revenue_by_period("month")] == [
        (NOV, "jpy", Decimal("1749.00"), Decimal("251.00")),
        (NOV, "kwd", Decimal("4.74"), Decimal("1.26")),
        (NOV, "usd", Decimal("144.99"), Decimal("25.01")),
    ]


def test_a_report_with_discounts_still_takes_four_statements(coupons):
    for days in (1, 365):
        with CaptureQueriesContext(connection) as queries:
            Payment.objects.analytics(NOV, NOV + timedelta(days=days - 1))
        assert len(queries) == 4
    with CaptureQueriesContext(connection) as queries:
        Payment.objects.figures_by_currency()
        Payment.objects.revenue_by_period()
    assert len(queries) == 3 + 1
