"""Receipts: a seller, and succeeded payments with tax, discounts and refunds set up directly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments.models import Coupon, Payment, Refund
from tests.factories import PaymentFactory

SELLER = {
    "name": "ApraNova Academy GmbH",
    "address": ["Hauptstraße 5", "10115 Berlin", "Germany"],
    "tax_id": "DE123456789",
    "email": "billing@apranova.example",
}
PAID = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def with_settings(**extra: Any) -> Any:
    return override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, **extra})


@pytest.fixture
def seller() -> Any:
    with with_settings(SELLER=SELLER):
        yield SELLER


def receipt_url(payment: Payment, **query: str) -> str:
    url = reverse("apranova_payments:payment-receipt", args=[payment.stripe_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def succeeded(user: Any, amount: str, currency: str, *, tax: str = "0.00", breakdown: list[dict] | None = None,
              number: int | None = None, **extra: Any) -> Payment:
    """A succeeded payment of ``user`` (``number``: its receipt number, none by default)."""
    return PaymentFactory(
        user=user, amount=Decimal(amount), currency=currency, status="succeeded", stripe_status="succeeded",
        succeeded_at=PAID, amount_tax=Decimal(tax), tax_breakdown=breakdown or [], receipt_number=number, **extra,
    )


def eur_exclusive(user: Any, number: int | None = None) -> Payment:
    """100.00 EUR less a 10% coupon (10.00), plus German VAT 19% on 90.00 (17.10): 107.10."""
    coupon = Coupon.objects.create(code="WELCOME10", percent_off=Decimal(10))
    return succeeded(
        user, "107.10", "eur", tax="17.10", number=number, coupon=coupon, discount=Decimal("10.00"),
        metadata={"product_name": "Django for Professionals"},
        billing_address={"country": "DE", "postal_code": "10115", "city": "Berlin", "line1": "Invalidenstraße 1"},
        breakdown=[{"amount": 1710, "taxable_amount": 9000, "percentage": "19.0", "country": "DE", "state": None,
                    "tax_type": "vat", "inclusive": False, "taxability_reason": "standard_rated"}],
    )


def inr_inclusive(user: Any, number: int | None = None) -> Payment:
    """1,18,000.00 INR with Indian GST 18% within it (18,000.00)."""
    return succeeded(
        user, "118000.00", "inr", tax="18000.00", number=number, metadata={"product_name": "Data Science Bootcamp"},
        billing_address={"country": "IN", "postal_code": "560001", "city": "Bengaluru", "state": "KA"},
        breakdown=[{"amount": 1800000, "taxable_amount": 10000000, "percentage": "18.0", "country": "IN",
                    "state": "", "tax_type": "gst", "inclusive": True, "taxability_reason": "standard_rated"}],
    )


def jpy_exclusive(user: Any, number: int | None = None) -> Payment:
    """12,000 JPY plus Japanese consumption tax 10% (1,200): 13,200 (zero-decimal)."""
    return succeeded(
        user, "13200", "jpy", tax="1200", number=number,
        billing_address={"country": "JP", "postal_code": "100-0001", "city": "Tokyo"},
        breakdown=[{"amount": 1200, "taxable_amount": 12000, "percentage": "10.0", "country": "JP", "state": None,
                    "tax_type": "jct", "inclusive": False, "taxability_reason": "standard_rated"}],
    )


def refund(payment: Payment, amount: str, status: str = "succeeded", on: datetime | None = None) -> Refund:
    made = Refund.objects.create(payment=payment, stripe_refund=f"re_{payment.pk}_{amount}_{status}",
                                 amount=Decimal(amount), currency=payment.currency, status=status)
    Refund.objects.filter(pk=made.pk).update(created_at=on or PAID)
    if status == "succeeded":
        Payment.objects.filter(pk=payment.pk).update(amount_refunded=payment.amount_refunded + Decimal(amount))
        payment.refresh_from_db()
    return made
