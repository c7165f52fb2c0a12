"""GET payment-list and payment-detail, POST payment-cancel; and what no response may contain."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from django_apranova_payments.models import Payment
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory

LIST_URL = reverse("apranova_payments:payment-list")
PAYMENT_KEYS = {
    "paymentIntent", "amount", "currency", "status", "failureCode", "failureMessage",
    "metadata", "amountRefunded", "coupon", "discount", "amountTax", "checkoutSession", "createdAt", "updatedAt",
}


def detail_url(payment: Payment | str) -> str:
    intent = payment if isinstance(payment, str) else payment.stripe_payment_intent
    return reverse("apranova_payments:payment-detail", args=[intent])


def cancel_url(payment: Payment | str) -> str:
    intent = payment if isinstance(payment, str) else payment.stripe_payment_intent
    return reverse("apranova_payments:payment-cancel", args=[intent])


def at_stripe(stripe_mock: Any, payment: Payment, status: str = "requires_payment_method") -> dict:
    intent = build_payment_intent(payment, status)
    intent["client_secret"] = f"{payment.stripe_payment_intent}_secret_{payment.pk}"
    stripe_mock.intents[payment.stripe_payment_intent] = intent
    return intent


def payments_created_in_order(user: Any, count: int, **kwargs: Any) -> list[Payment]:
    """``count`` payments of ``user``, one minute apart, oldest first."""
    start = timezone.now() - timedelta(days=1)
    payments = []
    for index in range(count):
        payment = PaymentFactory(user=user, **kwargs)
        Payment.objects.filter(pk=payment.pk).update(created_at=start + timedelta(minutes=index))
        payments.append(payment)
    return payments


def walk(api: Any, url: str) -> tuple[list[str], int]:
    """Follow ``next`` links from ``url``; the PaymentIntent ids seen and the page count."""
    seen: list[str] = []
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}
        seen += [item["paymentIntent"] for item in body["results"]]
        pages += 1
        url = body["next"]
    return seen, pages


@pytest.fixture
def other_api(other_user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_user)
    return client


# -- payment-list --------------------------------------------------------------------------


def test_list_shows_only_the_callers_payments_newest_first(api, user, other_user):
    mine = payments_created_in_order(user, 3)
    payments_created_in_order(other_user, 2)

    response = api.get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert body["next"] is None and body["previous"] is None
    assert [item["paymentIntent"] for item in body["results"]] == [
        p.stripe_payment_intent for p in reversed(mine)
    ]
    assert all(PAYMENT_KEYS <= item.keys() for item in body["results"])


def test_list_is_empty_for_a_user_without_payments(api, other_user):
    PaymentFactory(user=other_user)

    response = api.get(LIST_URL)

    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}


def test_cursor_pages_walk_every_payment_once_newest_first(api, user, other_user):
    mine = payments_created_in_order(user, 27)
    payments_created_in_order(other_user, 5)

    seen, pages = walk(api, LIST_URL)

    assert pages == 2
    assert seen == [p.stripe_payment_intent for p in reversed(mine)]


def test_previous_link_returns_to_the_first_page(api, user):
    payments_created_in_order(user, 25)
    first = api.get(LIST_URL).json()

    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()

    assert len(first["results"]) == 20 and len(second["results"]) == 5
    assert back["results"] == first["results"]


def test_page_size_can_be_chosen_and_is_capped(api, user):
    mine = payments_created_in_order(user, 26)

    seen, pages = walk(api, f"{LIST_URL}?pageSize=5")
    capped = api.get(f"{LIST_URL}?pageSize=100000").json()

    assert pages == 6
    assert seen == [p.stripe_payment_intent for p in reversed(mine)]
    assert len(capped["results"]) == 26


def test_payments_created_at_the_same_instant_are_each_listed_once(api, user, on_postgres):
    payments = PaymentFactory.create_batch(60, user=user)
    Payment.objects.filter(user=user).update(created_at=timezone.now())
    expected = sorted(p.stripe_payment_intent for p in payments)
    if on_postgres:
        # Take the plan a big table (or a ?status= filter) gets: a sort, whose order of
        # ties changes with the LIMIT, instead of this small table's index scan.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")

    for page_size in range(2, 15):
        seen, _ = walk(api, f"{LIST_URL}?pageSize={page_size}")
        assert sorted(seen) == expected, f"pageSize={page_size}"


def test_status_filter(api, user):
    succeeded = payments_created_in_order(user, 2, status="succeeded")
    payments_created_in_order(user, 3, status="pending")

    response = api.get(LIST_URL, {"status": "succeeded"})

    assert response.status_code == 200
    assert [item["paymentIntent"] for item in response.json()["results"]] == [
        p.stripe_payment_intent for p in reversed(succeeded)
    ]


def test_status_filter_walks_pages(api, user):
    failed = payments_created_in_order(user, 22, status="failed")
    payments_created_in_order(user, 4, status="canceled")

    seen, pages = walk(api, f"{LIST_URL}?status=failed")

    assert pages == 2
    assert seen == [p.stripe_payment_intent for p in reversed(failed)]


@pytest.mark.parametrize("value", ["done", "SUCCEEDED", "", "succeeded;drop"])
def test_invalid_status_filter_is_400(api, payment, value):
    response = api.get(LIST_URL, {"status": value})

    assert response.status_code == 400
    assert "status" in response.json()


def test_tampered_cursor_is_404_not_a_crash(api, payment):
    response = api.get(LIST_URL, {"cursor": "not-a-cursor"})

    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()


def test_list_never_contains_client_secrets(api, user, stripe_mock):
    payment = PaymentFactory(user=user)
    intent = at_stripe(stripe_mock, payment)

    text = api.get(LIST_URL).content.decode()

    assert intent["client_secret"] not in text and "clientSecret" not in text


def test_anonymous_list_is_refused(client, payment):
    assert client.get(LIST_URL).status_code in (401, 403)


# -- payment-detail ------------------------------------------------------------------------


def test_detail_of_own_payment_has_the_contract_keys(api, user):
    payment = PaymentFactory(
        user=user, amount="19.99", metadata={"course": "12"}, status="failed",
        failure_code="card_declined", failure_message="Your card was declined.",
    )

    response = api.get(detail_url(payment))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAYMENT_KEYS | {"livemode"}
    assert body == {
        **body,
        "paymentIntent": payment.stripe_payment_intent,
        "amount": "19.99",
        "currency": "usd",
        "status": "failed",
        "failureCode": "card_declined",
        "failureMessage": "Your card was declined.",
        "metadata": {"course": "12"},
        "amountRefunded": "0.00",
        "coupon": None,
        "discount": "0.00",
        "livemode": False,
    }
    assert body["createdAt"] and body["updatedAt"]


def test_detail_of_zero_decimal_payment_has_no_fraction(api, user):
    payment = PaymentFactory(user=user, amount="1000", currency="jpy")

    assert api.get(detail_url(payment)).json()["amount"] == "1000"


def test_detail_of_another_users_payment_is_404(api, other_user):
    theirs = PaymentFactory(user=other_user)

    response = api.get(detail_url(theirs))

    assert response.status_code == 404
    assert theirs.stripe_payment_intent not in response.content.decode()


def test_detail_of_unknown_payment_is_404(api, payment):
    assert api.get(detail_url("pi_unknown")).status_code == 404


def test_detail_of_a_non_payment_intent_id_is_404(api, payment):
    assert api.get(f"{LIST_URL}ch_123/").status_code == 404


# -- payment-cancel ------------------------------------------------------------------------


def test_cancel_pending_payment_cancels_at_stripe(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment)

    response = api.post(cancel_url(payment))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert Payment.objects.get(pk=payment.pk).status == "canceled"
    assert stripe_mock.intents[payment.stripe_payment_intent]["status"] == "canceled"
    assert [call["action"] for call in stripe_mock.calls] == ["cancel"]
    assert captured_signals.count("payment_canceled") == 1
    (canceled,) = captured_signals.of("payment_canceled")
    assert canceled["sender"] is Payment and canceled["event"] is None


def test_cancel_failed_payment_is_allowed(api, user, stripe_mock, captured_signals):
    payment = PaymentFactory(user=user, status="failed", failure_code="card_declined")
    at_stripe(stripe_mock, payment)

    response = api.post(cancel_url(payment))

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["failureCode"] is None
    assert captured_signals.count("payment_canceled") == 1


def test_cancel_succeeded_payment_is_409_without_calling_stripe(api, user, stripe_mock, captured_signals):
    payment = PaymentFactory(user=user, status="succeeded", stripe_status="succeeded")
    at_stripe(stripe_mock, payment, "succeeded")

    response = api.post(cancel_url(payment))

    assert response.status_code == 409
    assert stripe_mock.calls == []
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert captured_signals.of("payment_canceled") == []


@pytest.mark.parametrize("stripe_status", ["processing", "succeeded"])
def test_cancel_refused_by_stripe_is_409_and_the_row_catches_up(
    api, payment, stripe_mock, captured_signals, stripe_status
):
    at_stripe(stripe_mock, payment, stripe_status)

    response = api.post(cancel_url(payment))

    assert response.status_code == 409, response.content
    assert "detail" in response.json()
    payment.refresh_from_db()
    assert payment.status == stripe_status
    assert [call["action"] for call in stripe_mock.calls] == ["cancel", "retrieve"]
    assert captured_signals.of("payment_canceled") == []


def test_cancel_of_a_payment_already_canceled_at_stripe_is_200(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment, "canceled")

    response = api.post(cancel_url(payment))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    assert Payment.objects.get(pk=payment.pk).status == "canceled"
    assert captured_signals.count("payment_canceled") == 1


def test_cancel_twice_is_idempotent(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment)

    first = api.post(cancel_url(payment))
    second = api.post(cancel_url(payment))

    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "canceled"
    assert len(stripe_mock.calls_to("cancel")) == 1
    assert captured_signals.count("payment_canceled") == 1


def test_cancel_of_another_users_payment_is_404(api, other_user, stripe_mock):
    theirs = PaymentFactory(user=other_user)
    at_stripe(stripe_mock, theirs)

    response = api.post(cancel_url(theirs))

    assert response.status_code == 404
    assert stripe_mock.calls == []
    assert Payment.objects.get(pk=theirs.pk).status == "pending"


def test_cancel_of_unknown_payment_is_404(api, payment, stripe_mock):
    assert api.post(cancel_url("pi_unknown")).status_code == 404
    assert stripe_mock.calls == []


def test_cancel_when_stripe_is_down_is_503_and_changes_nothing(api, payment, stripe_mock):
    at_stripe(stripe_mock, payment)
    stripe_mock.fail_next("cancel", status=503)

    response = api.post(cancel_url(payment))

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_cancel_needs_post(api, payment, stripe_mock):
    assert api.get(cancel_url(payment)).status_code == 405
    assert stripe_mock.calls == []


# -- nothing secret in any response --------------------------------------------------------


def test_no_response_contains_a_key_another_users_secret_or_a_traceback(
    api, user, other_user, stripe_mock
):
    mine, theirs = PaymentFactory(user=user), PaymentFactory(user=other_user)
    at_stripe(stripe_mock, mine)
    their_secret = at_stripe(stripe_mock, theirs)["client_secret"]
    stripe_mock.fail_next("retrieve", status=401, error_type="invalid_request_error",
                          message="Invalid API Key provided: sk_test_suite")
    update = reverse("apranova_payments:update-status")

    responses = [
        api.get(LIST_URL),
        api.get(LIST_URL, {"status": "nope"}),
        api.get(detail_url(mine)),
        api.get(detail_url(theirs)),
        api.post(cancel_url(theirs)),
        api.post(update, data=json.dumps({"paymentIntent": theirs.stripe_payment_intent}),
                 content_type="application/json"),
        api.post(update, data=json.dumps({"paymentIntent": mine.stripe_payment_intent}),
                 content_type="application/json"),
        api.post(update, data=b"{oops", content_type="application/json"),
    ]

    assert [r.status_code for r in responses] == [200, 400, 200, 404, 404, 404, 500, 400]
    for response in responses:
        text = response.content.decode()
        assert "sk_test" not in text
        assert their_secret not in text and "_secret_" not in text
        assert "Traceback" not in text and 'File "' not in text


def test_error_bodies_are_json_even_with_debug_on(api, other_user, stripe_mock):
    theirs = PaymentFactory(user=other_user)
    with override_settings(DEBUG=True):
        response = api.post(cancel_url(theirs))

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("bad_id", ["%00", "pi_%00x", "pi_" + "x" * 300])
def test_impossible_payment_ids_answer_a_json_404(api, bad_id):
    detail = api.get(f"/billing/v1/{bad_id}/")
    cancel = api.post(f"/billing/v1/{bad_id}/cancel/")

    for response in (detail, cancel):
        assert response.status_code == 404, response.content
        assert response["Content-Type"] == "application/json"
