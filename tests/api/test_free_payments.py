"""ALLOW_FREE: a price of 0 from PRICE_RESOLVER makes a succeeded payment, through the same
signals as a paid one, calling no one; a 0 from the client is always a 400."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings
from django.urls import reverse
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from django_apranova_payments import signals
from django_apranova_payments.models import Payment
from tests.factories import UserFactory, staff_holding

pytestmark = pytest.mark.django_db

CREATE = reverse("apranova_payments:create-payment")
PRICES = {"free-course": Decimal("0"), "paid-course": Decimal("49.00"), "free-string": "0.00", "free-int": 0}


def catalogue(request: Any, data: dict[str, Any]) -> dict[str, Any]:
    course = data["metadata"].get("course", "")
    if course not in PRICES:
        raise ValidationError({"metadata": ["Unknown course."]})
    return {"amount": PRICES[course], "currency": "usd", "metadata": {"course": course}}


def free(allow: bool = True, **extra: Any) -> Any:
    return override_settings(APRANOVA_PAYMENTS={
        **settings.APRANOVA_PAYMENTS, "PRICE_RESOLVER": f"{__name__}.catalogue", "ALLOW_FREE": allow, **extra})


@pytest.mark.parametrize("course", ["free-course", "free-string", "free-int"])
def test_a_free_course_is_a_succeeded_payment_with_no_client_secret(api, user, stripe_mock, captured_signals, course):
    with free():
        response = api.post(CREATE, {"metadata": {"course": course}}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    payment = Payment.objects.get()
    assert body["clientSecret"] is None
    assert body["paymentIntent"] == payment.stripe_payment_intent and payment.stripe_payment_intent.startswith("free_")
    assert (body["amount"], body["currency"], body["status"]) == ("0.00", "usd", "succeeded")
    assert (payment.user, payment.status, payment.is_free) == (user, "succeeded", True)
    assert not payment.is_fully_refunded
    assert payment.succeeded_at is not None
    assert stripe_mock.calls == []  # no one is called
    assert captured_signals.names() == ["payment_created", "payment_status_changed", "payment_succeeded"]
    changed = captured_signals.of("payment_status_changed")[0]
    assert (changed["old_status"], changed["new_status"], changed["event"]) == ("pending", "succeeded", None)
    assert captured_signals.of("payment_succeeded")[0]["event"] is None


def test_free_payment_ids_are_unique(api, stripe_mock):
    with free():
        ids = {api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json").json()["paymentIntent"]
               for _ in range(5)}

    assert len(ids) == 5


def test_a_paid_course_still_goes_to_stripe(api, stripe_mock):
    with free():
        response = api.post(CREATE, {"metadata": {"course": "paid-course"}}, format="json")

    assert response.status_code == 201 and response.json()["clientSecret"]
    assert len(stripe_mock.calls_to("create")) == 1


def test_zero_from_the_resolver_without_allow_free_is_the_hosts_bug(api, stripe_mock, caplog):
    with free(allow=False):
        response = api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json")

    assert response.status_code == 500
    assert response.json() == {"detail": "Payments are misconfigured on the server."}
    assert "PRICE_RESOLVER" in caplog.text and not Payment.objects.exists()


@pytest.mark.parametrize("amount", ["0", 0, "0.00", "-0"])
def test_zero_from_the_client_is_always_a_400(api, stripe_mock, amount):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "ALLOW_FREE": True}):
        response = api.post(CREATE, {"amount": amount, "currency": "usd"}, format="json")

    assert response.status_code == 400 and list(response.json()) == ["amount"]
    assert not Payment.objects.exists()


def test_a_resolver_keeping_the_clients_zero_is_still_a_400(api, stripe_mock):
    def keep(request: Any, data: dict[str, Any]) -> dict[str, Any]:
        return data

    with free(PRICE_RESOLVER=keep):
        response = api.post(CREATE, {"amount": "0", "currency": "usd"}, format="json")

    assert response.status_code == 400 and not Payment.objects.exists()


def test_a_float_zero_from_the_resolver_is_not_free(api, stripe_mock):
    with free(PRICE_RESOLVER=lambda request, data: {"amount": 0.0, "currency": "usd"}):
        response = api.post(CREATE, {}, format="json")

    assert response.status_code == 500 and not Payment.objects.exists()


def test_a_free_charge_keeps_the_currency_and_metadata_rules(api, stripe_mock):
    with free(PRICE_RESOLVER=lambda request, data: {"amount": 0, "currency": "xyz"}):
        response = api.post(CREATE, {}, format="json")

    assert response.status_code == 500 and not Payment.objects.exists()


def test_idempotency_key_replays_the_free_payment_and_refuses_another_body(api, stripe_mock, captured_signals):
    with free():
        first = api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        again = api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json", HTTP_IDEMPOTENCY_KEY="k")
        other = api.post(CREATE, {"metadata": {"course": "free-int"}}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1 and captured_signals.count("payment_succeeded") == 1


def test_a_receiver_that_raises_leaves_no_free_payment(api, stripe_mock):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("enrollment failed")

    signals.payment_succeeded.connect(broken)
    try:
        with free(), pytest.raises(RuntimeError):
            api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json")
    finally:
        signals.payment_succeeded.disconnect(broken)
    assert not Payment.objects.exists()


def test_a_free_payment_is_final(api, stripe_mock):
    with free():
        pi = api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json").json()["paymentIntent"]
    staff = APIClient()
    staff.force_authenticate(staff_holding("refund_payment"))

    detail = api.get(reverse("apranova_payments:payment-detail", args=[pi]))
    cancel = api.post(reverse("apranova_payments:payment-cancel", args=[pi]))
    refund = staff.post(reverse("apranova_payments:payment-refund", args=[pi]), {}, format="json")
    listed = api.get(reverse("apranova_payments:payment-list") + "?status=succeeded")

    assert detail.status_code == 200 and detail.json()["status"] == "succeeded"
    assert cancel.status_code == 409
    assert refund.status_code == 409 and refund.json()["detail"] == "A free payment has nothing to refund."
    assert [p["paymentIntent"] for p in listed.json()["results"]] == [pi]
    assert stripe_mock.calls == []


def test_free_payments_add_nothing_to_revenue(api, stripe_mock):
    with free():
        api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json")

    assert Payment.objects.revenue_by_currency() == {"usd": Decimal("0.00")}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_with_one_key_make_one_free_payment():
    user = UserFactory()
    answers: list[Any] = []

    def post() -> None:
        client = APIClient()
        client.force_authenticate(user)
        try:
            answers.append(client.post(CREATE, {"metadata": {"course": "free-course"}}, format="json",
                                       HTTP_IDEMPOTENCY_KEY="same"))
        finally:
            connection.close()

    with free():
        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    assert sorted(a.status_code for a in answers) == [201] * 8
    assert len({a.json()["paymentIntent"] for a in answers}) == 1
    assert Payment.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("typo", ["False", "True", 1])
def test_allow_free_set_to_anything_but_true_makes_nothing_free(api, stripe_mock, typo):
    with free(allow=typo):
        response = api.post(CREATE, {"metadata": {"course": "free-course"}}, format="json")

    assert response.status_code == 500 and not Payment.objects.exists()
