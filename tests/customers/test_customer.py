"""The user's Stripe Customer: made once per user and mode, with the e-mail address and the
installation mark; a missing one replaced once; one not marked as ours never used."""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext

import pytest
from django.conf import settings
from django.test.utils import override_settings

from django_apranova_payments import exceptions
from django_apranova_payments.customers import customer_idempotency_key, customer_metadata, is_own_customer
from django_apranova_payments.gateway import CustomerData
from django_apranova_payments.metadata import MARK, USER
from django_apranova_payments.models import Customer
from django_apranova_payments.services.customers import customer_for
from tests.factories import UserFactory

from .conftest import create


def test_the_first_saved_card_creates_the_customer_with_email_and_mark(api, user, stripe_mock):
    response = create(api, {"amount": "19.99", "savePaymentMethod": True})

    assert response.status_code == 201, response.content
    row = Customer.objects.get(user=user)
    customer = stripe_mock.customers[row.stripe_customer]
    assert row.livemode is False and customer["livemode"] is False
    assert customer["email"] == user.email
    assert customer["metadata"][USER] == str(user.pk) and customer["metadata"][MARK]
    assert is_own_customer(CustomerData.from_dict(customer), user.pk, livemode=False)
    assert not is_own_customer(CustomerData.from_dict(customer), user.pk, livemode=True)
    assert not is_own_customer(CustomerData.from_dict(customer), UserFactory().pk, livemode=False)


def test_a_second_purchase_reuses_the_customer_without_asking_stripe(api, user, stripe_mock):
    create(api, {"amount": "19.99", "savePaymentMethod": True})
    create(api, {"amount": "29.99", "savePaymentMethod": True})

    assert len(stripe_mock.calls_to("create_customer")) == 1
    assert Customer.objects.filter(user=user).count() == 1
    first, second = stripe_mock.calls_to("create")
    assert first["params"]["customer"] == second["params"]["customer"] == Customer.objects.get().stripe_customer


def test_a_payment_without_saving_creates_no_customer(api, stripe_mock):
    assert create(api, {"amount": "19.99"}).status_code == 201

    assert not stripe_mock.customers and not Customer.objects.exists()


def test_live_keys_make_another_customer_for_the_same_user(user, stripe_mock):
    test_customer = customer_for(user)
    live = {**settings.APRANOVA_PAYMENTS, "STRIPE_SECRET_KEY": "sk_live_suite", "STRIPE_PUBLISHABLE_KEY": "pk_live_x"}
    with override_settings(APRANOVA_PAYMENTS=live):
        live_customer = customer_for(user)

    assert (test_customer.livemode, live_customer.livemode) == (False, True)
    assert test_customer.stripe_customer != live_customer.stripe_customer
    assert stripe_mock.customers[live_customer.stripe_customer]["livemode"] is True


def test_the_idempotency_key_is_one_per_user_mode_and_installation(user):
    key = customer_idempotency_key(user.pk, False, "a@example.com")

    assert key == customer_idempotency_key(user.pk, False, "a@example.com")
    assert key.startswith("apranova-customer-") and len(key) == len("apranova-customer-") + 64
    others = {
        customer_idempotency_key(user.pk, True, "a@example.com"),
        customer_idempotency_key(user.pk + 1, False, "a@example.com"),
        customer_idempotency_key(user.pk, False, "b@example.com"),
        customer_idempotency_key(user.pk, False, "a@example.com", replacing="cus_old"),
    }
    with override_settings(SECRET_KEY="another-installation-" + "x" * 40):
        others.add(customer_idempotency_key(user.pk, False, "a@example.com"))
    assert key not in others and len(others) == 5


@pytest.mark.parametrize("forgery", ["mark", "user", "mode", "deleted"])
def test_only_a_customer_marked_here_for_the_user_and_mode_is_ours(user, stripe_mock, forgery):
    data = dict(stripe_mock.customers[customer_for(user).stripe_customer])
    data["metadata"] = dict(data["metadata"])
    if forgery == "mark":
        data["metadata"][MARK] = "0" * 64
    elif forgery == "user":
        data["metadata"][USER] = str(UserFactory().pk)
    elif forgery == "mode":
        data["livemode"] = True
    else:
        data = {"id": data["id"], "object": "customer", "deleted": True}

    with pytest.raises(ValueError) if forgery == "deleted" else nullcontext():
        assert not is_own_customer(CustomerData.from_dict(data), user.pk, livemode=False)


def test_stripe_answering_with_a_customer_not_marked_for_the_user_stores_nothing(user, stripe_mock, caplog):
    customer_for(user)
    Customer.objects.all().delete()  # the row is lost; Stripe replays its first answer to the same key
    key = customer_idempotency_key(user.pk, False, user.email)
    fingerprint, (status, headers, body) = stripe_mock._replies[key]
    tampered = json.loads(body)
    tampered["metadata"][MARK] = "0" * 64
    stripe_mock._replies[key] = (fingerprint, (status, headers, json.dumps(tampered)))

    with caplog.at_level(logging.ERROR, "django_apranova_payments"), pytest.raises(exceptions.GatewayError):
        customer_for(user)

    assert not Customer.objects.exists()
    assert "not marked as made for them" in caplog.text


def test_a_customer_deleted_in_the_dashboard_is_replaced_once_and_logged(api, user, stripe_mock, caplog):
    stale = customer_for(user)
    stripe_mock.delete_in_dashboard(stale.stripe_customer)

    with caplog.at_level(logging.WARNING, "django_apranova_payments"):
        response = create(api, {"amount": "19.99", "savePaymentMethod": True})

    assert response.status_code == 201, response.content
    fresh = Customer.objects.get(user=user)
    assert fresh.stripe_customer != stale.stripe_customer and fresh.stripe_customer in stripe_mock.customers
    first, second = stripe_mock.calls_to("create")
    assert first["params"]["customer"] == stale.stripe_customer
    assert second["params"]["customer"] == fresh.stripe_customer
    assert stale.stripe_customer in caplog.text and "a new one replaces it" in caplog.text


def test_changed_keys_replace_the_customer_once_and_never_loop(api, user, stripe_mock):
    Customer.objects.create(user=user, stripe_customer="cus_ofTheOldAccount", livemode=False)
    # Stripe refuses the replacement too (it would, were the new keys broken): no third try.
    stripe_mock.fail_next("create", status=400, error_type="invalid_request_error", code="resource_missing",
                          message="No such customer", param="customer", times=2)

    response = create(api, {"amount": "19.99", "savePaymentMethod": True})

    assert response.status_code == 400, response.content
    first, second = stripe_mock.calls_to("create")
    assert first["params"]["customer"] == "cus_ofTheOldAccount"
    assert second["params"]["customer"] == Customer.objects.get(user=user).stripe_customer != "cus_ofTheOldAccount"
    assert first["headers"]["Idempotency-Key"] != second["headers"]["Idempotency-Key"]
    assert len(stripe_mock.calls_to("create_customer")) == 1 and not stripe_mock.intents


@override_settings(SECRET_KEY="tests-only-not-secret", SECRET_KEY_FALLBACKS=[])
def test_a_customers_mark_is_the_same_from_one_release_to_the_next():
    # The mark is stored at Stripe on every Customer made: a change to what it covers (the user,
    # the mode's word, the secret) would make every existing Customer look like someone else's.
    assert customer_metadata(42, livemode=False) == {
        USER: "42",
        MARK: "84ec8512ae3c1b2e0af6de7819587f5811a5ba6b910db898626ea18f30213dd9",
    }
    assert customer_metadata(42, livemode=True) == {
        USER: "42",
        MARK: "d3cbbcaad24326d2a339bdbaa1c75d76a209ad80b0d7b1a4db3c617e7cf48340",
    }
