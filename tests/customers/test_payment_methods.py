"""GET payment-methods/ (only the caller's cards, only their brand, last four digits and
expiry, newest first) and DELETE payment-methods/<pm>/ (only the caller's own; another's 404)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test.utils import override_settings
from rest_framework.test import APIClient

from django_apranova_payments.models import Customer
from django_apranova_payments.services.customers import customer_for
from tests.factories import UserFactory

from .conftest import LIST_URL, detail_url

CARD_KEYS = ["id", "brand", "last4", "expMonth", "expYear", "expired"]


def test_the_list_shows_only_the_callers_cards_newest_first(api, user, stripe_mock, saved_card):
    newer = stripe_mock.save_card(saved_card["customer"], brand="mastercard", last4="4444", exp_month=1,
                                  exp_year=2031, created=int(time.time()) + 60)
    stripe_mock.save_card(customer_for(UserFactory()).stripe_customer, last4="1881")
    stripe_mock.save_card(None, last4="0005")

    response = api.get(LIST_URL)

    assert response.status_code == 200
    assert response.json() == [
        {"id": newer["id"], "brand": "mastercard", "last4": "4444", "expMonth": 1, "expYear": 2031, "expired": False},
        {"id": saved_card["id"], "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2034, "expired": False},
    ]


def test_an_expired_card_says_so(api, user, stripe_mock):
    stripe_mock.save_card(customer_for(user).stripe_customer, exp_month=1, exp_year=2020)

    [card] = api.get(LIST_URL).json()

    assert list(card) == CARD_KEYS and card["expired"] is True


def test_a_student_who_never_saved_a_card_costs_no_stripe_call(api, stripe_mock):
    assert api.get(LIST_URL).json() == []
    assert not stripe_mock.calls and not Customer.objects.exists()


def test_a_customer_stripe_lost_is_forgotten_and_logged(api, user, stripe_mock, caplog):
    stale = customer_for(user).stripe_customer
    stripe_mock.delete_in_dashboard(stale)

    with caplog.at_level(logging.WARNING, "django_apranova_payments"):
        assert api.get(LIST_URL).json() == []

    assert not Customer.objects.exists() and stale in caplog.text


def test_nothing_of_the_card_beyond_the_listed_fields_is_logged(api, user, stripe_mock, saved_card, caplog):
    with caplog.at_level(logging.DEBUG):
        api.get(LIST_URL)
        api.delete(detail_url(saved_card["id"]))

    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("django_apranova_payments"))
    card = saved_card["card"]
    assert saved_card["id"] in ours  # the id is one of the listed fields
    for private in (card["fingerprint"], saved_card["billing_details"]["email"], card["country"], "2034"):
        assert private not in ours


def test_deleting_a_saved_card_detaches_it(api, user, stripe_mock, saved_card):
    response = api.delete(detail_url(saved_card["id"]))

    assert response.status_code == 204
    assert stripe_mock.payment_methods[saved_card["id"]]["customer"] is None
    assert [call["action"] for call in stripe_mock.calls[-2:]] == ["retrieve_payment_method", "detach_payment_method"]
    assert api.get(LIST_URL).json() == []


@pytest.mark.parametrize("whose", ["another user's", "unknown", "attached to no one", "not an id"])
def test_deleting_a_card_that_is_not_the_callers_answers_404(api, user, stripe_mock, whose):
    customer_for(user)
    card = {
        "another user's": lambda: stripe_mock.save_card(customer_for(UserFactory()).stripe_customer)["id"],
        "unknown": lambda: "pm_doesNotExist",
        "attached to no one": lambda: stripe_mock.save_card(None)["id"],
        "not an id": lambda: "pm_a.b",
    }[whose]()

    response = api.delete(detail_url(card))

    assert response.status_code == 404
    assert not stripe_mock.calls_to("detach_payment_method")
    assert all(method["customer"] != customer_for(user).stripe_customer or whose == "attached to no one"
               for method in stripe_mock.payment_methods.values())


def test_another_users_card_stays_attached_after_a_delete_attempt(api, stripe_mock):
    owner_customer = customer_for(UserFactory()).stripe_customer
    card = stripe_mock.save_card(owner_customer)

    assert api.delete(detail_url(card["id"])).status_code == 404
    assert stripe_mock.payment_methods[card["id"]]["customer"] == owner_customer


def test_anonymous_callers_are_refused(stripe_mock):
    assert APIClient().get(LIST_URL).status_code in (401, 403)
    assert APIClient().delete(detail_url("pm_123")).status_code in (401, 403)


def test_the_endpoints_are_throttled_with_their_own_rate(user, stripe_mock):
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cards"}}
    rates = {**settings.APRANOVA_PAYMENTS, "SAVE_PAYMENT_METHODS": True, "THROTTLE_RATES": {"payment_methods": "2/min"}}
    client = APIClient()
    client.force_authenticate(user)
    with override_settings(CACHES=caches, APRANOVA_PAYMENTS=rates):
        cache.clear()
        answers = [client.get(LIST_URL).status_code, client.delete(detail_url("pm_1")).status_code,
                   client.get(LIST_URL)]
        cache.clear()

    assert answers[:2] == [200, 404] and answers[2].status_code == 429 and "Retry-After" in answers[2].headers
    assert json.loads(answers[2].content)["detail"]
