"""``tax``: the tax collected inside the payments counted in ``gross`` (their ``amount_tax``),
per currency, on the local day each payment succeeded; part of ``gross`` and ``net``, never
added across currencies, and left as it is by refunds (Stripe reverses a refund's share of the
tax on its side: ours is what was collected on the day)."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from rest_framework.test import APIClient

from django_apranova_payments.models import Payment
from tests.factories import UserFactory, dated_payment, staff_holding

NOV = date(2026, 11, 1)
MONEY = ("gross", "refunded", "net", "discounts", "tax")
#: ``GET analytics/`` of a staff user with ``view_payment``: two statements for the permission
#: check (the user's and their groups' permissions), then the report's four; as many as before
#: the tax was added.
ENDPOINT_STATEMENTS = 2 + 4


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def taxed(created: datetime, amount: str, tax: str, currency: str, status: str = "succeeded",
          **extra: Any) -> Payment:
    """A payment as ``dated_payment`` makes it, ``tax`` of its ``amount`` being tax."""
    return dated_payment(created, amount, currency, status, amount_tax=Decimal(tax), **extra)


def money_of(report: Any, currency: str) -> tuple[str, ...]:
    figures = report.as_dict()["currencies"][currency]
    return tuple(figures[key] for key in MONEY)


@pytest.fixture
def taxes(db: Any) -> list[Payment]:
    """November 2026: EUR (21% VAT), INR (18% GST) and JPY (10%, no minor unit), each with a
    payment without tax, and taxed payments that never succeeded."""
    payments = [
        taxed(at(NOV), "121.00", "21.00", "eur"),
        taxed(at(NOV), "19.99", "3.47", "eur"),
        taxed(at(NOV), "50.00", "0.00", "eur"),  # no tax
        taxed(at(NOV + timedelta(days=1)), "1180.00", "180.00", "inr"),
        taxed(at(NOV + timedelta(days=1)), "499.00", "76.12", "inr"),
        taxed(at(NOV + timedelta(days=2)), "999.00", "0.00", "inr"),  # no tax
        taxed(at(NOV + timedelta(days=1)), "1100", "100", "jpy"),
        taxed(at(NOV + timedelta(days=2)), "550", "50", "jpy"),
        taxed(at(NOV + timedelta(days=2)), "3000", "0", "jpy"),  # no tax
    ]
    for status in ("failed", "canceled", "pending", "processing"):
        taxed(at(NOV + timedelta(days=2)), "60.50", "10.50", "eur", status)
        taxed(at(NOV + timedelta(days=2)), "590.00", "90.00", "inr", status)
        taxed(at(NOV + timedelta(days=2)), "2200", "200", "jpy", status)
    return payments


def test_tax_is_exact_per_currency_kept_apart_from_net_and_never_added_across(taxes):
    report = Payment.objects.analytics(NOV, NOV + timedelta(days=2))

    # net is gross - refunded: the tax is inside both, and shown beside them.
    assert money_of(report, "eur") == ("190.99", "0.00", "190.99", "0.00", "24.47")
    assert money_of(report, "inr") == ("2678.00", "0.00", "2678.00", "0.00", "256.12")
    assert money_of(report, "jpy") == ("4650", "0", "4650", "0", "150")
    assert {code: figures.tax for code, figures in report.currencies.items()} == {
        "eur": Decimal("24.47"), "inr": Decimal("256.12"), "jpy": Decimal("150")}


def test_the_tax_of_payments_that_did_not_succeed_is_not_collected(taxes):
    report = Payment.objects.analytics(NOV + timedelta(days=2), NOV + timedelta(days=2))

    eur = report.currencies["eur"]
    assert (eur.payments, eur.failed, eur.canceled, eur.succeeded) == (4, 1, 1, 0)
    assert (eur.gross, eur.tax) == (Decimal("0.00"), Decimal("0.00"))
    assert money_of(report, "inr") == ("999.00", "0.00", "999.00", "0.00", "0.00")
    assert money_of(report, "jpy") == ("3550", "0", "3550", "0", "50")


def test_the_series_puts_each_tax_on_its_payments_day_in_its_own_currency(taxes):
    series = Payment.objects.analytics(NOV, NOV + timedelta(days=2)).as_dict()["series"]

    assert [(row["period"], row["currency"], row["gross"], row["tax"]) for row in series] == [
        ("2026-11-01", "eur", "190.99", "24.47"), ("2026-11-01", "inr", "0.00", "0.00"),
        ("2026-11-01", "jpy", "0", "0"),
        ("2026-11-02", "eur", "0.00", "0.00"), ("2026-11-02", "inr", "1679.00", "256.12"),
        ("2026-11-02", "jpy", "1100", "100"),
        ("2026-11-03", "eur", "0.00", "0.00"), ("2026-11-03", "inr", "999.00", "0.00"),
        ("2026-11-03", "jpy", "3550", "50"),
    ]


def test_tax_counts_on_the_day_the_payment_succeeded_not_the_day_it_was_created(db):
    taxed(at(NOV, 23), "1180.00", "180.00", "inr", succeeded=at(NOV + timedelta(days=3), 1))

    created = Payment.objects.analytics(NOV, NOV)
    succeeded = Payment.objects.analytics(NOV + timedelta(days=3), NOV + timedelta(days=3))
    by_month = Payment.objects.analytics(date(2026, 10, 1), date(2026, 11, 30), "month")

    assert created.currencies["inr"].payments == 1 and created.currencies["inr"].tax == Decimal("0.00")
    assert money_of(succeeded, "inr") == ("1180.00", "0.00", "1180.00", "0.00", "180.00")
    assert succeeded.currencies["inr"].payments == 0
    assert [(row.period, row.tax) for row in by_month.series] == [
        (date(2026, 10, 1), Decimal("0.00")), (NOV, Decimal("180.00"))]


def test_tax_counts_on_the_local_day_in_the_hosts_time_zone(db):
    taxed(at(NOV, 20), "1180.00", "180.00", "inr")  # 01:30 on the 2nd in Kolkata

    with override_settings(TIME_ZONE="Asia/Kolkata"):
        report = Payment.objects.analytics(NOV, NOV + timedelta(days=1))

    assert [(row.period, row.tax) for row in report.series] == [
        (NOV, Decimal("0.00")), (NOV + timedelta(days=1), Decimal("180.00"))]


def test_a_refund_leaves_the_tax_as_it_was_collected(db):
    taxed(at(NOV), "121.00", "21.00", "eur", refunded="121.00", refunded_at=at(NOV + timedelta(days=1)))
    taxed(at(NOV), "1100", "100", "jpy", refunded="550")
    taxed(at(NOV), "1180.00", "180.00", "inr", refunded="590.00", refunded_at=at(NOV + timedelta(days=1)))

    paid_day = Payment.objects.analytics(NOV, NOV)
    refund_day = Payment.objects.analytics(NOV + timedelta(days=1), NOV + timedelta(days=1))
    both = Payment.objects.analytics(NOV, NOV + timedelta(days=1))

    assert money_of(paid_day, "eur") == ("121.00", "0.00", "121.00", "0.00", "21.00")
    assert money_of(refund_day, "eur") == ("0.00", "121.00", "-121.00", "0.00", "0.00")
    assert money_of(both, "eur") == ("121.00", "121.00", "0.00", "0.00", "21.00")
    assert money_of(paid_day, "jpy") == ("1100", "550", "550", "0", "100")
    assert money_of(refund_day, "inr") == ("0.00", "590.00", "-590.00", "0.00", "0.00")
    assert money_of(both, "inr") == ("1180.00", "590.00", "590.00", "0.00", "180.00")


def test_many_small_taxes_add_up_exactly(db):
    for _ in range(30):
        taxed(at(NOV), "1.11", "0.17", "inr")
    for _ in range(7):
        taxed(at(NOV), "0.59", "0.09", "inr")

    assert Payment.objects.analytics(NOV, NOV).currencies["inr"].tax == Decimal("5.73")


def test_only_the_tax_of_the_querysets_payments_counts(taxes):
    other = taxed(at(NOV), "60.50", "10.50", "eur", user=UserFactory())

    mine = Payment.objects.exclude(user=other.user).analytics(NOV, NOV)
    everyone = Payment.objects.analytics(NOV, NOV)

    assert mine.currencies["eur"].tax == Decimal("24.47")
    assert everyone.currencies["eur"].tax == Decimal("34.97")


def test_the_queryset_methods_give_the_same_tax(taxes):
    assert {code: figures.tax for code, figures in Payment.objects.figures_by_currency().items()} == {
        "eur": Decimal("24.47"), "inr": Decimal("256.12"), "jpy": Decimal("150")}
    assert [(row.period, row.currency, row.tax) for row in Payment.objects.figures_by_period() if row.tax] == [
        (NOV, "eur", Decimal("24.47")), (NOV + timedelta(days=1), "inr", Decimal("256.12")),
        (NOV + timedelta(days=1), "jpy", Decimal("100")), (NOV + timedelta(days=2), "jpy", Decimal("50")),
    ]
    assert [(row["period"], row["currency"], row["total"], row["tax"], row["count"])
            for row in Payment.objects.revenue_by_period("month")] == [
        (NOV, "eur", Decimal("190.99"), Decimal("24.47"), 3),
        (NOV, "inr", Decimal("2678.00"), Decimal("256.12"), 3),
        (NOV, "jpy", Decimal("4650.00"), Decimal("150.00"), 3),
    ]
    assert Payment.objects.revenue_by_currency() == {
        "eur": Decimal("190.99"), "inr": Decimal("2678.00"), "jpy": Decimal("4650.00")}


def test_the_endpoint_answers_tax_with_each_currencys_decimals(taxes):
    api = APIClient()
    api.force_authenticate(staff_holding("view_payment"))

    body = api.get("/billing/v1/analytics/", {"from": "2026-11-01", "to": "2026-11-03"}).json()

    assert {code: figures["tax"] for code, figures in body["currencies"].items()} == {
        "eur": "24.47", "inr": "256.12", "jpy": "150"}
    assert [row["tax"] for row in body["series"] if row["currency"] == "jpy"] == ["0", "100", "50"]


def test_the_report_has_a_tax_column_in_its_table_and_csv(taxes):
    out = StringIO()
    call_command("apranova_report", "--from", "2026-11-01", "--to", "2026-11-03", "--format", "csv", stdout=out)
    rows = list(csv.reader(StringIO(out.getvalue())))
    tax = rows[0].index("tax")
    assert rows[0][tax - 1:tax + 2] == ["discounts", "tax", "payments"]
    assert {(row[0], row[1]): row[tax] for row in rows[1:] if row[0] in ("2026-11-02", "total")} == {
        ("2026-11-02", "eur"): "0.00", ("2026-11-02", "inr"): "256.12", ("2026-11-02", "jpy"): "100",
        ("total", "eur"): "24.47", ("total", "inr"): "256.12", ("total", "jpy"): "150"}

    table = StringIO()
    call_command("apranova_report", "--from", "2026-11-01", "--to", "2026-11-03", stdout=table)
    lines = [line.split() for line in table.getvalue().splitlines()]
    column = lines[1].index("tax")
    assert {line[0]: line[column] for line in lines[2:5]} == {"EUR": "24.47", "INR": "256.12", "JPY": "150"}


def test_the_payment_export_has_each_payments_tax_in_its_currency(taxes):
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    export = admin.get("/admin/apranova_payments/payment/export/", {"status__exact": "succeeded"})
    [header, *rows] = list(csv.reader(StringIO(b"".join(export.streaming_content).decode())))

    tax = header.index("amount_tax")
    by_intent = {row[1]: (row[3], row[4], row[tax]) for row in rows}
    assert [by_intent[payment.stripe_payment_intent] for payment in taxes] == [
        ("121.00", "eur", "21.00"), ("19.99", "eur", "3.47"), ("50.00", "eur", "0.00"),
        ("1180.00", "inr", "180.00"), ("499.00", "inr", "76.12"), ("999.00", "inr", "0.00"),
        ("1100", "jpy", "100"), ("550", "jpy", "50"), ("3000", "jpy", "0"),
    ]


def test_a_report_with_tax_still_takes_four_statements(taxes):
    for days in (1, 365):
        with CaptureQueriesContext(connection) as queries:
            Payment.objects.analytics(NOV, NOV + timedelta(days=days - 1))
        assert len(queries) == 4
    with CaptureQueriesContext(connection) as queries:
        Payment.objects.figures_by_currency()
        Payment.objects.revenue_by_period()
    assert len(queries) == 3 + 1
    with CaptureQueriesContext(connection) as queries:
        Payment.objects.revenue_by_currency()
    [revenue] = queries.captured_queries
    assert "amount_tax" not in revenue["sql"] and "discount" not in revenue["sql"]  # only what it returns


def test_the_endpoint_takes_the_reports_four_statements_with_tax(taxes):
    api = APIClient()
    api.force_authenticate(staff_holding("view_payment"))

    with CaptureQueriesContext(connection) as queries:
        response = api.get("/billing/v1/analytics/", {"from": "2026-11-01", "to": "2026-11-03"})

    assert response.status_code == 200
    sums = [q["sql"] for q in queries.captured_queries if "amount_tax" in q["sql"]]
    assert len(sums) == 1 and "UNION ALL" in sums[0]  # the tax is summed with gross, in one statement
    assert len(queries) == ENDPOINT_STATEMENTS

