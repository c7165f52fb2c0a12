"""The admin's Customer pages: the user's Customer and saved cards, read-only, live from Stripe
(cached), and the "Forget saved cards" action behind forget_payment_methods."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments.models import Customer
from tests.factories import staff_holding

CHANGELIST = reverse("admin:apranova_payments_customer_changelist")


def change_url(customer: Customer) -> str:
    return reverse("admin:apranova_payments_customer_change", args=[customer.pk])


def logged_in(*permissions: str) -> Client:
    client = Client()
    client.force_login(staff_holding(*permissions))
    return client


def forget(client: Client, customer: Customer) -> Any:
    return client.post(CHANGELIST, {"action": "forget_cards", "_selected_action": [customer.pk]}, follow=True)


@pytest.fixture
def locmem_cache() -> Any:
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "admin-cards"}}
    with override_settings(CACHES=caches):
        cache.clear()
        yield
        cache.clear()


def test_the_customer_page_shows_the_saved_cards_read_only(user, saved_card):
    page = logged_in("view_customer").get(change_url(Customer.objects.get(user=user)))

    assert page.status_code == 200
    html = page.content.decode()
    assert "visa •••• 4242" in html and "12/2034" in html and saved_card["id"] in html
    assert 'name="_save"' not in html and 'name="stripe_customer"' not in html


def test_the_cards_are_kept_a_minute_in_the_cache(user, saved_card, stripe_mock, locmem_cache):
    client = logged_in("view_customer")
    url = change_url(Customer.objects.get(user=user))
    client.get(url)
    client.get(url)

    assert len(stripe_mock.calls_to("list_payment_methods")) == 1


def test_staff_without_the_permission_are_not_offered_the_action(user, saved_card, stripe_mock):
    client = logged_in("view_customer", "change_customer")
    page = client.get(CHANGELIST)

    assert "forget_cards" not in page.content.decode()
    forget(client, Customer.objects.get(user=user))
    assert stripe_mock.payment_methods[saved_card["id"]]["customer"] == saved_card["customer"]


def test_forget_cards_detaches_every_card_with_its_own_permission(user, saved_card, stripe_mock, locmem_cache):
    stripe_mock.save_card(saved_card["customer"], last4="4444")
    client = logged_in("view_customer", "forget_payment_methods")
    customer = Customer.objects.get(user=user)
    client.get(change_url(customer))  # cached

    answer = forget(client, customer)

    assert "2 saved card(s) forgotten." in answer.content.decode()
    assert all(method["customer"] is None for method in stripe_mock.payment_methods.values())
    assert "None" in client.get(change_url(customer)).content.decode()


def test_nobody_adds_edits_or_deletes_a_customer_by_hand(user, saved_card):
    client = Client()
    client.force_login(staff_holding("view_customer", "add_customer", "change_customer", "delete_customer"))
    customer = Customer.objects.get(user=user)

    assert client.get(reverse("admin:apranova_payments_customer_add")).status_code == 403
    assert client.post(change_url(customer), {"stripe_customer": "cus_x"}).status_code == 403
    assert client.get(reverse("admin:apranova_payments_customer_delete", args=[customer.pk])).status_code == 403
