""""Analytics" on the admin's home page, under Payments (and on the app's page and in the
sidebar), only for staff who may view payments and whom ANALYTICS_PERMISSION_CLASSES let in."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

ANALYTICS = "admin:apranova_payments_payment_analytics"


def entries(response: Any) -> list[str]:
    assert response.status_code == 200
    app = next((a for a in response.context["app_list"] if a["app_label"] == "apranova_payments"), None)
    return [str(model["name"]) for model in app["models"]] if app else []


@pytest.mark.parametrize("page", ["admin:index", "apps"])
def test_analytics_is_listed_under_payments_for_whom_may_see_it(client, staff_with, page):
    client.force_login(staff_with("view_payment"))
    url = reverse("admin:app_list", args=["apranova_payments"]) if page == "apps" else reverse(page)

    response = client.get(url)

    names = entries(response)
    assert names[names.index("Payments") + 1] == "Analytics"
    assert f'<a href="{reverse(ANALYTICS)}">Analytics</a>' in response.content.decode()
    assert client.get(reverse(ANALYTICS)).status_code == 200


def test_analytics_is_in_the_sidebar_of_other_admin_pages(client, staff_with):
    client.force_login(staff_with("view_payment", "view_refund"))

    text = client.get(reverse("admin:apranova_payments_refund_changelist")).content.decode()

    assert f'<a href="{reverse(ANALYTICS)}">Analytics</a>' in text


def test_analytics_is_not_listed_without_the_permission_to_view_payments(client, staff_with):
    client.force_login(staff_with("view_refund", "view_coupon"))

    response = client.get(reverse("admin:index"))

    assert "Analytics" not in entries(response) and entries(response)
    assert reverse(ANALYTICS) not in response.content.decode()
    assert client.get(reverse(ANALYTICS)).status_code == 403


def test_analytics_is_not_listed_when_the_analytics_permission_classes_refuse(client, staff_with, settings):
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS,
                                  "ANALYTICS_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser",
                                                                   "tests.admin.test_analytics_entry.Nobody"]}
    client.force_login(staff_with("view_payment"))

    response = client.get(reverse("admin:index"))

    assert "Payments" in entries(response) and "Analytics" not in entries(response)
    assert client.get(reverse(ANALYTICS)).status_code == 403


def test_a_superuser_sees_analytics(admin_client):
    assert "Analytics" in entries(admin_client.get(reverse("admin:index")))


class Nobody:
    def has_permission(self, request: Any, view: Any) -> bool:
        return False
