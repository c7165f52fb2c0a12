"""The admin's payment page: the receipt number and a link to the receipt."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PaymentFactory, UserFactory

from .conftest import eur_exclusive, receipt_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def page(client: Client, payment) -> str:
    response = client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_payment_page_shows_the_number_and_links_the_receipt(seller, user, admin_client):
    payment = eur_exclusive(user, number=42)
    html = page(admin_client, payment)
    assert "R-000042" in html
    assert f'href="{receipt_url(payment)}"' in html
    assert "View receipt" in html
    assert admin_client.get(receipt_url(payment)).status_code == 200  # the link works for a superuser


def test_no_link_while_receipts_are_off_or_the_payment_has_not_succeeded(seller, user, admin_client, settings):
    pending = PaymentFactory(user=user)
    assert "View receipt" not in page(admin_client, pending)
    paid = eur_exclusive(user, number=1)
    settings.APRANOVA_PAYMENTS = {key: value for key, value in settings.APRANOVA_PAYMENTS.items() if key != "SELLER"}
    assert "View receipt" not in page(admin_client, paid)
