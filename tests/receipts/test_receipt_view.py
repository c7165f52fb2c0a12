"""GET <payment_intent>/receipt/: who may read it, what it says, in HTML and as a PDF."""

from __future__ import annotations

import io
import logging
import sys
from datetime import UTC, datetime

import fpdf  # noqa: F401 - loaded before a test hides uharfbuzz: fpdf2 decides on shaping at import
import pytest
from django.test import Client
from pypdf import PdfReader
from rest_framework.test import APIClient

from django_apranova_payments.models import Payment, ReceiptSequence
from tests.factories import PaymentFactory, UserFactory, staff_holding

from .conftest import eur_exclusive, inr_inclusive, jpy_exclusive, receipt_url, refund, succeeded, with_settings

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- who ---------------------------------------------------------------------------------------


def test_the_owner_sees_the_receipt_as_an_html_page(seller, user, api):
    payment = eur_exclusive(user, number=42)
    response = api.get(receipt_url(payment))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    html = response.content.decode()
    assert html.startswith("<!DOCTYPE html>")
    assert "R-000042" in html
    assert "@media print" in html
    assert 'href="?format=pdf"' in html


def test_staff_holding_view_payment_see_anyones_receipt(seller, user):
    payment = eur_exclusive(user, number=7)
    response = client_for(staff_holding("view_payment")).get(receipt_url(payment))
    assert response.status_code == 200
    assert "R-000007" in response.content.decode()


@pytest.mark.parametrize("who", ["other user", "staff without view_payment", "staff holding refund_payment only"])
def test_anyone_else_gets_the_404_of_an_unknown_payment(seller, user, who):
    payment = eur_exclusive(user, number=1)
    caller = {
        "other user": lambda: UserFactory(),
        "staff without view_payment": lambda: UserFactory(is_staff=True),
        "staff holding refund_payment only": lambda: staff_holding("refund_payment"),
    }[who]()
    client = client_for(caller)
    foreign = client.get(receipt_url(payment))
    unknown = client.get(receipt_url(Payment(stripe_payment_intent="pi_nobody_has_this")))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_an_anonymous_caller_is_refused_by_the_apis_permission_classes(seller, user):
    payment = eur_exclusive(user, number=1)
    response = APIClient().get(receipt_url(payment))
    assert response.status_code in (401, 403)
    assert "R-000001" not in response.content.decode()


def test_a_browser_session_of_the_owner_sees_it(seller, user):
    payment = eur_exclusive(user, number=3)
    browser = Client()
    browser.force_login(user)
    assert browser.get(receipt_url(payment)).status_code == 200


@pytest.mark.parametrize("status", ["pending", "processing", "failed", "canceled"])
def test_a_payment_that_has_not_succeeded_has_no_receipt(seller, user, api, status):
    payment = PaymentFactory(user=user, status=status)
    assert api.get(receipt_url(payment)).status_code == 404
    assert api.get(receipt_url(payment, format="pdf")).status_code == 404


def test_without_seller_receipts_are_off_404_with_a_log_line(user, api, caplog):
    payment = eur_exclusive(user, number=5)
    with caplog.at_level(logging.WARNING, logger="django_apranova_payments"):
        response = api.get(receipt_url(payment))
    assert response.status_code == 404
    assert "receipts are off (SELLER is not set)" in caplog.text


def test_a_checkout_session_id_finds_the_payment_too(seller, user, api):
    payment = eur_exclusive(user, number=9)
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent=None, stripe_checkout_session="cs_test_9")
    payment.refresh_from_db()
    assert payment.stripe_id == "cs_test_9"
    assert "R-000009" in api.get(receipt_url(payment)).content.decode()


def test_a_payment_that_succeeded_before_seller_was_set_is_numbered_on_first_view(user, api):
    earlier = eur_exclusive(user)
    assert earlier.receipt_number is None
    with with_settings(SELLER={"name": "ApraNova"}):
        first = api.get(receipt_url(earlier)).content.decode()
        again = api.get(receipt_url(earlier)).content.decode()
        later = inr_inclusive(user)
        second = api.get(receipt_url(later)).content.decode()
    earlier.refresh_from_db()
    assert earlier.receipt_number == 1
    assert "R-000001" in first and "R-000001" in again
    assert "R-000002" in second
    assert ReceiptSequence.objects.get().last == 2


@pytest.mark.parametrize("value", ["xml", "PDF", "json", ""])
def test_another_format_is_a_400_naming_the_parameter(seller, user, api, value):
    payment = eur_exclusive(user, number=1)
    response = api.get(receipt_url(payment) + f"?format={value}")
    assert response.status_code == 400
    assert "format" in response.json()


# --- what it says ------------------------------------------------------------------------------


def test_eur_with_a_coupon_and_exclusive_german_vat(seller, user, api):
    user.first_name, user.last_name = "Anna", "Schmidt"
    user.save()
    payment = eur_exclusive(user, number=42)
    html = api.get(receipt_url(payment)).content.decode()
    for part in [
        "R-000042", "March 14, 2026",
        "ApraNova Academy GmbH", "Hauptstraße 5", "10115 Berlin", "Germany", "DE123456789",
        "billing@apranova.example",
        "Anna Schmidt", user.email, "Invalidenstraße 1", "10115 Berlin", "DE",
        "Django for Professionals", "€100.00",
        "Discount (WELCOME10)", "-€10.00",
        "Subtotal", "€90.00",
        "VAT 19% (DE)", "€17.10",
        "Total paid", "€107.10",
    ]:
        assert part in html, part
    assert "includes" not in html
    assert "Refunds" not in html


def test_inr_with_gst_within_the_price(seller, user, api):
    payment = inr_inclusive(user, number=2)
    html = api.get(receipt_url(payment)).content.decode()
    for part in ["Data Science Bootcamp", "₹118,000.00", "includes GST 18% (IN)", "₹18,000.00", "Bengaluru", "KA"]:
        assert part in html, part
    assert "Subtotal" not in html
    assert "Discount" not in html
    assert user.username in html  # no full name: the username


def test_jpy_has_no_decimals(seller, user, api):
    payment = jpy_exclusive(user, number=3)
    html = api.get(receipt_url(payment)).content.decode()
    for part in ["Payment", "¥12,000", "Subtotal", "JCT 10% (JP)", "¥1,200", "¥13,200"]:
        assert part in html, part
    assert "¥13,200.00" not in html and "¥1,200.00" not in html


def test_without_tax_there_is_no_tax_line(seller, user, api):
    payment = succeeded(user, "49.00", "usd", number=4)
    html = api.get(receipt_url(payment)).content.decode()
    assert "$49.00" in html
    assert "Subtotal" not in html and "VAT" not in html and "Tax ID" in html  # the seller's, only


def test_succeeded_refunds_are_listed_with_their_dates_the_total_refunded_and_the_net(seller, user, api):
    payment = eur_exclusive(user, number=8)
    refund(payment, "20.00", on=datetime(2026, 3, 20, 12, tzinfo=UTC))
    refund(payment, "5.10", on=datetime(2026, 4, 2, 12, tzinfo=UTC))
    refund(payment, "30.00", status="failed")
    refund(payment, "1.00", status="pending")
    html = api.get(receipt_url(payment)).content.decode()
    for part in ["Refunds", "Refunded on March 20, 2026", "-€20.00", "Refunded on April 2, 2026", "-€5.10",
                 "Amount refunded", "-€25.10", "Net paid", "€82.00"]:
        assert part in html, part
    assert "€30.00" not in html and "-€1.00" not in html


def test_in_hindi_the_labels_and_the_grouping_are_hindi(seller, user, api):
    payment = inr_inclusive(user, number=11)
    refund(payment, "1000.00")
    html = api.get(receipt_url(payment), HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert '<html lang="hi"' in html
    for part in ["रसीद", "रसीद संख्या", "भुगतान की तिथि", "विक्रेता", "कुल भुगतान", "जीएसटी 18% (IN) सम्मिलित",
                 "₹1,18,000.00", "₹18,000.00", "धनवापसियाँ", "धनवापसी की गई राशि", "शुद्ध भुगतान", "₹1,17,000.00"]:
        assert part in html, part
    assert "Total paid" not in html and "Date paid" not in html


def test_the_html_escapes_what_it_is_given(user, api):
    payment = succeeded(user, "10.00", "usd", number=1, metadata={"product_name": "<script>alert(1)</script>"})
    with with_settings(SELLER={"name": "<b>Evil & Co</b>"}):
        html = api.get(receipt_url(payment)).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html


# --- the PDF -----------------------------------------------------------------------------------


def test_the_pdf_says_what_the_html_says(seller, user, api):
    payment = eur_exclusive(user, number=42)
    refund(payment, "20.00")
    response = api.get(receipt_url(payment, format="pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="receipt-R-000042.pdf"'
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    html = api.get(receipt_url(payment)).content.decode()
    for fact in ["R-000042", "ApraNova Academy GmbH", "DE123456789", "VAT 19% (DE)", "€17.10", "€107.10",
                 "Discount (WELCOME10)", "-€10.00", "€100.00", "Net paid", "€87.10"]:
        assert fact in text, fact
        assert fact in html, fact


def test_the_pdf_in_hindi_carries_the_same_figures(seller, user, api):
    payment = inr_inclusive(user, number=12)
    response = api.get(receipt_url(payment, format="pdf"), HTTP_ACCEPT_LANGUAGE="hi")
    assert response.status_code == 200
    text = pdf_text(response.content)
    for fact in ["R-000012", "ApraNova Academy GmbH", "₹1,18,000.00", "₹18,000.00", "रसीद"]:
        assert fact in text, fact


def test_the_jpy_pdf(seller, user, api):
    text = pdf_text(api.get(receipt_url(jpy_exclusive(user, number=13), format="pdf")).content)
    for fact in ["R-000013", "JCT 10% (JP)", "¥1,200", "¥13,200"]:
        assert fact in text, fact


@pytest.mark.parametrize("missing", ["fpdf", "uharfbuzz"])
def test_without_the_pdf_extra_the_pdf_is_a_501_naming_the_install(seller, user, api, monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # importing it raises ImportError
    payment = eur_exclusive(user, number=1)
    response = api.get(receipt_url(payment, format="pdf"))
    assert response.status_code == 501
    assert 'pip install "django-apranova-payments[pdf]"' in response.json()["detail"]
    page = api.get(receipt_url(payment))
    assert page.status_code == 200  # the HTML needs no extra
    assert "R-000001" in page.content.decode() and "?format=pdf" not in page.content.decode()


def test_an_english_pdf_still_writes_a_devanagari_name(seller, user, api):
    user.first_name, user.last_name = "अनन्या", "शर्मा"
    user.save()
    text = pdf_text(api.get(receipt_url(eur_exclusive(user, number=14), format="pdf")).content)
    assert "Total paid" in text and "€107.10" in text
    assert "अनन्या" in text.replace(" ", "")


def test_a_tax_without_its_breakdown_is_one_tax_line_added_on_top(seller, user, api):
    payment = succeeded(user, "119.00", "usd", tax="19.00", number=15)
    html = api.get(receipt_url(payment)).content.decode()
    for part in ["$100.00", "Subtotal", "Tax", "$19.00", "$119.00"]:
        assert part in html, part


def test_added_and_included_taxes_on_one_payment_each_go_where_they_belong(seller, user, api):
    payment = succeeded(user, "105.00", "usd", tax="20.97", number=16, breakdown=[
        {"amount": 1597, "taxable_amount": 8403, "percentage": "19.0", "country": "DE", "tax_type": "vat",
         "inclusive": True},
        {"amount": 500, "taxable_amount": 10000, "percentage": "5.0", "country": "US", "state": "CA",
         "tax_type": "sales_tax", "inclusive": False},
        {"amount": 0, "taxable_amount": 10000, "percentage": "0.0", "country": "US", "tax_type": "sales_tax",
         "inclusive": False, "taxability_reason": "not_collecting"},
    ])
    html = api.get(receipt_url(payment)).content.decode()
    price, subtotal, added, total, included = (html.index(part) for part in [
        "<td class=\"amount\">$100.00</td>", "Subtotal", "Sales tax 5% (US-CA)", "$105.00", "includes VAT 19% (DE)"])
    assert price < subtotal < added < total < included
    assert "$15.97" in html and "$5.00" in html
    assert html.count("Sales tax") == 1  # the row of no tax is not printed
