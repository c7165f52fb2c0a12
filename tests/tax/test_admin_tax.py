"""The payment's admin page shows its tax, with each rate, and the address it was taxed for."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse

from tests.factories import PaymentFactory


def test_the_payment_page_shows_the_tax_with_its_rate_and_the_billing_address(admin_client):
    payment = PaymentFactory(
        amount=Decimal("119.00"), currency="eur", amount_tax=Decimal("19.00"), tax_calculation="taxcalc_1",
        tax_breakdown=[{"amount": 1900, "percentage": "19.0", "tax_type": "vat", "country": "DE"}],
        billing_address={"country": "DE", "postal_code": "10115", "city": "Berlin"},
    )

    page = admin_client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk])).text

    assert "€19.00 (19.0% vat DE)" in page
    assert "taxcalc_1" in page
    assert "Berlin, 10115, DE" in page


def test_an_untaxed_payment_shows_no_tax(admin_client):
    payment = PaymentFactory()

    page = admin_client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk])).text

    assert "19.0%" not in page and "billing address" in page.lower()
