"""Saved cards in the offline simulator: save a card with 4242 and pay with it in one click;
a card that asks for 3-D Secure (3155) asks again when it is paid with again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from django_apranova_payments.gateway import get_gateway
from django_apranova_payments.models import Customer
from django_apranova_payments.simulator.models import SimulatedCustomer, SimulatedPaymentMethod

from .test_gateway import AUTHENTICATE, SUCCEEDS, authenticate, confirm, create, update_status


def cards(api: Any) -> Any:
    return api.get(reverse("apranova_payments:payment-method-list")).json()


@pytest.fixture(autouse=True)
def saving_cards(simulator_settings: Any) -> None:
    simulator_settings.APRANOVA_PAYMENTS = {**simulator_settings.APRANOVA_PAYMENTS, "SAVE_PAYMENT_METHODS": True}


def one_click(client: Any, created: dict[str, Any]) -> Any:
    return client.post(
        reverse("apranova_payments_simulator:confirm", args=[created["paymentIntent"]]),
        data=json.dumps({"client_secret": created["clientSecret"]}), content_type="application/json",
    )


def save(api: Any, client: Any, number: str) -> dict[str, Any]:
    """Pay with ``number``, saving it (through 3-D Secure when it asks); the saved card."""
    created = create(api, savePaymentMethod=True).json()
    answer = confirm(client, created, number).json()
    if answer["status"] == "requires_action":
        authenticate(client, created, "complete")
    assert update_status(api, created).json()["status"] == "succeeded"
    [card] = cards(api)
    return card


def test_a_card_paid_with_save_payment_method_is_listed(api, client, user):
    card = save(api, client, SUCCEEDS)

    assert card == {"id": card["id"], "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2099,
                    "expired": False}
    customer = SimulatedCustomer.objects.get()
    assert Customer.objects.get(user=user).stripe_customer == customer.customer_id
    assert customer.email == user.email and customer.metadata["apranova_user"] == str(user.pk)


def test_a_saved_4242_pays_in_one_click(api, client):
    card = save(api, client, SUCCEEDS)
    created = create(api, paymentMethod=card["id"]).json()

    answer = one_click(client, created)

    assert answer.status_code == 200 and answer.json()["status"] == "succeeded"
    assert update_status(api, created).json()["status"] == "succeeded"


def test_a_saved_3155_asks_for_3d_secure_again(api, client):
    card = save(api, client, AUTHENTICATE)
    created = create(api, paymentMethod=card["id"]).json()

    answer = one_click(client, created).json()

    assert answer["status"] == "requires_action" and answer["next_action"]["type"] == "redirect_to_url"
    authenticate(client, created, "complete")
    assert update_status(api, created).json()["status"] == "succeeded"


def test_a_card_declined_while_saving_is_not_saved(api, client):
    created = create(api, savePaymentMethod=True).json()
    confirm(client, created, "4000 0000 0000 9995")

    assert cards(api) == []


def test_another_students_simulated_card_is_refused(api, client, other_user):
    card = save(api, client, SUCCEEDS)
    thief = type(api)()
    thief.force_authenticate(other_user)

    response = create(thief, paymentMethod=card["id"])

    assert response.status_code == 400 and list(response.json()) == ["paymentMethod"]
    assert thief.delete(reverse("apranova_payments:payment-method-detail", args=[card["id"]])).status_code == 404


def test_removing_a_card_and_deleting_the_customer_forget_simulated_cards(api, client, user):
    card = save(api, client, SUCCEEDS)

    assert api.delete(reverse("apranova_payments:payment-method-detail", args=[card["id"]])).status_code == 204
    assert cards(api) == [] and SimulatedPaymentMethod.objects.get().customer is None
    get_gateway().delete_customer(Customer.objects.get(user=user).stripe_customer)
    assert not SimulatedCustomer.objects.exists() and cards(api) == [] and not Customer.objects.exists()
