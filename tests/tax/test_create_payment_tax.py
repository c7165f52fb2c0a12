"""create-payment with ``TAX``: Stripe Tax prices the charge after the coupon (exact minor
units), the PaymentIntent charges the calculation's total linked to it, and Stripe records
the tax transaction and its reversals (as the test kit shows)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments import services
from django_apranova_payments.metadata import TAX
from django_apranova_payments.models import Coupon, Payment
from django_apranova_payments.testing import build_event, post_event

CREATE = reverse("apranova_payments:create-payment")
SELLER = {"name": "ApraNova Academy", "address": "1 Main St\nBerlin", "tax_id": "DE123456789"}
DE = {"country": "DE", "postalCode": "10115"}
IN = {"country": "IN", "postalCode": "560001", "state": "KA"}
JP = {"country": "JP", "postalCode": "100-0001"}


def taxed(behavior: str = "exclusive", **extra: Any) -> Any:
    return override_settings(APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS, "CURRENCIES": ["usd", "eur", "inr", "jpy"],
        "TAX": {"tax_code": "txcd_10000000", "behavior": behavior}, "SELLER": SELLER, **extra,
    })


def create(api: Any, body: dict[str, Any], **headers: Any) -> Any:
    return api.post(CREATE, data=json.dumps(body), content_type="application/json", **headers)


# (currency, price, address, behaviour, tax in minor units, total in minor units)
EXACT = [
    ("eur", "100.00", DE, "exclusive", 1900, 11900),
    ("eur", "100.00", DE, "inclusive", 1597, 10000),     # 10000 * 19/119 = 1596.64
    ("inr", "4999.00", IN, "exclusive", 89982, 589882),
    ("inr", "4999.00", IN, "inclusive", 76256, 499900),  # 499900 * 18/118 = 76255.93
    ("jpy", "1999", JP, "exclusive", 200, 2199),          # 199.9, half up
    ("jpy", "1999", JP, "inclusive", 182, 1999),          # 1999 * 10/110 = 181.73
]


@pytest.mark.parametrize(("currency", "price", "address", "behavior", "tax", "total"), EXACT)
def test_tax_is_calculated_charged_and_stored_exactly(api, stripe_mock, currency, price, address, behavior, tax,
                                                      total):
    with taxed(behavior):
        response = create(api, {"amount": price, "currency": currency, "billingAddress": address})

    assert response.status_code == 201, response.content
    assert [call["action"] for call in stripe_mock.calls] == ["create_tax_calculation", "create"]  # exactly 2 calls
    sent_calc = stripe_mock.calls[0]["params"]
    line = sent_calc["line_items"]["0"]
    assert (line["amount"], line["tax_behavior"], line["tax_code"]) == (
        str(int(Decimal(price) * (1 if currency == "jpy" else 100))), behavior, "txcd_10000000")
    assert sent_calc["customer_details"]["address"]["country"] == address["country"]
    sent_intent = stripe_mock.calls[1]["params"]
    calc_id = next(iter(stripe_mock.tax_calculations))
    assert sent_intent["amount"] == str(total)
    assert sent_intent["hooks"] == {"inputs": {"tax": {"calculation": calc_id}}}
    assert sent_intent["metadata"][TAX] == str(tax)

    payment = Payment.objects.get()
    assert payment.amount_minor == total and payment.tax_calculation == calc_id
    assert payment.amount_tax == Decimal(tax) / (1 if currency == "jpy" else 100)
    assert payment.billing_address["country"] == address["country"]
    [row] = payment.tax_breakdown
    assert row["amount"] == tax and row["inclusive"] is (behavior == "inclusive")
    assert row["country"] == address["country"]
    body = response.json()
    places = 0 if currency == "jpy" else 2
    assert body["amountTax"] == f"{Decimal(tax).scaleb(-places):.{places}f}"
    assert body["amount"] == f"{Decimal(total).scaleb(-places):.{places}f}"


def test_the_tax_is_calculated_on_the_discounted_price(api, stripe_mock):
    Coupon.objects.create(code="SPRING25", percent_off=Decimal(25))
    with taxed():
        response = create(api, {"amount": "100.00", "currency": "eur", "coupon": "SPRING25", "billingAddress": DE})

    assert response.status_code == 201, response.content
    assert stripe_mock.calls[0]["params"]["line_items"]["0"]["amount"] == "7500"
    payment = Payment.objects.get()
    assert (payment.discount, payment.amount_tax, payment.amount) == (
        Decimal("25.00"), Decimal("14.25"), Decimal("89.25"))


def test_partial_refunds_reverse_shares_of_the_tax_that_add_up(api, stripe_mock):
    with taxed():
        response = create(api, {"amount": "100.00", "currency": "eur", "billingAddress": DE})
        intent_id = response.json()["paymentIntent"]
        stripe_mock.set_status(intent_id, "succeeded")
        assert stripe_mock.tax_transaction_of(intent_id) is not None
        payment = services.refresh_payment(Payment.objects.get()).payment
        services.refund_payment(payment, Decimal("30.00"))
        assert stripe_mock.tax_reversed(intent_id) == 479  # 1900 * 3000/11900 = 478.99
        stripe_mock.refund_in_dashboard(intent_id)  # the rest, from Stripe's Dashboard

    # The refund request names the PaymentIntent, as Stripe's automatic reversals need.
    assert stripe_mock.calls_to("refund")[0]["params"]["payment_intent"] == intent_id
    assert stripe_mock.tax_reversed(intent_id) == 1900


@pytest.mark.parametrize("body", [
    {"amount": "100.00", "currency": "eur"},
    {"amount": "100.00", "currency": "eur", "billingAddress": None},
])
def test_a_taxed_payment_needs_a_billing_address(api, stripe_mock, body):
    with taxed():
        response = create(api, body)

    assert response.status_code == 400
    assert set(response.json()) == {"billingAddress"}
    assert stripe_mock.calls == [] and not Payment.objects.exists()


@pytest.mark.parametrize(("address", "words"), [
    ({"postalCode": "10115"}, "country is required"),
    ({"country": "XX"}, "ISO 3166"),
    ({"country": "DEU"}, "at most 2"),
    ({"country": 49}, "must be a string"),
    ({"country": "US", "postalCode": "ABCDE"}, "ZIP code"),
    ({"country": "US"}, "ZIP code"),
    ({"country": "CA"}, "postal code"),
    ({"country": "DE", "street": "x"}, "Unknown keys: street"),
    ({"country": "DE", "city": "B" * 101}, "at most 100"),
    ({"country": "DE", "line1": "a\u0007b"}, "printable"),
    ("DE", "An object"),
    (["DE"], "An object"),
])
def test_an_unusable_address_is_a_400_on_billing_address_before_stripe(api, stripe_mock, address, words):
    with taxed():
        response = create(api, {"amount": "100.00", "currency": "eur", "billingAddress": address})

    assert response.status_code == 400, response.content
    assert set(response.json()) == {"billingAddress"}
    assert words in " ".join(response.json()["billingAddress"])
    assert stripe_mock.calls == []


def test_an_address_stripe_cannot_tax_is_a_400_on_billing_address_and_no_payment_intent(api, stripe_mock):
    stripe_mock.fail_next("create_tax_calculation", status=400, error_type="invalid_request_error",
                          code="customer_tax_location_invalid", message="We could not determine the location.")
    with taxed():
        response = create(api, {"amount": "100.00", "currency": "eur", "billingAddress": DE})

    assert response.status_code == 400
    assert set(response.json()) == {"billingAddress"}
    assert stripe_mock.calls_to("create") == [] and not Payment.objects.exists()


def test_a_stripe_outage_while_calculating_is_a_503_and_nothing_is_stored(api, stripe_mock):
    stripe_mock.fail_next("create_tax_calculation", status=500, times=5)
    with taxed():
        response = create(api, {"amount": "100.00", "currency": "eur", "billingAddress": DE})

    assert response.status_code == 503
    assert stripe_mock.calls_to("create") == [] and not Payment.objects.exists()


def test_a_retry_replays_and_another_address_under_the_same_key_conflicts(api, stripe_mock):
    body = {"amount": "100.00", "currency": "eur", "billingAddress": DE}
    with taxed():
        first = create(api, body, HTTP_IDEMPOTENCY_KEY="k1")
        again = create(api, body, HTTP_IDEMPOTENCY_KEY="k1")
        elsewhere = create(api, {**body, "billingAddress": {"country": "FR"}}, HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["paymentIntent"] == first.json()["paymentIntent"]
    assert elsewhere.status_code == 422
    assert len(stripe_mock.calls_to("create_tax_calculation")) == 1


def test_a_lost_calculation_answer_is_retried_under_the_same_stripe_key(api, stripe_mock):
    stripe_mock.fail_next("create_tax_calculation", lost_response=True, status=500)
    body = {"amount": "100.00", "currency": "eur", "billingAddress": DE}
    with taxed(STRIPE_MAX_NETWORK_RETRIES=0):
        lost = create(api, body, HTTP_IDEMPOTENCY_KEY="k2")
        retried = create(api, body, HTTP_IDEMPOTENCY_KEY="k2")

    assert lost.status_code == 503 and retried.status_code == 201, retried.content
    calls = stripe_mock.calls_to("create_tax_calculation")
    assert len(calls) == 2 and calls[0]["headers"]["Idempotency-Key"] == calls[1]["headers"]["Idempotency-Key"]
    assert len(stripe_mock.tax_calculations) == 1


def test_without_tax_the_address_is_ignored_and_one_call_is_made(api, stripe_mock):
    response = create(api, {"amount": "100.00", "currency": "usd", "billingAddress": {"country": "nowhere"}})

    assert response.status_code == 201, response.content
    assert [call["action"] for call in stripe_mock.calls] == ["create"]
    payment = Payment.objects.get()
    assert payment.amount_tax == 0 and payment.billing_address == {} and payment.tax_calculation == ""


def test_a_free_payment_is_not_taxed(api, stripe_mock):
    Coupon.objects.create(code="FREE", percent_off=Decimal(100))
    with taxed(ALLOW_FREE=True):
        response = create(api, {"amount": "100.00", "currency": "eur", "coupon": "FREE"})

    assert response.status_code == 201, response.content
    assert stripe_mock.calls == []
    assert Payment.objects.get().amount_tax == 0



def test_a_lost_row_is_rebuilt_with_its_tax_and_numbered(api, client, stripe_mock):
    with taxed():
        pi = create(api, {"amount": "100.00", "currency": "eur", "billingAddress": DE}).json()["paymentIntent"]
        calc_id = Payment.objects.get().tax_calculation
        Payment.objects.all().delete()  # as if the process died between Stripe's answer and the INSERT

        response = post_event(client, build_event(stripe_mock.set_status(pi, "succeeded"), "payment_intent.succeeded"))

    assert response.status_code == 200
    rebuilt = Payment.objects.get(stripe_payment_intent=pi)
    assert (rebuilt.amount, rebuilt.amount_tax, rebuilt.tax_calculation, rebuilt.status) == (
        Decimal("119.00"), Decimal("19.00"), calc_id, "succeeded")
    assert rebuilt.receipt_number is not None


@pytest.mark.parametrize("forged", ["0", "1", "11900"])
def test_a_forged_tax_breaks_the_mark(api, client, stripe_mock, forged):
    with taxed():
        pi = create(api, {"amount": "100.00", "currency": "eur", "billingAddress": DE}).json()["paymentIntent"]
        Payment.objects.all().delete()
        intent = stripe_mock.set_status(pi, "succeeded")
        intent["metadata"][TAX] = forged

        assert post_event(client, build_event(intent, "payment_intent.succeeded")).status_code == 200

    assert not Payment.objects.exists()
