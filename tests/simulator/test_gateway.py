"""The offline simulator gateway, through the package's real paths: create-payment,
update-status, cancel and the signed webhook endpoint."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
import requests
import responses
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import override_settings
from django.urls import reverse

from django_apranova_payments import checks
from django_apranova_payments.exceptions import (
    GatewayConfigurationError,
    GatewayRejected,
    IdempotencyConflict,
    PaymentNotCancelable,
)
from django_apranova_payments.gateway import get_gateway
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.simulator import sender
from django_apranova_payments.simulator.cards import InvalidCard, parse_card
from django_apranova_payments.simulator.gateway import SimulatorGateway
from django_apranova_payments.simulator.models import SimulatedPaymentIntent, require_installed

SUCCEEDS, DECLINED, AUTHENTICATE = "4242 4242 4242 4242", "4000 0000 0000 9995", "4000 0025 0000 3155"


def create(api: Any, amount: str = "19.99", key: str | None = None, **body: Any) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(reverse("apranova_payments:create-payment"), data=json.dumps({"amount": amount, **body}),
                    content_type="application/json", **headers)


def confirm(client: Any, created: dict[str, Any], number: str, **card: Any) -> Any:
    card = {"number": number, "exp_month": "12", "exp_year": "2099", "cvc": "123", **card}
    return client.post(
        reverse("apranova_payments_simulator:confirm", args=[created["paymentIntent"]]),
        data=json.dumps({"client_secret": created["clientSecret"], "payment_method_data": {"card": card}}),
        content_type="application/json",
    )


def authenticate(client: Any, created: dict[str, Any], action: str) -> Any:
    return client.post(
        reverse("apranova_payments_simulator:authenticate", args=[created["paymentIntent"]]),
        {"client_secret": created["clientSecret"], "action": action},
    )


def update_status(api: Any, created: dict[str, Any]) -> Any:
    return api.post(reverse("apranova_payments:update-status"),
                    data=json.dumps({"paymentIntent": created["paymentIntent"]}), content_type="application/json")


def new_payment(api: Any, **kwargs: Any) -> dict[str, Any]:
    response = create(api, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


# -- creating ---------------------------------------------------------------------------------


def test_create_payment_issues_a_payment_intent_and_client_secret(api):
    body = new_payment(api)

    assert body["paymentIntent"].startswith("pi_")
    assert body["clientSecret"].startswith(f"{body['paymentIntent']}_secret_")
    assert body["status"] == "pending" and body["amount"] == "19.99" and body["livemode"] is False
    intent = SimulatedPaymentIntent.objects.get(intent_id=body["paymentIntent"])
    assert (intent.amount, intent.currency, intent.status) == (1999, "usd", "requires_payment_method")


def test_idempotency_key_replays_the_same_intent_and_refuses_another_body(api):
    first = new_payment(api, key="checkout-1")
    again = create(api, key="checkout-1")
    other = create(api, amount="25.00", key="checkout-1")

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    replayed = again.json()
    assert (replayed["paymentIntent"], replayed["clientSecret"]) == (first["paymentIntent"], first["clientSecret"])
    assert other.status_code == 422
    assert SimulatedPaymentIntent.objects.count() == 1


def test_gateway_create_honours_the_idempotency_key(db):
    gateway = SimulatorGateway()
    args = {"amount": 500, "currency": "eur", "metadata": {"course": "1"}}

    first = gateway.create_payment_intent(**args, idempotency_key="k1")
    again = gateway.create_payment_intent(**args, idempotency_key="k1")
    other = gateway.create_payment_intent(**args, idempotency_key="k2")

    assert again.id == first.id and again.client_secret == first.client_secret
    assert other.id != first.id
    with pytest.raises(IdempotencyConflict):
        gateway.create_payment_intent(**{**args, "amount": 600}, idempotency_key="k1")


def test_state_lives_in_the_database_not_in_the_gateway_instance(db):
    created = SimulatorGateway().create_payment_intent(amount=999, currency="usd", metadata={}, idempotency_key="x")

    assert SimulatorGateway().retrieve_payment_intent(created.id) == created


def test_retrieving_an_unknown_intent_is_rejected_as_stripe_404_is(db):
    with pytest.raises(GatewayRejected) as excinfo:
        SimulatorGateway().retrieve_payment_intent("pi_unknown")
    assert excinfo.value.get_codes() == "resource_missing"


# -- the test cards -----------------------------------------------------------------------------


def test_4242_succeeds_and_update_status_applies_it_once(api, client, captured_signals):
    created = new_payment(api)

    response = confirm(client, created, SUCCEEDS)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "succeeded" and response.json()["amount_received"] == 1999

    assert update_status(api, created).json()["status"] == "succeeded"
    assert update_status(api, created).json()["status"] == "succeeded"
    assert captured_signals.count("payment_succeeded") == 1


def test_9995_declines_with_insufficient_funds_and_a_retry_on_the_same_payment_succeeds(api, client, captured_signals):
    created = new_payment(api)

    declined = confirm(client, created, DECLINED)
    assert declined.status_code == 402
    error = declined.json()["error"]
    assert (error["type"], error["code"]) == ("card_error", "card_declined")
    assert error["decline_code"] == "insufficient_funds"
    assert error["message"] == "Your card has insufficient funds."
    assert error["payment_intent"]["status"] == "requires_payment_method"

    payment = update_status(api, created).json()
    assert (payment["status"], payment["failureCode"]) == ("failed", "insufficient_funds")
    assert payment["failureMessage"] == "Your card has insufficient funds."

    assert confirm(client, created, SUCCEEDS).status_code == 200
    payment = update_status(api, created).json()
    assert (payment["status"], payment["failureCode"]) == ("succeeded", None)
    assert Payment.objects.count() == 1 and captured_signals.count("payment_succeeded") == 1


def test_3155_requires_authentication_then_complete_succeeds(api, client):
    created = new_payment(api)

    response = confirm(client, created, AUTHENTICATE)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "requires_action"
    url = body["next_action"]["redirect_to_url"]["url"]
    assert url.startswith(reverse("apranova_payments_simulator:authenticate", args=[created["paymentIntent"]]))
    assert update_status(api, created).json()["status"] == "pending"

    page = client.get(url)
    assert page.status_code == 200
    assert b"Complete authentication" in page.content and b"Fail authentication" in page.content
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"

    done = authenticate(client, created, "complete")
    assert done.status_code == 200 and b"authentication-finished" in done.content
    assert update_status(api, created).json()["status"] == "succeeded"


def test_3155_failed_authentication_fails_the_payment_and_allows_a_retry(api, client):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)

    authenticate(client, created, "fail")

    payment = update_status(api, created).json()
    assert (payment["status"], payment["failureCode"]) == ("failed", "payment_intent_authentication_failure")
    assert confirm(client, created, SUCCEEDS).status_code == 200
    assert update_status(api, created).json()["status"] == "succeeded"


def test_a_confirmed_payment_cannot_be_confirmed_again(api, client):
    created = new_payment(api)
    confirm(client, created, SUCCEEDS)

    again = confirm(client, created, SUCCEEDS)

    assert again.status_code == 400
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"


def test_authentication_is_refused_when_none_is_pending(api, client):
    created = new_payment(api)

    authenticate(client, created, "complete")

    assert SimulatedPaymentIntent.objects.get().status == "requires_payment_method"


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ({"number": "4242 4242 4242 4241"}, "incorrect_number"),
        ({"number": "42"}, "incorrect_number"),
        ({"exp_month": "13"}, "invalid_expiry_month"),
        ({"exp_year": "2001"}, "invalid_expiry_year"),
        ({"cvc": "1"}, "invalid_cvc"),
    ],
)
def test_invalid_card_details_are_refused_without_touching_the_intent(api, client, card, code):
    created = new_payment(api)

    card = dict(card)  # the parametrized dict is shared by every run in the process
    response = confirm(client, created, card.pop("number", SUCCEEDS), **card)

    assert response.status_code == 402 and response.json()["error"]["code"] == code
    assert SimulatedPaymentIntent.objects.get().status == "requires_payment_method"


SECRET_PLACEHOLDER = object()  # stands for the PaymentIntent's real client secret
GOOD_CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "123"}


def method(value: Any) -> dict[str, Any]:
    """A confirm body with the right client secret and ``payment_method_data = value``."""
    return {"client_secret": SECRET_PLACEHOLDER, "payment_method_data": value}


def card(**fields: Any) -> dict[str, Any]:
    """A confirm body with the right client secret and a good card but for ``fields``."""
    return method({"type": "card", "card": {**GOOD_CARD, **fields}})


def confirm_body(created: dict[str, Any], body: Any) -> Any:
    if isinstance(body, dict) and body.get("client_secret") is SECRET_PLACEHOLDER:
        body = {**body, "client_secret": created["clientSecret"]}
    return body


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"client_secret": "\ud800"}, 400),
        ({"client_secret": "pi_x\x00"}, 400),
        ({"client_secret": "x" * 100_000}, 400),
        ({"client_secret": ["pi_x_secret_y"]}, 400),
        ({"client_secret": {"a": 1}}, 400),
        ({"client_secret": 7}, 400),
        ({"client_secret": True}, 400),
        ({"client_secret": "pi_x_secret_\u0662"}, 400),
        (method(["card"]), 400),
        (method("card"), 400),
        (method(1), 400),
        (method({"type": "sepa_debit", "card": GOOD_CARD}), 400),
        (method({"type": ["card"], "card": GOOD_CARD}), 400),
        (method({"card": "4242424242424242"}), 400),
        (method({"card": [GOOD_CARD]}), 400),
        (card(number=["4242"]), 400),
        (card(number={"n": 1}), 400),
        (card(exp_month=True), 400),
        (card(exp_year=1.5), 400),
        (card(cvc="1" * 10_000), 400),
        (card(exp_year=10**40), 400),
        (card(number="\u00b2" * 16), 402),
        (card(number="\u0664\u0662\u0664\u0662" * 4), 402),
        (card(number="\ud800"), 402),
        (card(number="4242\x00"), 402),
        (card(cvc="\u00b2\u00b2\u00b2"), 402),
        (card(exp_month="\u0661\u0662"), 402),
        (card(exp_year="\u00b2"), 402),
        (card(exp_year="1_2"), 402),
        (card(exp_month=-1), 402),
        ([1, 2], 400),
        ("pi_x_secret_y", 400),
        (None, 400),
    ],
)
def test_malformed_confirm_input_gets_a_stripe_shaped_4xx_and_changes_nothing(api, client, body, status):
    created = new_payment(api)
    url = reverse("apranova_payments_simulator:confirm", args=[created["paymentIntent"]])

    response = client.post(url, data=json.dumps(confirm_body(created, body)), content_type="application/json")

    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["type"] in ("invalid_request_error", "card_error") and error["code"] and error["message"]
    intent = SimulatedPaymentIntent.objects.get()
    assert (intent.status, intent.card_last4, intent.last_payment_error) == ("requires_payment_method", "", None)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"client_secret": "\\ud800"', b"1" * 5000, b"NaN"],
)
def test_a_confirm_body_that_is_not_a_json_object_is_a_400(api, client, raw):
    created = new_payment(api)
    url = reverse("apranova_payments_simulator:confirm", args=[created["paymentIntent"]])

    response = client.post(url, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parameter_invalid"


def test_a_confirm_body_over_djangos_limit_is_a_413(api, client, settings):
    created = new_payment(api)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = reverse("apranova_payments_simulator:confirm", args=[created["paymentIntent"]])

    response = client.post(url, data=json.dumps({"client_secret": "x" * 2000}), content_type="application/json")

    assert response.status_code == 413 and response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("secret", ["\x00", "pi_\x00", "x" * 10_000, "\u00e9", "\ufffd", "a b"])
def test_malformed_client_secrets_in_queries_and_forms_are_a_400(api, client, secret):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)
    intent_url = reverse("apranova_payments_simulator:payment-intent", args=[created["paymentIntent"]])
    auth_url = reverse("apranova_payments_simulator:authenticate", args=[created["paymentIntent"]])

    responses_ = [client.get(intent_url, {"client_secret": secret}), client.get(auth_url, {"client_secret": secret}),
                  client.post(auth_url, {"client_secret": secret, "action": "complete"})]

    assert [r.status_code for r in responses_] == [400, 400, 400]
    assert all(r.json()["error"]["param"] == "client_secret" for r in responses_)
    assert SimulatedPaymentIntent.objects.get().status == "requires_action"


@pytest.mark.parametrize("raw", [b"%ED%A0%80", b"%FF%FE", b"%00"])
def test_undecodable_query_strings_are_a_400(api, client, raw):
    created = new_payment(api)
    url = reverse("apranova_payments_simulator:payment-intent", args=[created["paymentIntent"]])

    response = client.get(f"{url}?client_secret={raw.decode()}")

    assert response.status_code == 400


@pytest.mark.parametrize("action", ["", "COMPLETE", "complete\x00", "x" * 10_000])
def test_an_unknown_authentication_action_is_a_400_and_decides_nothing(api, client, action):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)

    response = authenticate(client, created, action)

    assert response.status_code == 400 and response.json()["error"]["param"] == "action"
    assert SimulatedPaymentIntent.objects.get().status == "requires_action"


def test_a_broken_multipart_authentication_form_is_a_400(api, client):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)
    url = reverse("apranova_payments_simulator:authenticate", args=[created["paymentIntent"]])

    response = client.generic("POST", url, b"--x\r\nbroken", content_type="multipart/form-data; boundary=")

    assert response.status_code == 400
    assert SimulatedPaymentIntent.objects.get().status == "requires_action"


def test_too_many_form_fields_are_a_400(api, client, settings):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    url = reverse("apranova_payments_simulator:authenticate", args=[created["paymentIntent"]])

    response = client.post(url, {f"f{i}": "x" for i in range(20)})

    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_a_card_that_is_not_a_test_card_is_declined():
    with pytest.raises(InvalidCard):
        parse_card("1234", 12, 2099, "123")
    card = parse_card("5555 5555 5555 4444", 12, 99, "123")
    assert card.card.decline_code == "test_mode_live_card" and card.last4 == "4444" and card.brand == "mastercard"


def test_the_wrong_client_secret_answers_404(api, client):
    created = new_payment(api)

    response = confirm(client, {**created, "clientSecret": created["clientSecret"] + "x"}, SUCCEEDS)

    assert response.status_code == 404
    assert SimulatedPaymentIntent.objects.get().status == "requires_payment_method"


def test_the_browser_api_returns_the_intent_for_its_client_secret_only(api, client):
    created = new_payment(api)
    url = reverse("apranova_payments_simulator:payment-intent", args=[created["paymentIntent"]])

    assert client.get(url, {"client_secret": created["clientSecret"]}).json()["id"] == created["paymentIntent"]
    assert client.get(url, {"client_secret": "pi_x_secret_y"}).status_code == 404
    assert client.get(url).status_code == 404


def test_simulator_views_answer_404_when_stripe_is_the_gateway(settings, client):
    settings.APRANOVA_PAYMENTS = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_PUBLISHABLE_KEY": "pk_test_x"}

    assert client.get(reverse("apranova_payments_simulator:js")).status_code == 404


def test_simulator_js_is_served_with_the_test_cards(client):
    response = client.get(reverse("apranova_payments_simulator:js"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert b"window.ApranovaSimulator" in response.content and b"4000 0025 0000 3155" in response.content


# -- cancel -------------------------------------------------------------------------------------------


def test_cancel_of_a_pending_payment(api):
    created = new_payment(api)

    response = api.post(reverse("apranova_payments:payment-cancel", args=[created["paymentIntent"]]))

    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert SimulatedPaymentIntent.objects.get().cancellation_reason == "requested_by_customer"


def test_cancel_of_a_succeeded_payment_is_409(api, client):
    created = new_payment(api)
    confirm(client, created, SUCCEEDS)

    response = api.post(reverse("apranova_payments:payment-cancel", args=[created["paymentIntent"]]))

    assert response.status_code == 409
    assert Payment.objects.get().status == "succeeded"  # caught up with the simulator on the way


@pytest.mark.parametrize("status", ["processing", "succeeded", "canceled"])
def test_gateway_cancel_refuses_what_stripe_refuses(db, status):
    intent = SimulatedPaymentIntent.objects.create(amount=999, currency="usd", status=status)

    with pytest.raises(PaymentNotCancelable):
        SimulatorGateway().cancel_payment_intent(intent.intent_id, reason="requested_by_customer")


# -- webhooks ------------------------------------------------------------------------------------------


def replay(client: Any, request: Any) -> Any:
    """Deliver a captured request to the real webhook endpoint, byte for byte."""
    return client.post(reverse("apranova_payments:webhook"), data=request.body, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=request.headers["Stripe-Signature"])


def test_events_are_signed_as_stripe_signs_and_move_the_payment(api, client, outbox, captured_signals):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)
    authenticate(client, created, "complete")

    requests_sent = outbox()

    events = [json.loads(request.body) for request in requests_sent]
    assert [e["type"] for e in events] == [
        "payment_intent.created", "payment_intent.requires_action", "payment_intent.succeeded"
    ]
    assert all(e["livemode"] is False and e["data"]["object"]["id"] == created["paymentIntent"] for e in events)
    assert all("client_secret" not in e["data"]["object"] for e in events)
    assert [replay(client, r).json()["outcome"] for r in requests_sent] == ["processed"] * 3
    assert replay(client, requests_sent[-1]).json()["outcome"] == "duplicate"
    assert Payment.objects.get().status == "succeeded" and captured_signals.count("payment_succeeded") == 1
    assert WebhookEvent.objects.filter(outcome="processed").count() == 3


def test_decline_and_cancel_events(api, client, outbox):
    created = new_payment(api)
    confirm(client, created, DECLINED)
    api.post(reverse("apranova_payments:payment-cancel", args=[created["paymentIntent"]]))

    events = [json.loads(r.body) for r in outbox()]

    assert [e["type"] for e in events] == [
        "payment_intent.created", "payment_intent.payment_failed", "payment_intent.canceled"
    ]
    failed = events[1]["data"]["object"]
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["decline_code"] == "insufficient_funds"


def test_a_delivery_signed_with_another_secret_is_refused(api, client, outbox, settings):
    new_payment(api)
    request = outbox()[0]
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "STRIPE_WEBHOOK_SECRET": "whsec_other"}

    assert replay(client, request).status_code == 400


@pytest.mark.parametrize("url", ["http://example.com/api/payments/webhook/", "ftp://127.0.0.1/", "http://10.0.0.1/"])
def test_events_go_to_loopback_addresses_only(url, caplog):
    with responses.RequestsMock() as mock, caplog.at_level(logging.ERROR):
        assert sender.deliver(url, json.dumps({"id": "evt_1", "type": "x"}).encode()) is None
        assert not mock.calls
    assert "not a loopback address" in caplog.text


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/x", "http://localhost/x", "http://[::1]:8000/x"])
def test_loopback_addresses(url):
    assert sender.is_loopback_url(url)


def test_no_webhook_url_sends_nothing(api, django_capture_on_commit_callbacks):
    with responses.RequestsMock() as mock, django_capture_on_commit_callbacks(execute=True) as callbacks:
        new_payment(api)
    assert callbacks == [] and not mock.calls


def test_an_unreachable_webhook_url_is_logged_not_raised(caplog):
    body = json.dumps({"id": "evt_1", "type": "payment_intent.created", "data": {"object": {"id": "pi_1"}}}).encode()
    with caplog.at_level(logging.WARNING):
        assert sender.deliver("http://127.0.0.1:9/api/payments/webhook/", body) is None
    assert "failed" in caplog.text


# -- configuration ---------------------------------------------------------------------------------------


def test_simulator_gateway_attributes():
    gateway = get_gateway()

    assert isinstance(gateway, SimulatorGateway) and gateway.livemode is False
    assert SimulatorGateway.is_simulator is True and SimulatorGateway.uses_stripe_keys is False


def test_check_e005_refuses_the_simulator_with_debug_off(settings):
    settings.DEBUG = False

    errors = [m for m in checks.check_settings() if isinstance(m, Error)]

    assert [m.id for m in errors] == ["apranova_payments.E005"]


def test_check_passes_the_simulator_with_debug_on_and_needs_no_stripe_keys(settings):
    settings.DEBUG = True

    assert checks.check_settings() == []


# -- DEBUG off: the simulator refuses to run, under any server ---------------------------------------


def test_with_debug_off_create_payment_makes_no_intent_and_answers_a_generic_500(api, settings, caplog):
    settings.DEBUG = False

    with caplog.at_level(logging.ERROR, logger="django_apranova_payments.simulator"):
        response = create(api)

    assert response.status_code == 500
    assert response.json() == {"detail": "Payments are misconfigured on the server."}
    assert not SimulatedPaymentIntent.objects.exists() and not Payment.objects.exists()
    assert "DEBUG is False" in caplog.text and "APRANOVA_PAYMENTS['GATEWAY']" in caplog.text


def test_with_debug_off_the_confirm_endpoint_is_404_and_changes_nothing(api, client, settings):
    created = new_payment(api)
    settings.DEBUG = False

    response = confirm(client, created, SUCCEEDS)

    assert response.status_code == 404
    assert SimulatedPaymentIntent.objects.get().status == "requires_payment_method"


def test_with_debug_off_every_simulator_url_is_404(api, client, settings):
    created = new_payment(api)
    confirm(client, created, AUTHENTICATE)
    settings.DEBUG = False
    intent_url = reverse("apranova_payments_simulator:payment-intent", args=[created["paymentIntent"]])
    auth_url = reverse("apranova_payments_simulator:authenticate", args=[created["paymentIntent"]])

    assert client.get(reverse("apranova_payments_simulator:js")).status_code == 404
    assert client.get(intent_url, {"client_secret": created["clientSecret"]}).status_code == 404
    assert client.get(auth_url, {"client_secret": created["clientSecret"]}).status_code == 404
    assert authenticate(client, created, "complete").status_code == 404
    assert SimulatedPaymentIntent.objects.get().status == "requires_action"


@pytest.mark.parametrize("action", ["retrieve", "cancel", "confirm", "authenticate", "get"])
def test_with_debug_off_every_gateway_call_refuses(db, settings, action):
    intent = SimulatedPaymentIntent.objects.create(amount=999, currency="usd", status="requires_action")
    gateway = SimulatorGateway()
    settings.DEBUG = False
    calls = {
        "retrieve": lambda: gateway.retrieve_payment_intent(intent.intent_id),
        "cancel": lambda: gateway.cancel_payment_intent(intent.intent_id, reason="abandoned"),
        "confirm": lambda: gateway.confirm_payment_intent(intent.intent_id, parse_card(SUCCEEDS, 12, 2099, "123")),
        "authenticate": lambda: gateway.authenticate_payment_intent(intent.intent_id, success=True),
        "get": lambda: gateway.get(intent.intent_id),
    }

    with pytest.raises(GatewayConfigurationError):
        calls[action]()

    intent.refresh_from_db()
    assert intent.status == "requires_action"


def test_with_debug_off_update_status_and_cancel_answer_a_generic_500(api, settings):
    created = new_payment(api)
    settings.DEBUG = False

    status = update_status(api, created)
    cancel = api.post(reverse("apranova_payments:payment-cancel", args=[created["paymentIntent"]]))

    assert (status.status_code, cancel.status_code) == (500, 500)
    assert cancel.json() == {"detail": "Payments are misconfigured on the server."}
    assert SimulatedPaymentIntent.objects.get().status == "requires_payment_method"


def test_with_debug_off_the_sender_posts_nothing(db, settings, hook_url, django_capture_on_commit_callbacks, caplog):
    intent = SimulatedPaymentIntent.objects.create(amount=999, currency="usd")
    body = json.dumps(sender.build_event(intent, "payment_intent.canceled")).encode()
    settings.DEBUG = False

    with (responses.RequestsMock(assert_all_requests_are_fired=False) as mock, caplog.at_level(logging.ERROR),
          django_capture_on_commit_callbacks(execute=True) as callbacks):
        mock.add(responses.POST, hook_url, json={"received": True})
        sender.send_event(intent, "payment_intent.succeeded")
        delivered = sender.deliver(hook_url, body)
        assert sender.wait_for_deliveries(10)

    assert callbacks == [] and delivered is None and not mock.calls
    assert "DEBUG is False" in caplog.text


def test_simulator_table_exists(db):
    assert SimulatedPaymentIntent._meta.db_table in connection.introspection.table_names()


@pytest.mark.parametrize(("configured", "expected"), [(None, 5.0), (0.25, 0.25)])
def test_the_sender_reads_its_timeout_through_app_settings(settings, hook_url, monkeypatch, configured, expected):
    if configured is not None:
        settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "SIMULATOR_WEBHOOK_TIMEOUT": configured}
    seen: dict[str, Any] = {}

    def post(self: Any, url: str, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise requests.ConnectionError("not sent")

    monkeypatch.setattr(requests.Session, "post", post)
    body = json.dumps({"id": "evt_1", "type": "payment_intent.created", "data": {"object": {"id": "pi_1"}}}).encode()

    assert sender.deliver(hook_url, body) is None
    assert seen["timeout"] == expected


# -- the simulator is an app of its own ----------------------------------------------------------------

PRODUCTION_INSTALL = """
import django
from django.conf import settings

settings.configure(
    DEBUG=True, SECRET_KEY="x", USE_TZ=True, ROOT_URLCONF="django_apranova_payments.urls",
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework",
                    "django_apranova_payments"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    APRANOVA_PAYMENTS={"GATEWAY": "django_apranova_payments.simulator.gateway.SimulatorGateway",
                       "STRIPE_WEBHOOK_SECRET": "whsec_x"},
)
django.setup()
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django_apranova_payments.gateway import get_gateway

for message in checks.run_checks():
    print("CHECK", message.id, message.msg)
try:
    get_gateway()
except ImproperlyConfigured as exc:
    print("RAISED", exc)
"""


def test_the_simulator_gateway_without_its_app_is_refused_naming_installed_apps():
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", PRODUCTION_INSTALL], capture_output=True, text=True, timeout=60, check=False,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    raised = [line for line in lines if line.startswith("RAISED")]
    checked = [line for line in lines if line.startswith("CHECK apranova_payments.E006")]
    assert len(raised) == 1 and len(checked) == 1, result.stdout
    for line in (*raised, *checked):
        assert "'django_apranova_payments.simulator' is not in INSTALLED_APPS" in line
        assert "'GATEWAY'" in line


def test_require_installed_names_the_app_when_it_is_left_out(settings):
    production_apps = [app for app in settings.INSTALLED_APPS if app != "django_apranova_payments.simulator"]

    require_installed()  # installed in the suite
    with override_settings(INSTALLED_APPS=production_apps), pytest.raises(ImproperlyConfigured, match="INSTALLED_APPS"):
        require_installed()
