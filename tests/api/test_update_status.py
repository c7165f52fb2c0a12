"""POST update-status/: the server asks Stripe and applies only what Stripe says."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.urls import reverse

from django_apranova_payments.models import Payment
from django_apranova_payments.testing import build_payment_intent
from tests.factories import PaymentFactory

URL = reverse("apranova_payments:update-status")


def update(api: Any, body: Any) -> Any:
    return api.post(URL, data=json.dumps(body), content_type="application/json")


def at_stripe(stripe_mock: Any, payment: Payment, status: str = "requires_payment_method", **kwargs: Any) -> dict:
    """Put ``payment``'s PaymentIntent into the mocked Stripe with ``status``."""
    intent = build_payment_intent(payment, status, **kwargs)
    intent["client_secret"] = f"{payment.stripe_payment_intent}_secret_abc"
    stripe_mock.intents[payment.stripe_payment_intent] = intent
    return intent


def test_pending_payment_becomes_succeeded_when_stripe_says_so(api, payment, stripe_mock):
    at_stripe(stripe_mock, payment, "succeeded")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "succeeded"
    assert response.json()["paymentIntent"] == payment.stripe_payment_intent
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.stripe_status == "succeeded"
    assert payment.succeeded_at is not None
    assert [call["action"] for call in stripe_mock.calls] == ["retrieve"]
    assert payment.stripe_payment_intent in stripe_mock.calls[0]["url"]


def test_failed_attempt_stores_failure_code_and_message_from_last_payment_error(api, payment, stripe_mock):
    at_stripe(stripe_mock, payment, "requires_payment_method",
              failure_code="insufficient_funds", failure_message="Your card has insufficient funds.")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["failureCode"] == "insufficient_funds"
    assert body["failureMessage"] == "Your card has insufficient funds."
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")


def test_processing_at_stripe_becomes_processing(api, payment, stripe_mock):
    at_stripe(stripe_mock, payment, "processing")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200
    assert response.json()["status"] == "processing"
    assert Payment.objects.get(pk=payment.pk).status == "processing"


def test_requires_action_keeps_the_payment_pending(api, payment, stripe_mock):
    at_stripe(stripe_mock, payment, "requires_action")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200
    assert response.json()["status"] == "pending"


def test_client_cannot_claim_success(api, payment, stripe_mock):
    at_stripe(stripe_mock, payment, "requires_payment_method")

    response = update(api, {
        "paymentIntent": payment.stripe_payment_intent, "status": "succeeded", "amount": "0.50",
    })

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    payment.refresh_from_db()
    assert payment.status == "pending" and payment.succeeded_at is None


def test_late_processing_never_undoes_succeeded(api, user, stripe_mock):
    payment = PaymentFactory(user=user, status="succeeded", stripe_status="succeeded")
    at_stripe(stripe_mock, payment, "processing")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"


def test_unknown_payment_intent_is_404_without_calling_stripe(api, payment, stripe_mock):
    response = update(api, {"paymentIntent": "pi_doesnotexist"})

    assert response.status_code == 404
    assert stripe_mock.calls == []


def test_another_users_payment_is_404_and_stripe_is_never_called(api, other_user, stripe_mock):
    theirs = PaymentFactory(user=other_user)
    intent = at_stripe(stripe_mock, theirs, "succeeded")

    response = update(api, {"paymentIntent": theirs.stripe_payment_intent})

    assert response.status_code == 404
    assert stripe_mock.calls == []
    assert intent["client_secret"] not in response.content.decode()
    assert Payment.objects.get(pk=theirs.pk).status == "pending"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"paymentIntent": ""},
        {"paymentIntent": None},
        {"paymentIntent": 123},
        {"paymentIntent": ["pi_123"]},
        {"paymentIntent": "ch_123"},
        {"paymentIntent": "pi_../../v1/customers"},
        {"paymentIntent": "pi_" + "a" * 251},
        {"payment_intent": "pi_123"},
    ],
)
def test_malformed_body_is_400_naming_payment_intent(api, payment, stripe_mock, body):
    response = update(api, body)

    assert response.status_code == 400, response.content
    assert "paymentIntent" in response.json()
    assert stripe_mock.calls == []


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'"pi_123"', b"null"])
def test_body_that_is_not_a_json_object_is_400(api, payment, stripe_mock, raw):
    response = api.post(URL, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert stripe_mock.calls == []


def test_anonymous_caller_is_refused(client, payment, stripe_mock):
    response = client.post(
        URL, data={"paymentIntent": payment.stripe_payment_intent}, content_type="application/json"
    )

    assert response.status_code in (401, 403)
    assert stripe_mock.calls == []


def test_get_is_not_allowed(api, payment, stripe_mock):
    assert api.get(URL).status_code == 405


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        ({"status": 429, "error_type": "rate_limit_error", "code": "rate_limit"}, 429),
        ({"status": 500}, 503),
        ({"status": 502}, 503),
        ({"exception": requests.ConnectionError("connection refused")}, 503),
        ({"exception": requests.Timeout("read timed out")}, 503),
        ({"status": 401, "error_type": "invalid_request_error",
          "message": "Invalid API Key provided: sk_test_****uite"}, 500),
        ({"status": 403, "error_type": "invalid_request_error",
          "message": "The provided key 'rk_test_***' does not have access"}, 500),
    ],
)
def test_stripe_errors_during_retrieve_change_nothing(api, payment, stripe_mock, failure, status):
    at_stripe(stripe_mock, payment, "succeeded")
    stripe_mock.fail_next("retrieve", **failure)
    before = Payment.objects.values().get(pk=payment.pk)

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == status, response.content
    assert Payment.objects.values().get(pk=payment.pk) == before
    text = response.content.decode()
    assert "sk_test" not in text and "rk_test" not in text and "Traceback" not in text
    assert set(response.json()) == {"detail"}
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) > 0
    if status == 500:
        assert response.json()["detail"] == "Payments are misconfigured on the server."


def test_payment_intent_missing_at_stripe_is_a_client_error_not_a_crash(api, payment, stripe_mock):
    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 400
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_success_fires_status_changed_and_succeeded_once_with_no_event(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment, "succeeded")

    update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert captured_signals.names() == ["payment_status_changed", "payment_succeeded"]
    changed, succeeded = (sent.kwargs for sent in captured_signals)
    assert changed["sender"] is Payment and succeeded["sender"] is Payment
    assert changed["old_status"] == "pending" and changed["new_status"] == "succeeded"
    assert changed["event"] is None and succeeded["event"] is None
    assert succeeded["payment"].pk == payment.pk
    assert succeeded["payment"].status == "succeeded"


def test_calling_update_status_twice_fires_nothing_the_second_time(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment, "succeeded")
    update(api, {"paymentIntent": payment.stripe_payment_intent})
    captured_signals.clear()

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200 and response.json()["status"] == "succeeded"
    assert captured_signals.names() == []
    assert len(stripe_mock.calls_to("retrieve")) == 1  # the second answer came from the database


@pytest.mark.parametrize("status", ["succeeded", "canceled"])
def test_final_payment_is_answered_from_the_database_without_calling_stripe(api, user, stripe_mock, status):
    payment = PaymentFactory(user=user, status=status, stripe_status=status)
    at_stripe(stripe_mock, payment, "processing")  # what Stripe would (wrongly) say is never asked

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == status
    assert response.json()["paymentIntent"] == payment.stripe_payment_intent
    assert stripe_mock.calls == []


@pytest.mark.parametrize("status", ["succeeded", "canceled"])
def test_final_payment_answers_even_while_stripe_is_down(api, user, stripe_mock, status):
    payment = PaymentFactory(user=user, status=status, stripe_status=status)
    stripe_mock.fail_next(status=500, times=5)

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200 and response.json()["status"] == status


def test_failed_payment_still_asks_stripe_because_it_can_be_retried(api, user, stripe_mock):
    payment = PaymentFactory(user=user, status="failed", stripe_status="requires_payment_method")
    at_stripe(stripe_mock, payment, "succeeded")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200 and response.json()["status"] == "succeeded"
    assert [call["action"] for call in stripe_mock.calls] == ["retrieve"]


def test_a_final_payment_of_another_user_is_still_404(api, other_user, stripe_mock):
    theirs = PaymentFactory(user=other_user, status="succeeded", stripe_status="succeeded")

    response = update(api, {"paymentIntent": theirs.stripe_payment_intent})

    assert response.status_code == 404
    assert stripe_mock.calls == []


def test_failure_fires_payment_failed_once(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment, failure_code="card_declined")

    update(api, {"paymentIntent": payment.stripe_payment_intent})
    update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert captured_signals.names() == ["payment_status_changed", "payment_failed"]
    assert captured_signals.of("payment_failed")[0]["payment"].failure_code == "card_declined"


def test_processing_then_succeeded_fires_each_transition_once(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment, "processing")
    update(api, {"paymentIntent": payment.stripe_payment_intent})
    stripe_mock.set_status(payment.stripe_payment_intent, "succeeded")
    update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert captured_signals.names() == [
        "payment_status_changed", "payment_processing", "payment_status_changed", "payment_succeeded",
    ]
    assert [(kw["old_status"], kw["new_status"]) for kw in captured_signals.of("payment_status_changed")] == [
        ("pending", "processing"), ("processing", "succeeded"),
    ]


def test_amount_mismatch_at_stripe_is_not_applied(api, payment, stripe_mock, captured_signals):
    at_stripe(stripe_mock, payment, "succeeded", amount=50)

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert captured_signals.names() == []


def test_response_never_contains_the_client_secret_or_the_secret_key(api, payment, stripe_mock):
    intent = at_stripe(stripe_mock, payment, "succeeded")

    response = update(api, {"paymentIntent": payment.stripe_payment_intent})

    text = response.content.decode()
    assert intent["client_secret"] not in text
    assert "clientSecret" not in response.json()
    assert "sk_test" not in text
