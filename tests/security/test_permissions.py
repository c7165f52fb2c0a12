"""Least privilege for staff: moving money needs ``refund_payment`` ("Can refund payments"),
and seeing revenue needs ``view_payment``, on the API and in the admin alike. ``is_staff``
alone (a blog editor) gets neither; superusers keep everything."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from django_apranova_payments.conf import app_settings
from django_apranova_payments.models import Payment, Refund
from django_apranova_payments.permissions import CanRefundPayments, CanViewPayments
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory, UserFactory, staff_holding

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:apranova_payments_payment_changelist"
ANALYTICS_PAGE = "admin:apranova_payments_payment_analytics"
ANALYTICS_API = "apranova_payments:analytics"


def paid(stripe_mock: Any, user: Any = None) -> Payment:
    payment = PaymentFactory(user=user or UserFactory(), status="succeeded", stripe_status="succeeded",
                             amount=Decimal("100.00"))
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refund_via_api(user: Any, payment: Payment) -> Any:
    url = reverse("apranova_payments:payment-refund", args=[payment.stripe_payment_intent])
    return api_as(user).post(url, {"amount": "10.00"}, format="json")


def offered_actions(client: Client) -> set[str]:
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200, response.content[:300]
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


# -- the permission and the defaults ----------------------------------------------------------------


def test_payment_has_a_can_refund_payments_permission():
    permission = Permission.objects.get(content_type__app_label="apranova_payments", codename="refund_payment")

    assert permission.name == "Can refund payments"
    assert permission.content_type.model == "payment"


def test_the_defaults_ask_for_refund_payment_and_view_payment():
    assert app_settings.REFUND_PERMISSION_CLASSES == [CanRefundPayments]
    assert app_settings.ANALYTICS_PERMISSION_CLASSES == [CanViewPayments]


# -- the refund endpoint ----------------------------------------------------------------------------


@pytest.mark.parametrize("codenames", [(), ("view_payment", "change_payment")])
def test_staff_without_refund_payment_get_403_and_stripe_is_not_asked(stripe_mock, codenames):
    payment = paid(stripe_mock)

    response = refund_via_api(staff_holding(*codenames), payment)

    assert response.status_code == 403
    assert stripe_mock.calls_to("refund") == [] and not Refund.objects.exists()


def test_staff_holding_refund_payment_may_refund_any_users_payment(stripe_mock):
    payment = paid(stripe_mock)

    response = refund_via_api(staff_holding("refund_payment"), payment)

    assert response.status_code == 201, response.content
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("10.00")


def test_refund_payment_through_a_group_counts(stripe_mock):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Support")
    group.permissions.add(Permission.objects.get(codename="refund_payment"))
    staff = UserFactory(is_staff=True)
    staff.groups.add(group)

    assert refund_via_api(staff, paid(stripe_mock)).status_code == 201


def test_a_superuser_refunds_without_any_grant(stripe_mock):
    assert refund_via_api(UserFactory(is_staff=True, is_superuser=True), paid(stripe_mock)).status_code == 201


@pytest.mark.parametrize("who", ["inactive staff", "not staff"])
def test_refund_payment_without_an_active_staff_account_is_403(stripe_mock, who):
    user = staff_holding("refund_payment", is_active=False) if who == "inactive staff" else UserFactory()
    if who == "not staff":
        user.user_permissions.add(Permission.objects.get(codename="refund_payment"))

    assert refund_via_api(user, paid(stripe_mock)).status_code == 403
    assert stripe_mock.calls_to("refund") == []


def test_with_self_service_classes_staff_without_refund_payment_refund_only_their_own(stripe_mock):
    """A host that lets learners refund their own payments (``IsAuthenticated``) does not
    thereby let every staff account refund everyone's."""
    editor = staff_holding()
    others, own = paid(stripe_mock), paid(stripe_mock, editor)
    self_service = {**settings.APRANOVA_PAYMENTS,
                    "REFUND_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}

    with override_settings(APRANOVA_PAYMENTS=self_service):
        assert refund_via_api(editor, others).status_code == 404
        assert refund_via_api(editor, own).status_code == 201
        assert refund_via_api(staff_holding("refund_payment"), others).status_code == 201


# -- the admin's refund action and page -------------------------------------------------------------


def test_the_admin_never_offers_refunding_to_staff_without_refund_payment(stripe_mock):
    payment = paid(stripe_mock)
    client = admin_as(staff_holding("view_payment", "change_payment"))

    assert "refund" not in offered_actions(client)
    change_page = client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk]))
    assert change_page.status_code == 200 and not change_page.context["may_refund"]
    refund_url = reverse("admin:apranova_payments_payment_refund", args=[payment.pk])
    assert client.get(refund_url).status_code == 403
    assert client.post(refund_url, {"apply": "1", "confirm": "on"}).status_code == 403
    forged = client.post(reverse(CHANGELIST), {"action": "refund", "_selected_action": [payment.pk]})
    assert forged.status_code in (200, 302) and b"Refund payment" not in forged.content
    assert stripe_mock.calls_to("refund") == [] and not Refund.objects.exists()


def test_the_admin_offers_refunding_to_staff_holding_refund_payment(stripe_mock):
    payment = paid(stripe_mock)
    client = admin_as(staff_holding("view_payment", "refund_payment"))

    assert "refund" in offered_actions(client)
    change_page = client.get(reverse("admin:apranova_payments_payment_change", args=[payment.pk]))
    assert change_page.context["may_refund"]
    page = client.get(reverse("admin:apranova_payments_payment_refund", args=[payment.pk]))
    assert page.status_code == 200


# -- analytics ----------------------------------------------------------------------------------------


def test_analytics_answers_403_to_staff_without_view_payment():
    editor = staff_holding()

    assert api_as(editor).get(reverse(ANALYTICS_API)).status_code == 403
    assert admin_as(editor).get(reverse(ANALYTICS_PAGE)).status_code == 403


@pytest.mark.parametrize("codenames", [("view_payment",), ("change_payment",)])
def test_analytics_answers_staff_who_may_view_payments(codenames):
    # The admin lets change_payment view payments; analytics asks view_payment itself.
    staff = staff_holding(*codenames)
    expected = 200 if "view_payment" in codenames else 403

    assert api_as(staff).get(reverse(ANALYTICS_API)).status_code == expected
    assert admin_as(staff).get(reverse(ANALYTICS_PAGE)).status_code == expected


def test_the_admin_analytics_page_asks_view_payment_whatever_the_classes_say():
    permissive = {**settings.APRANOVA_PAYMENTS,
                  "ANALYTICS_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}

    with override_settings(APRANOVA_PAYMENTS=permissive):
        response = admin_as(staff_holding()).get(reverse(ANALYTICS_PAGE))

    assert response.status_code == 403


def test_a_superuser_sees_analytics():
    superuser = UserFactory(is_staff=True, is_superuser=True)

    assert api_as(superuser).get(reverse(ANALYTICS_API)).status_code == 200
    assert admin_as(superuser).get(reverse(ANALYTICS_PAGE)).status_code == 200
