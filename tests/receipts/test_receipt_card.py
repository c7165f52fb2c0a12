"""The card a payment was paid with, on its receipt: asked of Stripe once (the PaymentIntent
with its PaymentMethod expanded), kept as brand and last four digits only, and left out when
Stripe cannot say."""

from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader

from django_apranova_payments.models import Payment
from django_apranova_payments.testing import build_payment_intent

from .conftest import eur_exclusive, receipt_url, with_settings

pytestmark = pytest.mark.django_db


def paid_at_stripe(stripe_mock, payment: Payment) -> str:
    intent = build_payment_intent(payment, "succeeded")
    stripe_mock.intents[intent["id"]] = intent
    return str(intent["payment_method"])


def test_the_receipt_names_the_card_and_stripe_is_asked_once(seller, user, api, stripe_mock):
    payment = eur_exclusive(user, number=5)
    card = paid_at_stripe(stripe_mock, payment)
    stripe_mock.save_card(None, brand="mastercard", last4="4444")  # another card, not this payment's
    stripe_mock.payment_methods[card] = {**stripe_mock.save_card(None, brand="mastercard", last4="5454"), "id": card}

    first = api.get(receipt_url(payment)).content.decode()
    again = api.get(receipt_url(payment)).content.decode()
    pdf = api.get(receipt_url(payment, format="pdf")).content

    assert "Mastercard •••• 5454" in first and "Mastercard •••• 5454" in again
    assert "5454" in "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    calls = stripe_mock.calls_to("retrieve")
    assert len(calls) == 1 and calls[0]["params"]["expand"] == {"0": "payment_method"}
    payment.refresh_from_db()
    assert (payment.card_brand, payment.card_last4) == ("mastercard", "5454")


def test_stripe_out_of_reach_leaves_the_card_out_and_asks_again_next_time(seller, user, api, stripe_mock, caplog):
    payment = eur_exclusive(user, number=6)
    paid_at_stripe(stripe_mock, payment)
    stripe_mock.fail_next("retrieve", status=500)

    with with_settings(STRIPE_MAX_NETWORK_RETRIES=0):
        with caplog.at_level(logging.WARNING, logger="django_apranova_payments.receipts"):
            down = api.get(receipt_url(payment))
        up = api.get(receipt_url(payment)).content.decode()

    assert down.status_code == 200 and "••••" not in down.content.decode()
    assert "could not be asked for" in caplog.text
    assert "Visa •••• 4242" in up


def test_a_free_payment_asks_no_one(seller, user, api, stripe_mock):
    payment = eur_exclusive(user, number=7)
    Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent="free_0123", amount=0, amount_tax=0,
                                                 tax_breakdown=[])
    payment.refresh_from_db()

    response = api.get(receipt_url(payment))

    assert response.status_code == 200 and "••••" not in response.content.decode()
    assert stripe_mock.calls == []


def test_a_payment_not_made_by_card_names_its_method_and_is_asked_once(seller, user, api, stripe_mock):
    payment = eur_exclusive(user, number=8)
    method = paid_at_stripe(stripe_mock, payment)
    link = stripe_mock.save_card(None)
    stripe_mock.payment_methods[method] = {**link, "id": method, "type": "link", "card": None}

    first = api.get(receipt_url(payment)).content.decode()
    again = api.get(receipt_url(payment)).content.decode()

    assert "Paid with" in first and ">Link<" in first and "••••" not in first and ">Link<" in again
    assert len(stripe_mock.calls_to("retrieve")) == 1
