"""create-payment with ``savePaymentMethod`` (the PaymentIntent saves the card on the
student's Customer) and ``paymentMethod`` (one click with a saved card, only the student's own)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from django_apranova_payments.charges import Charge
from django_apranova_payments.models import Customer, Payment
from django_apranova_payments.services import create_payment
from django_apranova_payments.services.customers import customer_for
from tests.factories import UserFactory

from .conftest import create

NOT_YOURS = {"paymentMethod": ["This is not one of your saved cards."]}


def test_save_payment_method_puts_the_customer_and_on_session_usage_on_the_intent(api, user, stripe_mock):
    response = create(api, {"amount": "19.99", "savePaymentMethod": True})

    assert response.status_code == 201, response.content
    params = stripe_mock.calls_to("create")[0]["params"]
    assert params["customer"] == Customer.objects.get(user=user).stripe_customer
    assert params["setup_future_usage"] == "on_session" and "payment_method" not in params


def test_a_card_paid_with_save_payment_method_is_saved_on_the_customer(api, user, stripe_mock):
    intent = create(api, {"amount": "19.99", "savePaymentMethod": True}).json()["paymentIntent"]
    paid = stripe_mock.set_status(intent, "succeeded")

    saved = stripe_mock.payment_methods[paid["payment_method"]]
    assert saved["customer"] == Customer.objects.get(user=user).stripe_customer


@pytest.mark.parametrize("body", [{"savePaymentMethod": True}, {"paymentMethod": "pm_123"}])
def test_the_card_fields_answer_400_while_saving_cards_is_off(api, stripe_mock, body):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "SAVE_PAYMENT_METHODS": False}):
        response = create(api, {"amount": "19.99", **body})

    assert response.status_code == 400 and list(response.json()) == list(body)
    assert not stripe_mock.calls and not Payment.objects.exists()


@pytest.mark.parametrize("value", ["", "card_123", "pm_", "pm_12 3", "pm_" + "x" * 251, 12])
def test_a_payment_method_that_is_no_id_answers_400(api, stripe_mock, value):
    response = create(api, {"amount": "19.99", "paymentMethod": value})

    assert response.status_code == 400 and "paymentMethod" in response.json()
    assert not stripe_mock.calls


def test_saving_and_paying_with_a_saved_card_at_once_answers_400(api, stripe_mock):
    response = create(api, {"amount": "19.99", "savePaymentMethod": True, "paymentMethod": "pm_123"})

    assert response.status_code == 400 and "savePaymentMethod" in response.json()


def test_one_click_creates_the_intent_with_the_customer_and_card_unconfirmed(api, user, stripe_mock, saved_card):
    response = create(api, {"amount": "19.99", "paymentMethod": saved_card["id"]})

    assert response.status_code == 201, response.content
    params = stripe_mock.calls_to("create")[0]["params"]
    assert params["customer"] == saved_card["customer"] and params["payment_method"] == saved_card["id"]
    assert not {"confirm", "off_session", "setup_future_usage"} & params.keys()
    intent = stripe_mock.intents[response.json()["paymentIntent"]]
    assert intent["status"] == "requires_payment_method" and response.json()["clientSecret"]


def test_one_click_asks_stripe_twice_and_runs_the_statements_of_create_payment(api, user, stripe_mock, saved_card):
    create(api, {"amount": "19.99"})  # warm caches (content types, settings)
    stripe_mock.calls.clear()
    with CaptureQueriesContext(connection) as plain:
        assert create(api, {"amount": "19.99"}).status_code == 201
    stripe_mock.calls.clear()
    with CaptureQueriesContext(connection) as one_click:
        assert create(api, {"amount": "19.99", "paymentMethod": saved_card["id"]}).status_code == 201

    assert [call["action"] for call in stripe_mock.calls] == ["retrieve_payment_method", "create"]
    assert shapes(one_click) == shapes(plain)


def shapes(captured: CaptureQueriesContext) -> list[str]:
    """The statements with their values left out."""
    return [re.sub(r"'[^']*'|\"s\d+_x\d+\"|\b\d+\b", "?", query["sql"]) for query in captured.captured_queries]


@pytest.mark.parametrize("whose", ["another user's", "attached to no one", "unknown", "another site's"])
def test_a_card_that_is_not_the_callers_answers_400_and_creates_no_intent(api, user, stripe_mock, whose):
    customer_for(user)
    if whose == "another user's":
        card = stripe_mock.save_card(customer_for(UserFactory()).stripe_customer)["id"]
    elif whose == "attached to no one":
        card = stripe_mock.save_card(None)["id"]
    elif whose == "another site's":
        Customer.objects.all().delete()
        with override_settings(SECRET_KEY="another-site-" + "z" * 40):
            other = customer_for(user).stripe_customer  # the same user pk, on the other site
        Customer.objects.filter(stripe_customer=other).delete()
        customer_for(user)
        card = stripe_mock.save_card(other)["id"]
    else:
        card = "pm_doesNotExist"

    response = create(api, {"amount": "19.99", "paymentMethod": card})

    assert response.status_code == 400 and response.json() == NOT_YOURS
    assert not stripe_mock.calls_to("create") and not stripe_mock.intents and not Payment.objects.exists()


def test_a_live_card_of_the_student_is_not_theirs_under_test_keys(api, user, stripe_mock):
    live = {**settings.APRANOVA_PAYMENTS, "STRIPE_SECRET_KEY": "sk_live_suite", "STRIPE_PUBLISHABLE_KEY": "pk_live_x"}
    with override_settings(APRANOVA_PAYMENTS=live):
        card = stripe_mock.save_card(customer_for(user).stripe_customer)["id"]

    response = create(api, {"amount": "19.99", "paymentMethod": card})

    assert response.status_code == 400 and response.json() == NOT_YOURS


def test_host_code_pays_with_a_saved_card_without_drf(user, stripe_mock, saved_card):
    created = create_payment(user, Charge.of("19.99", "usd", {}), payment_method=saved_card["id"])

    intent = stripe_mock.intents[created.payment.stripe_payment_intent]
    assert intent["payment_method"] == saved_card["id"] and intent["customer"] == saved_card["customer"]


def test_a_retry_with_the_idempotency_key_returns_the_one_click_payment(api, user, stripe_mock, saved_card):
    body: dict[str, Any] = {"amount": "19.99", "paymentMethod": saved_card["id"]}
    first = create(api, body, HTTP_IDEMPOTENCY_KEY="k1")
    again = create(api, body, HTTP_IDEMPOTENCY_KEY="k1")
    other = create(api, {**body, "paymentMethod": None}, HTTP_IDEMPOTENCY_KEY="k1")

    assert again.json()["paymentIntent"] == first.json()["paymentIntent"] and len(stripe_mock.intents) == 1
    assert other.status_code == 422
