"""The payment admin's Analytics page and CSV export: who may see them, what they show, and
an export that streams (100,000 rows never in memory) and cannot inject a formula."""

from __future__ import annotations

import csv
import re
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from django_apranova_payments import exports
from django_apranova_payments.admin import charts
from django_apranova_payments.models import Dispute, Payment
from tests.factories import UserFactory, dated_payment, discounted_payment

ANALYTICS = "/admin/apranova_payments/payment/analytics/"
EXPORT = "/admin/apranova_payments/payment/export/"
CHANGELIST = "/admin/apranova_payments/payment/"
DISCOUNTS_TILE = (r'kpi-discounts">\s*<span class="kpi-label">Discounts</span>\s*'
                  r'<span class="kpi-value">{value}</span>')
TAX_TILE = r'kpi-tax">\s*<span class="kpi-label">Tax</span>\s*<span class="kpi-value">{value}</span>'


made = dated_payment


@pytest.fixture
def superuser(db: Any) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def november(db: Any) -> list[Payment]:
    payments = [
        discounted_payment(datetime(2026, 11, 1, 9, tzinfo=UTC), "999.00", "250.00", refunded="99.00",
                           amount_tax=Decimal("166.50")),
        made(datetime(2026, 11, 2, 9, tzinfo=UTC), "1000", "jpy"),
        made(datetime(2026, 11, 2, 10, tzinfo=UTC), "49.00", status="failed", failure_code="card_declined",
             amount_tax=Decimal("8.17")),
        made(datetime(2026, 11, 3, 10, tzinfo=UTC), "49.00", status="failed", failure_code="insufficient_funds"),
        made(datetime(2026, 11, 3, 11, tzinfo=UTC), "49.00", status="canceled"),
    ]
    Dispute.objects.create(payment=payments[1], stripe_dispute="dp_1", amount=Decimal(1000), currency="jpy",
                           status="needs_response")
    return payments


def staff_with(*codenames: str) -> Client:
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


# -- the Analytics page -----------------------------------------------------------------------


def test_the_page_shows_tiles_and_a_chart_per_currency_the_outcomes_and_failure_codes(superuser, november):
    response = superuser.get(ANALYTICS, {"from": "2026-11-01", "to": "2026-11-03"})

    assert response.status_code == 200
    page = response.content.decode()
    usd = page[page.index('id="currency-usd"'):page.index('id="outcomes"')]
    assert '<span class="kpi-value">$900.00</span>' in usd  # net
    assert '<span class="kpi-value">$99.00</span>' in usd  # refunds
    assert re.search(DISCOUNTS_TILE.format(value=re.escape("$250.00")), usd)
    assert re.search(TAX_TILE.format(value=re.escape("$166.50")), usd)  # the failed payment's tax: not collected
    assert "25.0%" in usd  # 1 succeeded of 4 ended
    assert "1 of 4 ended (2 failed, 1 canceled)" in usd
    jpy = page[page.index('id="currency-jpy"'):page.index('id="currency-usd"')]
    assert '<span class="kpi-value">¥1,000</span>' in jpy and "1 disputed payment" in jpy
    assert re.search(DISCOUNTS_TILE.format(value="¥0"), jpy)  # no coupon: none
    assert re.search(TAX_TILE.format(value="¥0"), jpy)  # no tax: none
    assert page.count('<svg class="apranova-chart') == 3  # USD, JPY, succeeded and failed
    assert len(re.findall(r'<rect class="net"', usd)) == 1 and len(re.findall(r'<rect class="refunded"', usd)) == 1
    outcomes = page[page.index('id="outcomes"'):page.index('id="failure-codes"')]
    assert len(re.findall(r'<rect class="failed"', outcomes)) == 2
    assert ": net $900.00, refunded $99.00, discounts $250.00, tax $166.50, 1 succeeded</title>" in usd
    codes = page[page.index('id="failure-codes"'):]
    assert "<code>card_declined</code>" in codes and "<code>insufficient_funds</code>" in codes
    assert "created_at__gte=2026-11-01&amp;created_at__lt=2026-11-04" in page


def test_the_page_has_no_inline_script_or_style_and_nothing_from_another_host(superuser, november):
    page = superuser.get(ANALYTICS, {"from": "2026-11-01", "to": "2026-11-03"}).content.decode()
    content = page[page.index('<div id="content-main">'):]
    assert " style=" not in page and "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", content)
    assert "/static/apranova_payments/analytics.css" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_without_parameters_the_last_30_days_with_the_form_filled_in(superuser, db):
    page = superuser.get(ANALYTICS).content.decode()
    assert 'type="date" name="from"' in page and 'name="to"' in page
    assert "No payment was created, succeeded or refunded in this range." in page


def test_a_range_that_cannot_be_shown_is_a_form_error(superuser, db):
    response = superuser.get(ANALYTICS, {"from": "2026-11-02", "to": "2026-11-01"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Must be on or after from (2026-11-02)." in page
    assert "apranova-chart" not in page
    bad = superuser.get(ANALYTICS, {"from": "soon", "interval": "week"}).content.decode()
    assert "Enter a valid date." in bad and "Select a valid choice." in bad


def test_people_who_are_not_staff_are_sent_to_the_login_page(client, user):
    client.force_login(user)
    response = client.get(ANALYTICS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_analytics_permission_classes_apply_to_the_page(superuser, db):
    never = {"STRIPE_SECRET_KEY": "sk_test_x",
             "ANALYTICS_PERMISSION_CLASSES": ["tests.analytics.test_endpoint.Never"]}
    with override_settings(APRANOVA_PAYMENTS=never):
        assert superuser.get(ANALYTICS).status_code == 403
        assert "apranova-analytics-link" not in superuser.get(CHANGELIST).content.decode()


def test_the_changelist_links_to_the_page_and_to_the_export_of_what_it_shows(superuser, db):
    page = superuser.get(CHANGELIST, {"status__exact": "failed"}).content.decode()
    assert f'href="{ANALYTICS}" class="apranova-analytics-link"' in page
    assert f'href="{EXPORT}?status__exact=failed" class="apranova-export-link"' in page


def test_staff_without_the_view_permission_see_no_export(db):
    client = staff_with()
    assert client.get(EXPORT).status_code == 403
    assert client.get(ANALYTICS).status_code == 403  # ANALYTICS_PERMISSION_CLASSES: view_payment


# -- the export --------------------------------------------------------------------------------


def rows_of(response: Any) -> list[list[str]]:
    return list(csv.reader(StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_button_exports_the_filtered_list_with_every_column(superuser, november):
    response = superuser.get(EXPORT, {"status__exact": "failed"})

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="payments-\d{8}-\d{6}\.csv"', response["Content-Disposition"])
    rows = rows_of(response)
    assert rows[0] == ["id", "payment_intent", "user", "amount", "currency", "status", "amount_refunded",
                       "discount", "coupon", "amount_tax", "failure_code", "created"]
    failed = sorted(november[2:4], key=lambda p: p.pk)
    assert sorted(rows[1:]) == sorted([
        [str(p.pk), p.stripe_payment_intent, p.user.get_username(), "49.00", "usd", "failed", "0.00", "0.00", "",
         tax, p.failure_code, Payment.objects.get(pk=p.pk).created_at.isoformat()]
        for p, tax in zip(failed, ("8.17", "0.00"), strict=True)
    ])


def test_the_export_keeps_the_currencys_decimals(superuser, november):
    rows = {row[1]: row for row in rows_of(superuser.get(EXPORT))[1:]}
    assert rows[november[1].stripe_payment_intent][3:10] == ["1000", "jpy", "succeeded", "0", "0", "", "0"]
    assert rows[november[0].stripe_payment_intent][6:10] == ["99.00", "250.00", "SPRING25", "166.50"]


def test_the_export_refuses_filters_as_the_list_does(superuser, db):
    response = superuser.get(EXPORT, {"created_at__gte": "not a date"})
    assert response.status_code == 302 and response["Location"] == f"{CHANGELIST}?e=1"
    assert superuser.get(EXPORT, {"user__password__startswith": "pbkdf2"}).status_code == 400  # a forged lookup


def test_the_action_exports_the_selected_payments(superuser, november):
    chosen = [november[0].pk, november[4].pk]
    response = superuser.post(CHANGELIST, {"action": "export_csv", "_selected_action": chosen})
    assert response.status_code == 200
    assert sorted(int(row[0]) for row in rows_of(response)[1:]) == sorted(chosen)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_that_would_start_a_formula_are_quoted(superuser, db, start):
    user = UserFactory(username=f"{start}cmd|' /C calc'!A0")
    made(datetime(2026, 11, 1, tzinfo=UTC), "10.00", status="failed", failure_code=f"{start}HYPERLINK(1)", user=user)

    [_, row] = rows_of(superuser.get(EXPORT))
    assert row[2] == f"'{start}cmd|' /C calc'!A0"
    assert row[10] == f"'{start}HYPERLINK(1)"


def test_safe_cell_leaves_ordinary_values_alone():
    assert [exports.safe_cell(v) for v in ("card_declined", "", None, 12, "a=b", "pi_-1")] == [
        "card_declined", "", "", "12", "a=b", "pi_-1"]


def test_an_export_of_100000_payments_streams_in_chunks_without_holding_the_rows(superuser, user):
    Payment.objects.bulk_create(
        Payment(user=user, stripe_payment_intent=f"pi_export_{n:06d}", amount=Decimal("19.99"), currency="usd",
                status="succeeded", failure_code="card_declined" if n % 10 == 0 else "")
        for n in range(100_000)
    )
    response = superuser.get(EXPORT)
    assert response.streaming

    lines = size = 0
    tracemalloc.start()
    try:
        with CaptureQueriesContext(connection) as queries:
            for chunk in response.streaming_content:
                lines += 1
                size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == 100_001
    assert size > 7_000_000  # what a list of the rows, or the whole text, would hold at once
    # The rows as Python values would take several times the text, and the text alone is
    # `size`; a chunk of them (and the database driver's buffer) is what may be held. With the
    # 12 columns (amount_tax is the 12th): 2.0 MB on SQLite, 3.8 MB on PostgreSQL (3.3 MB with
    # 11), of 10.9 MB of text: a chunk's Decimals grow faster than their text.
    assert peak < size / 2, f"peak {peak:,} bytes while streaming {size:,}"
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) <= 1  # one cursor, read CHUNK_SIZE rows at a time (PostgreSQL: server-side)


def test_the_admin_url_names(db):
    assert reverse("admin:apranova_payments_payment_analytics") == ANALYTICS
    assert reverse("admin:apranova_payments_payment_export") == EXPORT


@pytest.mark.parametrize(("value", "top"), [("0", "1"), ("0.3", "0.5"), ("7", "10"), ("147", "200"), ("230", "250"),
                                            ("1019.49", "2000"), ("4999", "5000"), ("5001", "10000")])
def test_a_charts_top_is_a_round_number_at_least_its_largest_bar(value, top):
    assert charts.nice_ceiling(Decimal(value)) == Decimal(top)


def test_a_chart_labels_its_first_middle_and_last_periods_and_titles_every_bar():
    bars = [charts.Bar(label=f"d{n}", title=f"day {n}", segments=[(n, "net")]) for n in range(5)]
    svg = str(charts.bar_chart(bars, chart_id="c1", label="A <chart>", tick_text=str))
    assert re.findall(r'<text class="period (\w+)"[^>]*>(d\d)</text>', svg) == [
        ("start", "d0"), ("middle", "d2"), ("end", "d4")]
    assert svg.count("<title>day ") == 5 and '<title id="c1">A &lt;chart&gt;</title>' in svg
    assert svg.count('<rect class="net"') == 4  # no rectangle for a zero
