"""A receipt's latency on PostgreSQL: ``GET <payment_intent>/receipt/`` as an HTML page and
with ``?format=pdf`` (fpdf2 with HarfBuzz shaping, the fonts embedded as subsets), in English
and in Hindi, for a EUR payment with a coupon, German VAT and two refunds. Whole requests
through Django's test client: the lookup, the permission checks, the receipt's figures, the
template or the PDF.

    python benchmarks/receipt.py [--requests 200]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from _common import django_on_fresh_database, ms, report

HTML_TARGET_MS = 50
PDF_TARGET_MS = 500
SELLER = {"name": "ApraNova Academy GmbH", "address": ["Hauptstraße 5", "10115 Berlin", "Germany"],
          "tax_id": "DE123456789", "email": "billing@apranova.example"}


def latencies(client: Any, url: str, count: int, **headers: str) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, **headers)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:200]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="HTML requests per measurement (PDF: a quarter)")
    args = parser.parse_args()

    with django_on_fresh_database("apranova_bench_receipt"):
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test.utils import override_settings
        from django.urls import reverse
        from rest_framework.test import APIClient

        from django_apranova_payments.models import Coupon, Payment, Refund

        user = get_user_model()._default_manager.create_user(
            username="anna", email="anna@example.com", first_name="Anna", last_name="Schmidt")
        coupon = Coupon.objects.create(code="WELCOME10", percent_off=Decimal(10))
        paid = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
        payment = Payment.objects.create(
            user=user, stripe_payment_intent="pi_bench_receipt", amount=Decimal("107.10"), currency="eur",
            status="succeeded", stripe_status="succeeded", succeeded_at=paid, coupon=coupon,
            discount=Decimal("10.00"), amount_tax=Decimal("17.10"), amount_refunded=Decimal("25.10"),
            receipt_number=42, metadata={"product_name": "Django for Professionals"},
            card_brand="visa", card_last4="4242",  # asked of Stripe on the first view only: not measured
            billing_address={"country": "DE", "postal_code": "10115", "city": "Berlin", "line1": "Invalidenstraße 1"},
            tax_breakdown=[{"amount": 1710, "taxable_amount": 9000, "percentage": "19.0", "country": "DE",
                            "state": None, "tax_type": "vat", "inclusive": False,
                            "taxability_reason": "standard_rated"}],
        )
        for n, amount in enumerate(("20.00", "5.10")):
            Refund.objects.create(payment=payment, stripe_refund=f"re_bench_{n}", amount=Decimal(amount),
                                  currency="eur", status="succeeded")
        client = APIClient()
        client.force_authenticate(user)
        url = reverse("apranova_payments:payment-receipt", args=[payment.stripe_id])
        pdf_requests = max(args.requests // 4, 10)
        with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "SELLER": SELLER}):
            latencies(client, url, 10)  # warm-up: templates, catalogues, fonts
            latencies(client, f"{url}?format=pdf", 3)
            html = latencies(client, url, args.requests)
            html_hi = latencies(client, url, args.requests, HTTP_ACCEPT_LANGUAGE="hi")
            pdf = latencies(client, f"{url}?format=pdf", pdf_requests)
            pdf_hi = latencies(client, f"{url}?format=pdf", pdf_requests, HTTP_ACCEPT_LANGUAGE="hi")
            size = len(client.get(f"{url}?format=pdf").content)
            size_hi = len(client.get(f"{url}?format=pdf", HTTP_ACCEPT_LANGUAGE="hi").content)

    def line(name: str, values: list[float], target: int) -> str:
        verdict = "met" if ms(values) < target else "MISSED"
        return (f"   {name}: p50 {ms(values):7.2f} ms   p99 {ms(values, 99):7.2f} ms   ({len(values)} requests; "
                f"target p50 < {target} ms: {verdict})")

    report("Receipt: GET <payment_intent>/receipt/ (EUR, coupon, VAT 19%, two refunds)", [
        line("HTML, English", html, HTML_TARGET_MS),
        line("HTML, Hindi  ", html_hi, HTML_TARGET_MS),
        line("PDF, English ", pdf, PDF_TARGET_MS),
        line("PDF, Hindi   ", pdf_hi, PDF_TARGET_MS),
        f"   PDF size: {size / 1024:.1f} KiB (English), {size_hi / 1024:.1f} KiB (Hindi: Devanagari glyphs too)",
    ])


if __name__ == "__main__":
    main()
