"""One definition of revenue on every surface: a payment created on 1 November with a coupon
and tax, succeeded on the 3rd and refunded in part on the 5th shows the same figures in
``GET analytics/``, the admin's Analytics page, its CSV export, ``apranova_report`` (table, CSV
and JSON) and the queryset methods. Money (its discount and tax too) counts on the day it moved,
the counts on the day it was created; the refund leaves the tax as it was."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from django_apranova_payments.models import Payment
from django_apranova_payments.money_display import format_money
from tests.factories import UserFactory, dated_payment, discounted_payment, staff_holding

NOV = 11
ZERO = {"gross": "0.00", "refunded": "0.00", "net": "0.00", "discounts": "0.00", "tax": "0.00", "payments": 0,
        "succeeded": 0, "failed": 0, "canceled": 0, "disputed": 0}
#: Each range (first and last day of November) and the USD figures it shows.
RANGES = {
    (1, 1): {**ZERO, "payments": 2, "succeeded": 1, "failed": 1},  # created: counts, no money
    # succeeded: money, no counts
    (3, 3): {**ZERO, "gross": "100.00", "net": "100.00", "discounts": "25.00", "tax": "16.67"},
    (5, 5): {**ZERO, "refunded": "30.00", "net": "-30.00"},  # refunded: money back, the tax untouched, no counts
    (2, 4): {**ZERO, "gross": "100.00", "net": "100.00", "discounts": "25.00", "tax": "16.67"},
    (1, 5): {**ZERO, "gross": "100.00", "refunded": "30.00", "net": "70.00", "discounts": "25.00", "tax": "16.67",
             "payments": 2, "succeeded": 1, "failed": 1},
}
#: The figures of every table and CSV, in their columns' order.
COLUMNS = ("gross", "refunded", "net", "discounts", "tax", "payments", "succeeded", "failed", "canceled", "disputed")


def day(n: int, hour: int = 10) -> datetime:
    return datetime(2026, NOV, n, hour, tzinfo=UTC)


@pytest.fixture
def moved(db: Any) -> Payment:
    discounted_payment(day(1, 11), "49.00", "10.00", status="failed", failure_code="card_declined",
                       amount_tax=Decimal("8.17"))
    return discounted_payment(day(1), "100.00", "25.00", succeeded=day(3), refunded="30.00", refunded_at=day(5),
                              amount_tax=Decimal("16.67"))


def dates(first: int, last: int) -> tuple[str, str]:
    return date(2026, NOV, first).isoformat(), date(2026, NOV, last).isoformat()


@pytest.mark.parametrize(("first", "last"), list(RANGES))
def test_every_surface_shows_the_same_figures(moved, first, last):
    expected = RANGES[first, last]
    date_from, date_to = dates(first, last)

    api = APIClient()
    api.force_authenticate(staff_holding("view_payment"))
    endpoint = api.get("/billing/v1/analytics/", {"from": date_from, "to": date_to}).json()
    assert endpoint["currencies"] == {"usd": expected}

    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = admin.get("/admin/apranova_payments/payment/analytics/", {"from": date_from, "to": date_to})
    [shown] = page.context["currencies"]
    assert [shown[key] for key in ("gross", "refunded", "net", "discounts", "tax")] == [
        format_money(Decimal(expected[key]), "usd") for key in ("gross", "refunded", "net", "discounts", "tax")]
    assert shown["figures"].payments == expected["payments"]
    for key in ("net", "tax"):
        assert f'<span class="kpi-value">{format_money(Decimal(expected[key]), "usd")}</span>' in page.content.decode()

    export = admin.get(page.context["payments_url"].replace("/payment/?", "/payment/export/?"))
    exported = list(csv.reader(StringIO(b"".join(export.streaming_content).decode())))[1:]
    assert len(exported) == expected["payments"]  # the payments of the range: those created in it

    assert json.loads(report("json", date_from, date_to))["currencies"] == endpoint["currencies"]
    totals = [row for row in csv.reader(StringIO(report("csv", date_from, date_to)))
              if row[0] == "total"]
    assert totals == [["total", "usd", *(str(expected[key]) for key in COLUMNS)]]
    usd = report("table", date_from, date_to).splitlines()[2].split()
    assert usd[:11] == ["USD", *(str(expected[key]) for key in COLUMNS)]

    figures = Payment.objects.analytics(date.fromisoformat(date_from), date.fromisoformat(date_to)).currencies
    assert figures["usd"].as_dict() == expected


def report(output: str, date_from: str, date_to: str) -> str:
    out = StringIO()
    call_command("apranova_report", "--from", date_from, "--to", date_to, "--format", output, stdout=out)
    return out.getvalue()


def test_the_series_puts_each_figure_on_its_own_day(moved):
    series = Payment.objects.analytics(date(2026, NOV, 1), date(2026, NOV, 5)).as_dict()["series"]

    assert [(row["period"], row["gross"], row["refunded"], row["net"], row["discounts"], row["tax"],
             row["succeeded"], row["failed"]) for row in series] == [
        ("2026-11-01", "0.00", "0.00", "0.00", "0.00", "0.00", 1, 1),
        ("2026-11-02", "0.00", "0.00", "0.00", "0.00", "0.00", 0, 0),
        ("2026-11-03", "100.00", "0.00", "100.00", "25.00", "16.67", 0, 0),
        ("2026-11-04", "0.00", "0.00", "0.00", "0.00", "0.00", 0, 0),
        ("2026-11-05", "0.00", "30.00", "-30.00", "0.00", "0.00", 0, 0),
    ]


def test_the_queryset_methods_follow_the_same_days(moved):
    assert Payment.objects.revenue_by_currency() == {"usd": Decimal("100.00")}
    assert Payment.objects.revenue_by_period("day") == [
        {"period": date(2026, NOV, 3), "currency": "usd", "total": Decimal("100.00"), "discounts": Decimal("25.00"),
         "tax": Decimal("16.67"), "count": 1},
    ]
    by_day = [(row.period, row.gross, row.refunded, row.discounts, row.tax, row.payments)
              for row in Payment.objects.figures_by_period()]
    assert by_day == [
        (date(2026, NOV, 1), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 2),
        (date(2026, NOV, 3), Decimal("100.00"), Decimal("0.00"), Decimal("25.00"), Decimal("16.67"), 0),
        (date(2026, NOV, 5), Decimal("0.00"), Decimal("30.00"), Decimal("0.00"), Decimal("0.00"), 0),
    ]
    everything = Payment.objects.figures_by_currency()["usd"]
    assert (everything.gross, everything.refunded, everything.net, everything.discounts, everything.tax,
            everything.payments) == (Decimal("100.00"), Decimal("30.00"), Decimal("70.00"), Decimal("25.00"),
                                     Decimal("16.67"), 2)


def test_only_the_refunds_of_the_querysets_payments_count(moved):
    other = dated_payment(day(1), "10.00", refunded="10.00", refunded_at=day(5), user=UserFactory())

    mine = Payment.objects.exclude(user=other.user).analytics(date(2026, NOV, 5), date(2026, NOV, 5))
    everyone = Payment.objects.analytics(date(2026, NOV, 5), date(2026, NOV, 5))

    assert mine.currencies["usd"].refunded == Decimal("30.00")
    assert everyone.currencies["usd"].refunded == Decimal("40.00")


def test_a_refund_that_did_not_succeed_moves_no_money(moved):
    moved.refunds.update(status="failed")

    assert Payment.objects.analytics(date(2026, NOV, 5), date(2026, NOV, 5)).currencies == {}
