"""Fixtures of the saved-card tests: SAVE_PAYMENT_METHODS on, and a student with a card saved
on the Customer this installation made for them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments.services.customers import customer_for

CREATE_URL = reverse("apranova_payments:create-payment")
LIST_URL = reverse("apranova_payments:payment-method-list")


def detail_url(payment_method: str) -> str:
    return reverse("apranova_payments:payment-method-detail", args=[payment_method])


def create(api: Any, body: dict[str, Any], **headers: Any) -> Any:
    return api.post(CREATE_URL, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture(autouse=True)
def saving_cards() -> Any:
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "SAVE_PAYMENT_METHODS": True}):
        yield


@pytest.fixture
def saved_card(user: Any, stripe_mock: Any) -> dict[str, Any]:
    """A Visa •••• 4242 saved on ``user``'s own Customer."""
    customer = customer_for(user)
    return stripe_mock.save_card(customer.stripe_customer, brand="visa", last4="4242", exp_month=12, exp_year=2034)
