"""The Stripe gateway's Customer and PaymentMethod calls, against the strict StripeMock: what
is sent is what stripe-python's types allow, and Stripe's errors become the package's."""

from __future__ import annotations

import pytest
import stripe

from django_apranova_payments import exceptions
from django_apranova_payments.gateway import get_gateway


def test_create_customer_sends_email_metadata_and_the_idempotency_key(stripe_mock):
    customer = get_gateway().create_customer(email="a@example.com", metadata={"k": "v"}, idempotency_key="key-1")

    [call] = stripe_mock.calls_to("create_customer")
    assert call["params"] == {"email": "a@example.com", "metadata": {"k": "v"}}
    assert call["headers"]["Idempotency-Key"] == "key-1"
    assert (customer.id, customer.metadata, customer.livemode) == (
        stripe_mock.customers[customer.id]["id"], {"k": "v"}, False)


def test_a_customer_without_email_is_created_without_one(stripe_mock):
    get_gateway().create_customer(email=None, metadata={"k": "v"}, idempotency_key="key-2")

    assert "email" not in stripe_mock.calls_to("create_customer")[0]["params"]


def test_retrieve_payment_method_expands_the_customer_and_keeps_only_the_card_fields(stripe_mock):
    customer = get_gateway().create_customer(email=None, metadata={"k": "v"}, idempotency_key="key-3")
    saved = stripe_mock.save_card(customer.id, brand="amex", last4="0005", exp_month=3, exp_year=2031)

    method = get_gateway().retrieve_payment_method(saved["id"])

    assert stripe_mock.calls_to("retrieve_payment_method")[0]["params"] == {"expand": {"0": "customer"}}
    assert method.customer == customer and method.customer_id == customer.id
    assert (method.brand, method.last4, method.exp_month, method.exp_year) == ("amex", "0005", 3, 2031)


def test_list_and_detach_payment_methods(stripe_mock):
    customer = get_gateway().create_customer(email=None, metadata={"k": "v"}, idempotency_key="key-4")
    saved = stripe_mock.save_card(customer.id)

    assert [m.id for m in get_gateway().list_payment_methods(customer.id)] == [saved["id"]]
    assert stripe_mock.calls_to("list_payment_methods")[0]["params"] == {
        "customer": customer.id, "type": "card", "limit": "100"}
    get_gateway().detach_payment_method(saved["id"])
    assert get_gateway().list_payment_methods(customer.id) == []


def test_a_missing_object_names_the_parameter(stripe_mock):
    with pytest.raises(exceptions.GatewayResourceMissing) as missing:
        get_gateway().list_payment_methods("cus_gone")

    assert missing.value.param == "customer" and missing.value.status_code == 400


def test_deleting_a_customer_stripe_no_longer_has_is_done(stripe_mock):
    get_gateway().delete_customer("cus_gone")

    assert stripe_mock.calls_to("delete_customer")


def test_stripe_away_while_deleting_a_customer_is_worth_retrying(stripe_mock):
    stripe_mock.fail_next("delete_customer", status=500)

    with pytest.raises(exceptions.GatewayUnavailable):
        get_gateway().delete_customer("cus_x")


def test_the_strict_mock_refuses_an_unknown_customer_parameter(stripe_mock):
    client = get_gateway()._client  # type: ignore[attr-defined]

    with pytest.raises(stripe.InvalidRequestError, match="Received unknown parameter: emial"):
        client.v1.customers.create(params={"emial": "a@example.com"})
