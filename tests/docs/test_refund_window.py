"""The self-service refund window of docs/how-to/refunds.md, run as written against the real
refund endpoint.

The permission class is taken from the page's ``courses/refund_permissions.py`` block and
compiled as it stands, so the docs cannot drift from what the endpoint does: which method of
a permission it asks (``has_permission``, then ``has_object_permission`` with the payment),
that a learner reaches only their own
payments, and the answers the page promises (201, 403 with the permission's message, 404,
409).
"""

from __future__ import annotations

import types
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.permissions import BasePermission
from rest_framework.test import APIClient

from django_apranova_payments.models import Payment
from tests.factories import PaymentFactory, staff_holding

from .blocks import DOCS, blocks

PAGE = DOCS / "how-to" / "refunds.md"
MODULE_TITLE = "courses/refund_permissions.py"
CLASS_NAME = "StaffOrOwnerWithinWindow"


def page_block(title: str) -> str:
    found = [block for block in blocks(PAGE) if block.title == title]
    assert len(found) == 1, f"{PAGE.name} has {len(found)} blocks titled {title!r}"
    return found[0].text


def load_permission() -> type[BasePermission]:
    """The permission class of the how-to, compiled from the page as a module of its own."""
    module = types.ModuleType("courses_refund_permissions_from_docs")
    code = compile(page_block(MODULE_TITLE), f"{PAGE.name}:{MODULE_TITLE}", "exec")
    exec(code, module.__dict__)  # noqa: S102 - our own documentation's code
    permission: type[BasePermission] = getattr(module, CLASS_NAME)
    return permission


@pytest.fixture
def window_settings(settings: Any) -> type[BasePermission]:
    permission = load_permission()
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "REFUND_PERMISSION_CLASSES": [permission]}
    return permission


def succeeded_payment(owner: Any, stripe_mock: Any, *, days_ago: float = 1) -> Payment:
    """A payment of ``owner`` paid through the API (so StripeMock can refund it), which
    succeeded ``days_ago`` days ago."""
    client = APIClient()
    client.force_authenticate(owner)
    created = client.post(reverse("apranova_payments:create-payment"), {"amount": "999.00"}, format="json")
    assert created.status_code == 201, created.content
    payment_intent = created.json()["paymentIntent"]
    stripe_mock.set_status(payment_intent, "succeeded")
    client.post(reverse("apranova_payments:update-status"), {"paymentIntent": payment_intent}, format="json")
    payment = Payment.objects.get(stripe_payment_intent=payment_intent)
    assert payment.status == Payment.Status.SUCCEEDED
    Payment.objects.filter(pk=payment.pk).update(succeeded_at=timezone.now() - timedelta(days=days_ago))
    return payment


def refund(user: Any, payment_intent: str, body: dict[str, Any] | None = None) -> Any:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    url = reverse("apranova_payments:payment-refund", args=[payment_intent])
    return client.post(url, body if body is not None else {"reason": "requested_by_customer"}, format="json")


def test_the_settings_block_names_the_documented_class() -> None:
    assert f'"courses.refund_permissions.{CLASS_NAME}"' in page_block("lms/settings.py")
    assert '"REFUND_PERMISSION_CLASSES"' in page_block("lms/settings.py")


@pytest.mark.django_db
def test_a_learner_refunds_their_own_payment_in_full_within_the_window(
    window_settings: Any, user: Any, stripe_mock: Any
) -> None:
    payment = succeeded_payment(user, stripe_mock, days_ago=13)

    response = refund(user, payment.stripe_payment_intent)

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "999.00"
    payment.refresh_from_db()
    assert payment.is_fully_refunded
    assert payment.refunds.get().requested_by == user


@pytest.mark.django_db
def test_after_the_window_a_learner_gets_403_with_the_permissions_message(
    window_settings: Any, user: Any, stripe_mock: Any
) -> None:
    payment = succeeded_payment(user, stripe_mock, days_ago=15)

    response = refund(user, payment.stripe_payment_intent)

    assert response.status_code == 403
    assert response.json() == {"detail": "Refunds can be requested within 14 days of the purchase."}
    assert stripe_mock.calls_to("refund") == []


@pytest.mark.django_db
def test_a_learner_may_not_choose_an_amount(window_settings: Any, user: Any, stripe_mock: Any) -> None:
    payment = succeeded_payment(user, stripe_mock)

    response = refund(user, payment.stripe_payment_intent, {"amount": "998.99"})

    assert response.status_code == 403
    assert response.json() == {"detail": "Only a full refund can be requested."}
    assert stripe_mock.calls_to("refund") == []


@pytest.mark.django_db
def test_staff_refund_any_payment_in_part_at_any_time(window_settings: Any, user: Any, stripe_mock: Any) -> None:
    payment = succeeded_payment(user, stripe_mock, days_ago=400)
    staff = staff_holding("refund_payment")

    response = refund(staff, payment.stripe_payment_intent, {"amount": "100.00"})

    assert response.status_code == 201, response.content
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("100.00") and not payment.is_fully_refunded


@pytest.mark.django_db
def test_another_learners_payment_and_unknown_ids_answer_404(
    window_settings: Any, user: Any, other_user: Any, stripe_mock: Any
) -> None:
    payment = succeeded_payment(user, stripe_mock)

    assert refund(other_user, payment.stripe_payment_intent).status_code == 404
    assert refund(other_user, "pi_unknown").status_code == 404
    assert refund(other_user, "pi_" + "x" * 300).status_code == 404
    assert refund(other_user, "pi_\x00").status_code == 404
    assert stripe_mock.calls_to("refund") == []


@pytest.mark.django_db
def test_a_payment_that_has_not_succeeded_answers_409(window_settings: Any, user: Any) -> None:
    payment = PaymentFactory(user=user)  # pending: succeeded_at is None

    response = refund(user, payment.stripe_payment_intent)

    assert response.status_code == 409
    assert response.json() == {"detail": "Only a payment that succeeded can be refunded."}


@pytest.mark.django_db
def test_an_anonymous_caller_is_refused(window_settings: Any, payment: Any) -> None:
    assert refund(None, payment.stripe_payment_intent).status_code in (401, 403)


@pytest.mark.django_db
def test_asking_twice_answers_409_nothing_left(window_settings: Any, user: Any, stripe_mock: Any) -> None:
    payment = succeeded_payment(user, stripe_mock)
    assert refund(user, payment.stripe_payment_intent).status_code == 201

    response = refund(user, payment.stripe_payment_intent)

    assert response.status_code == 409
    assert response.json() == {"detail": "Nothing is left to refund on this payment."}


class OnlyObjectPermission(BasePermission):
    """Refuses every object, but has no ``has_permission`` of its own."""

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        return False


@pytest.mark.django_db
def test_the_endpoint_asks_has_object_permission_with_the_payment_as_the_page_says(
    settings: Any, user: Any, stripe_mock: Any
) -> None:
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "REFUND_PERMISSION_CLASSES": [OnlyObjectPermission]}
    payment = succeeded_payment(user, stripe_mock)

    response = refund(user, payment.stripe_payment_intent)

    assert response.status_code == 403
    assert stripe_mock.calls_to("refund") == []
