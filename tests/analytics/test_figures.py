"""Staff analytics: ``Payment.objects.analytics()`` and the figures behind it, exact on mixed
currencies with refunds and disputes, counted on the local day a payment was created."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from django_apranova_payments.analytics import MAX_PERIODS, FailureCount, RangeError, ReportRange
from django_apranova_payments.models import Dispute, Payment, Refund
from tests.factories import PaymentFactory, dated_payment

NOV = date(2026, 11, 1)


def at(day: date, hour: int = 12, minute: int = 0, tz: Any = UTC) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def made(created: datetime, amount: str = "10.00", currency: str = "usd", status: str = "succeeded", *,
         refunded: str = "0.00", failure_code: str = "", user: Any = None) -> Payment:
    """A payment created at ``created`` (and succeeded then), with its succeeded refund when
    ``refunded``."""
    extra = {"user": user} if user is not None else {}
    return dated_payment(created, amount, currency, status, refunded=refunded, failure_code=failure_code, **extra)


def dispute(payment: Payment, number: int = 1, status: str = "needs_response") -> Dispute:
    return Dispute.objects.create(payment=payment, stripe_dispute=f"dp_{payment.pk}_{number}",
                                  amount=payment.amount, currency=payment.currency, status=status)


@pytest.fixture
def mixed(db: Any) -> list[Payment]:
    """November 2026, three currencies, every status, refunds (one failed), a dispute."""
    payments = [
        made(at(NOV), "19.99"),
        made(at(NOV), "999.00", refunded="100.00"),
        made(at(NOV + timedelta(days=2)), "0.50", refunded="0.50"),
        made(at(NOV + timedelta(days=2)), "49.00", status="failed", failure_code="card_declined"),
        made(at(NOV + timedelta(days=2)), "49.00", status="failed", failure_code="card_declined"),
        made(at(NOV + timedelta(days=3)), "49.00", status="failed", failure_code="expired_card"),
        made(at(NOV + timedelta(days=3)), "49.00", status="failed"),
        made(at(NOV + timedelta(days=3)), "5.00", status="canceled"),
        made(at(NOV + timedelta(days=4)), "5.00", status="pending"),
        made(at(NOV + timedelta(days=4)), "5.00", status="processing"),
        made(at(NOV + timedelta(days=1)), "1000", "jpy"),
        made(at(NOV + timedelta(days=1)), "1500", "jpy", refunded="500"),
        made(at(NOV + timedelta(days=2)), "5.12", "kwd"),
        made(at(NOV + timedelta(days=2)), "3.00", "kwd", status="failed", failure_code="card_declined"),
    ]
    dispute(payments[0], 1)
    dispute(payments[0], 2, "lost")  # one payment, two disputes: counted once
    dispute(payments[11])
    Refund.objects.create(payment=payments[0], stripe_refund="re_failed", amount=Decimal("5.00"),
                          currency="usd", status="failed")  # not in amount_refunded: not refunded
    made(at(date(2026, 10, 31), 23, 59), "777.00")  # the day before the range
    made(at(date(2026, 11, 6)), "888.00")  # the day after it
    return payments


def test_figures_are_exact_per_currency_and_never_added_across(mixed):
    report = Payment.objects.analytics(NOV, NOV + timedelta(days=4)).as_dict()

    assert report["currencies"] == {
        "jpy": {"gross": "2500", "refunded": "500", "net": "2000", "discounts": "0", "tax": "0", "payments": 2,
                "succeeded": 2, "failed": 0, "canceled": 0, "disputed": 1},
        "kwd": {"gross": "5.120", "refunded": "0.000", "net": "5.120", "discounts": "0.000", "tax": "0.000",
                "payments": 2, "succeeded": 1, "failed": 1, "canceled": 0, "disputed": 0},
        "usd": {"gross": "1019.49", "refunded": "100.50", "net": "918.99", "discounts": "0.00", "tax": "0.00",
                "payments": 10, "succeeded": 3, "failed": 4, "canceled": 1, "disputed": 1},
    }
    assert (report["from"], report["to"], report["interval"]) == ("2026-11-01", "2026-11-05", "day")


def test_failure_codes_count_failed_payments_most_frequent_first(mixed):
    report = Payment.objects.analytics(NOV, NOV + timedelta(days=4)).as_dict()

    assert report["failureCodes"] == [
        {"code": "card_declined", "count": 3}, {"code": None, "count": 1}, {"code": "expired_card", "count": 1},
    ]


def test_the_series_has_every_day_of_every_currency_with_zeros_between(mixed):
    series = Payment.objects.analytics(NOV, NOV + timedelta(days=4)).as_dict()["series"]

    assert len(series) == 5 * 3
    assert [(row["period"], row["currency"]) for row in series[:4]] == [
        ("2026-11-01", "jpy"), ("2026-11-01", "kwd"), ("2026-11-01", "usd"), ("2026-11-02", "jpy"),
    ]
    usd = {row["period"]: row for row in series if row["currency"] == "usd"}
    assert usd["2026-11-01"] == {"period": "2026-11-01", "currency": "usd", "gross": "1018.99",
                                 "refunded": "100.00", "net": "918.99", "discounts": "0.00", "tax": "0.00",
                                 "succeeded": 2, "failed": 0}
    assert usd["2026-11-02"] == {"period": "2026-11-02", "currency": "usd", "gross": "0.00", "refunded": "0.00",
                                 "net": "0.00", "discounts": "0.00", "tax": "0.00", "succeeded": 0, "failed": 0}
    assert usd["2026-11-03"]["net"] == "0.00" and usd["2026-11-03"]["failed"] == 2
    assert usd["2026-11-03"]["refunded"] == "0.50" and usd["2026-11-03"]["gross"] == "0.50"
    jpy = [row["gross"] for row in series if row["currency"] == "jpy"]
    assert jpy == ["0", "2500", "0", "0", "0"]


def test_by_month_each_period_is_the_first_of_its_month_and_only_the_range_counts(mixed):
    report = Payment.objects.analytics(date(2026, 10, 15), date(2026, 11, 3), "month").as_dict()

    usd = [row for row in report["series"] if row["currency"] == "usd"]
    assert [(row["period"], row["gross"], row["failed"]) for row in usd] == [
        ("2026-10-01", "777.00", 0), ("2026-11-01", "1019.49", 2),
    ]
    assert report["currencies"]["usd"]["payments"] == 6  # 5 in November to the 3rd, 1 in October


def test_an_empty_range_has_no_currency_and_no_series(mixed):
    assert Payment.objects.analytics(date(2026, 12, 1), date(2026, 12, 31)).as_dict() == {
        "from": "2026-12-01", "to": "2026-12-31", "interval": "day",
        "currencies": {}, "series": [], "failureCodes": [],
    }


def test_a_payment_counts_on_the_local_day_it_was_created_not_the_utc_one(db):
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30
    made(at(NOV, 23, 30, kolkata), "10.00")  # 18:00 UTC on the 1st
    made(at(NOV + timedelta(days=1), 0, 30, kolkata), "20.00")  # 19:00 UTC on the 1st: the 2nd locally
    with override_settings(TIME_ZONE="Asia/Kolkata"):
        report = Payment.objects.analytics(NOV, NOV + timedelta(days=1))
    assert [(row.period, row.gross) for row in report.series] == [
        (NOV, Decimal("10.00")), (NOV + timedelta(days=1), Decimal("20.00")),
    ]


def test_a_payment_at_2330_in_new_york_is_counted_on_that_day_and_the_month_too(db):
    new_york = ZoneInfo("America/New_York")
    made(at(date(2026, 10, 31), 23, 30, new_york), "10.00")  # 03:30 UTC on 1 November
    with override_settings(TIME_ZONE="America/New_York"):
        by_day = Payment.objects.analytics(date(2026, 10, 31), date(2026, 11, 1))
        by_month = Payment.objects.analytics(date(2026, 10, 1), date(2026, 11, 30), "month")
        november = Payment.objects.analytics(NOV, NOV)
    assert [(row.period, row.succeeded) for row in by_day.series] == [(date(2026, 10, 31), 1), (NOV, 0)]
    assert [(row.period, row.succeeded) for row in by_month.series] == [(date(2026, 10, 1), 1), (NOV, 0)]
    assert november.currencies == {}


def test_the_hosts_time_zone_counts_not_the_one_a_request_activated(db):
    made(at(NOV, 23, 30), "10.00")  # UTC, the host's zone in the suite
    with timezone.override(ZoneInfo("Asia/Tokyo")):  # 08:30 on the 2nd in Tokyo
        report = Payment.objects.analytics(NOV, NOV)
    assert report.currencies["usd"].succeeded == 1


def test_a_day_with_a_dst_change_is_one_day(db):
    new_york = ZoneInfo("America/New_York")
    made(at(date(2026, 11, 1), 0, 30, new_york))  # 1 November 2026: clocks go back at 02:00
    made(at(date(2026, 11, 1), 23, 30, new_york))
    with override_settings(TIME_ZONE="America/New_York"):
        report = Payment.objects.analytics(NOV, NOV)
    assert report.currencies["usd"].payments == 2


def test_the_figures_count_only_the_payments_of_the_queryset(mixed, other_user):
    mine = made(at(NOV), "30.00", user=other_user)

    report = Payment.objects.filter(user=mine.user).analytics(NOV, NOV)

    assert report.as_dict()["currencies"] == {"usd": {
        "gross": "30.00", "refunded": "0.00", "net": "30.00", "discounts": "0.00", "tax": "0.00", "payments": 1,
        "succeeded": 1, "failed": 0, "canceled": 0, "disputed": 0,
    }}


def test_the_queryset_methods_host_code_calls(mixed):
    november = Payment.objects.created_between(NOV, date(2026, 11, 30))

    figures = november.figures_by_currency()
    assert list(figures) == ["jpy", "kwd", "usd"]
    assert figures["usd"].net == Decimal("1806.99") and figures["usd"].payments == 11
    assert figures["usd"].success_rate == pytest.approx(4 / 9)
    assert november.disputed_counts() == {"jpy": 1, "usd": 1}
    assert november.failure_code_counts()[0] == FailureCount("card_declined", 3)
    by_day = november.figures_by_period("day")
    assert [(row.period, row.currency) for row in by_day][:2] == [(NOV, "usd"), (date(2026, 11, 2), "jpy")]
    assert Payment.objects.created_between(NOV, NOV).count() == 2
    with pytest.raises(ValueError, match="interval"):
        november.figures_by_period("week")


def test_a_report_takes_four_statements_whatever_its_length(mixed):
    for days in (1, 365):
        with CaptureQueriesContext(connection) as queries:
            Payment.objects.analytics(NOV, NOV + timedelta(days=days - 1))
        assert len(queries) == 4


def test_defaults_are_the_last_30_days_by_day_or_12_months_by_month():
    today = date(2026, 11, 30)
    assert ReportRange.of(today=today) == ReportRange(date(2026, 11, 1), today, "day")
    assert ReportRange.of(interval="month", today=today) == ReportRange(date(2025, 12, 1), today, "month")
    assert ReportRange.of(date_to=date(2026, 3, 1)).date_from == date(2026, 1, 31)
    assert len(ReportRange.of(today=today).periods()) == 30


def test_default_range_ends_today_in_the_hosts_time_zone(db):
    with override_settings(TIME_ZONE="Pacific/Kiritimati"):  # UTC+14: often tomorrow already
        assert Payment.objects.analytics().range.date_to == timezone.localdate(timezone=ZoneInfo("Pacific/Kiritimati"))


@pytest.mark.parametrize(
    ("args", "field", "message"),
    [
        ((NOV, NOV, "week"), "interval", "Must be one of: day, month."),
        ((date(2026, 11, 2), NOV, "day"), "to", "Must be on or after from (2026-11-02)."),
        ((date(2025, 11, 1), date(2026, 11, 2), "day"), "to",
         "A range by day covers at most 366 days; this one covers 367. Use interval=month for a longer range."),
        ((date(2016, 1, 1), date(2026, 1, 1), "month"), "to",
         "A range by month covers at most 120 months; this one covers 121."),
        ((date(1969, 12, 31), NOV, "month"), "from", "Must be a date from 1970-01-01 to 9999-12-30."),
        ((NOV, date(9999, 12, 31), "month"), "to", "Must be a date from 1970-01-01 to 9999-12-30."),
    ],
)
def test_ranges_that_cannot_be_reported_name_their_field(args, field, message):
    with pytest.raises(RangeError) as raised:
        ReportRange.of(*args)
    assert (raised.value.field, raised.value.message) == (field, message)


def test_the_longest_ranges_are_accepted():
    assert len(ReportRange.of(date(2024, 1, 1), date(2024, 12, 31)).periods()) == MAX_PERIODS["day"]
    assert len(ReportRange.of(date(2017, 1, 31), date(2026, 12, 1), "month").periods()) == MAX_PERIODS["month"]
    assert ReportRange.of(date(1970, 1, 1), date(1970, 1, 1)).bounds()[0] == datetime(1970, 1, 1, tzinfo=UTC)
    assert ReportRange.of(date(9999, 12, 30), date(9999, 12, 30)).bounds()[1] == datetime(9999, 12, 31, tzinfo=UTC)


@override_settings(USE_TZ=False)
def test_without_use_tz_dates_are_naive_local_days(db):
    payment = PaymentFactory(status="succeeded")
    Payment.objects.filter(pk=payment.pk).update(created_at=datetime(2026, 11, 1, 23, 30))
    report = Payment.objects.analytics(NOV, NOV)
    assert report.currencies["usd"].succeeded == 1
    assert report.range.bounds() == (datetime(2026, 11, 1), datetime(2026, 11, 2))


def test_the_payment_factory_dates_a_payment_despite_auto_now_add(db):
    moment = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    payment = PaymentFactory(created_at=moment)
    assert payment.created_at == moment == Payment.objects.get(pk=payment.pk).created_at


def test_a_range_of_thousands_of_years_is_refused_without_listing_its_days():
    started = time.perf_counter()
    with pytest.raises(RangeError, match="this one covers 2932896"):
        ReportRange.of(date(1970, 1, 1), date(9999, 12, 30))
    assert time.perf_counter() - started < 0.5  # listing its 2.9 million days takes seconds
    assert ReportRange(date(2026, 1, 31), date(2026, 3, 1), "month").periods() == [
        date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
