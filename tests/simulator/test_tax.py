"""Stripe Tax, offline: the simulator prices a taxed payment from its rate table, records the
tax transaction when the payment succeeds and a reversal for each refund, in its admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from django_apranova_payments import services
from django_apranova_payments.exceptions import TaxLocationInvalid
from django_apranova_payments.gateway import get_gateway
from django_apranova_payments.models import Payment
from django_apranova_payments.simulator.models import SimulatedPaymentIntent
from django_apranova_payments.simulator.tax_models import SimulatedTaxCalculation, SimulatedTaxTransaction

TAX = {"TAX": {"tax_code": "txcd_10000000", "behavior": "exclusive"}, "SELLER": {"name": "ApraNova Academy"},
       "CURRENCIES": ["usd", "eur", "inr", "jpy"]}
CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2099", "cvc": "123"}


@pytest.fixture
def taxed(simulator_settings: Any) -> Any:
    simulator_settings.APRANOVA_PAYMENTS = {**simulator_settings.APRANOVA_PAYMENTS, **TAX}
    return simulator_settings


def create(api: Any, amount: str, currency: str, address: dict[str, str]) -> Any:
    return api.post(reverse("apranova_payments:create-payment"),
                    {"amount": amount, "currency": currency, "billingAddress": address}, format="json")


def pay(api: Any, body: dict[str, Any]) -> Payment:
    confirmed = APIClient().post(
        reverse("apranova_payments_simulator:confirm", args=[body["paymentIntent"]]),
        {"client_secret": body["clientSecret"], "payment_method_data": {"card": CARD}}, format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    api.post(reverse("apranova_payments:update-status"), {"paymentIntent": body["paymentIntent"]}, format="json")
    return Payment.objects.get(stripe_payment_intent=body["paymentIntent"])


@pytest.mark.parametrize(("currency", "amount", "country", "tax", "total"), [
    ("eur", "100.00", "DE", 1900, 11900),
    ("inr", "4999.00", "IN", 89982, 589882),
    ("jpy", "1999", "JP", 200, 2199),
    ("usd", "50.00", "US", 0, 5000),
])
def test_a_taxed_payment_is_priced_linked_and_recorded(api, taxed, currency, amount, country, tax, total):
    address = {"country": country, "postalCode": "94107" if country == "US" else "10115"}
    created = create(api, amount, currency, address)
    assert created.status_code == 201, created.content

    intent = SimulatedPaymentIntent.objects.get()
    calculation = SimulatedTaxCalculation.objects.get()
    assert (intent.amount, intent.tax_calculation) == (total, calculation.calculation_id)
    assert (calculation.tax_amount, calculation.amount_total) == (tax, total)
    assert not SimulatedTaxTransaction.objects.exists()

    payment = pay(api, created.json())

    assert payment.status == "succeeded" and payment.amount_minor == total
    [transaction] = SimulatedTaxTransaction.objects.all()
    assert (transaction.kind, transaction.amount_tax, transaction.intent) == ("transaction", tax, intent)


def test_refunds_reverse_shares_that_add_up_to_the_tax(api, taxed, user):
    payment = pay(api, create(api, "100.00", "eur", {"country": "DE"}).json())

    services.refund_payment(payment, Decimal("30.00"), requested_by=user)
    services.refund_payment(payment, requested_by=user)

    reversals = SimulatedTaxTransaction.objects.filter(kind="reversal").order_by("created_at", "pk")
    assert [(r.amount, r.amount_tax) for r in reversals] == [(-3000, -479), (-8900, -1421)]
    assert -sum(r.amount_tax for r in reversals) == 1900


def test_the_simulator_refuses_an_address_stripe_could_not_place(taxed, db):
    with pytest.raises(TaxLocationInvalid):
        get_gateway().calculate_tax(amount=100, currency="usd", address={"country": "US"}, tax_code="txcd_10000000",
                                    behavior="exclusive", reference="x", idempotency_key="k")
    assert not SimulatedTaxCalculation.objects.exists()


def test_the_simulator_admin_lists_calculations_and_transactions(api, taxed, client, db):
    pay(api, create(api, "100.00", "eur", {"country": "DE"}).json())
    staff = get_user_model().objects.create_superuser("taxstaff", "tax@example.com", "pw")
    client.force_login(staff)

    calculations = client.get(reverse("admin:apranova_simulator_simulatedtaxcalculation_changelist"))
    transactions = client.get(reverse("admin:apranova_simulator_simulatedtaxtransaction_changelist"))

    assert calculations.status_code == 200 and transactions.status_code == 200
    assert SimulatedTaxCalculation.objects.get().calculation_id in calculations.text
    assert SimulatedTaxTransaction.objects.get().transaction_id in transactions.text


def test_the_receipt_of_a_simulated_payment_names_its_card(api, taxed):
    payment = pay(api, create(api, "100.00", "eur", {"country": "DE"}).json())

    receipt = api.get(reverse("apranova_payments:payment-receipt", args=[payment.stripe_payment_intent]))

    assert receipt.status_code == 200, receipt.content
    assert "Visa •••• 4242" in receipt.content.decode() and "VAT 19% (DE)" in receipt.content.decode()
