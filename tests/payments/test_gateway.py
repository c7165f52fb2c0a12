"""gateway.py: PaymentIntent parsing, Stripe errors translated, and the client built from settings."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
import responses
from django.conf import settings
from django.test.utils import override_settings

from django_apranova_payments import exceptions
from django_apranova_payments.gateway import PaymentIntentData, StripeGateway, get_gateway
from django_apranova_payments.testing import StripeMock

VALID_INTENT = {
    "id": "pi_123",
    "object": "payment_intent",
    "status": "requires_payment_method",
    "amount": 1999,
    "currency": "USD",
    "livemode": False,
    "metadata": {"course": "12", "n": 3},
    "client_secret": "pi_123_secret_abc",
    "last_payment_error": None,
}


def base(**changes: Any) -> dict[str, Any]:
    return {**settings.APRANOVA_PAYMENTS, **changes}


def create(gateway: Any, key: str = "key-1", amount: int = 1999) -> PaymentIntentData:
    return gateway.create_payment_intent(
        amount=amount, currency="usd", metadata={"course": "12"}, idempotency_key=key
    )


# -- PaymentIntentData.from_dict ---------------------------------------------------------------


def test_from_dict_reads_a_payment_intent():
    intent = PaymentIntentData.from_dict(VALID_INTENT)

    assert intent.id == "pi_123" and intent.status == "requires_payment_method"
    assert intent.amount == 1999 and intent.currency == "usd"
    assert intent.metadata == {"course": "12", "n": "3"}
    assert intent.client_secret == "pi_123_secret_abc"
    assert intent.failure_code == "" and intent.failure_message == "" and not intent.has_failure
    assert "secret" not in repr(intent)


def test_from_dict_reads_the_decline_code_before_the_error_code():
    error = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
             "message": "Your card has insufficient funds."}
    declined = PaymentIntentData.from_dict({**VALID_INTENT, "last_payment_error": error})
    no_decline = PaymentIntentData.from_dict(
        {**VALID_INTENT, "last_payment_error": {"code": "expired_card", "message": "Expired."}}
    )

    assert (declined.failure_code, declined.failure_message) == (
        "insufficient_funds", "Your card has insufficient funds."
    )
    assert declined.has_failure
    assert no_decline.failure_code == "expired_card"


@pytest.mark.parametrize(
    "data",
    [
        None,
        "pi_123",
        ["pi_123"],
        {**VALID_INTENT, "object": "charge"},
        {key: value for key, value in VALID_INTENT.items() if key != "object"},
        {**VALID_INTENT, "id": ""},
        {**VALID_INTENT, "id": None},
        {**VALID_INTENT, "id": 123},
        {**VALID_INTENT, "status": None},
        {**VALID_INTENT, "amount": "1999"},
        {**VALID_INTENT, "amount": 19.99},
        {**VALID_INTENT, "amount": True},
        {**VALID_INTENT, "amount": None},
        {**VALID_INTENT, "currency": None},
        {**VALID_INTENT, "currency": 840},
        {**VALID_INTENT, "metadata": ["a"]},
        {**VALID_INTENT, "metadata": "course=12"},
        {**VALID_INTENT, "last_payment_error": "declined"},
    ],
)
def test_from_dict_rejects_malformed_objects(data):
    with pytest.raises(ValueError):
        PaymentIntentData.from_dict(data)


# -- Stripe errors become the package's own --------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "error_class", "status"),
    [
        ({"status": 402, "error_type": "card_error", "code": "card_declined",
          "decline_code": "insufficient_funds"}, exceptions.CardError, 402),
        ({"status": 429, "error_type": "rate_limit_error", "code": "rate_limit"},
         exceptions.GatewayRateLimited, 429),
        ({"status": 400, "error_type": "invalid_request_error", "code": "rate_limit"},
         exceptions.GatewayRateLimited, 429),
        ({"status": 500}, exceptions.GatewayUnavailable, 503),
        ({"status": 502}, exceptions.GatewayUnavailable, 503),
        ({"status": 503}, exceptions.GatewayUnavailable, 503),
        ({"status": 409, "code": "idempotency_key_in_use"}, exceptions.GatewayUnavailable, 503),
        ({"exception": requests.ConnectionError("connection refused")}, exceptions.GatewayUnavailable, 503),
        ({"exception": requests.Timeout("read timed out")}, exceptions.GatewayUnavailable, 503),
        ({"status": 401, "error_type": "invalid_request_error",
          "message": "Invalid API Key provided: sk_test_****uite"}, exceptions.GatewayConfigurationError, 500),
        ({"status": 403, "error_type": "invalid_request_error",
          "message": "The provided key 'rk_test_***abc' does not have the required permissions"},
         exceptions.GatewayConfigurationError, 500),
        ({"status": 400, "error_type": "idempotency_error"}, exceptions.IdempotencyConflict, 422),
        ({"status": 400, "error_type": "invalid_request_error", "code": "parameter_invalid_integer"},
         exceptions.GatewayRejected, 400),
        ({"status": 404, "error_type": "invalid_request_error", "code": "resource_missing"},
         exceptions.GatewayResourceMissing, 400),
        ({"status": 400, "error_type": "invalid_request_error", "code": "payment_intent_unexpected_state"},
         exceptions.PaymentNotCancelable, 409),
    ],
)
@pytest.mark.parametrize("action", ["create", "retrieve", "cancel"])
def test_stripe_errors_are_translated(stripe_mock, action, failure, error_class, status):
    stripe_mock.fail_next(action, **failure)
    gateway = get_gateway()
    calls = {
        "create": lambda: create(gateway),
        "retrieve": lambda: gateway.retrieve_payment_intent("pi_123"),
        "cancel": lambda: gateway.cancel_payment_intent("pi_123", reason="requested_by_customer"),
    }

    with pytest.raises(error_class) as info:
        calls[action]()

    assert type(info.value) is error_class
    assert isinstance(info.value, exceptions.PaymentsError)
    assert info.value.status_code == status
    assert "sk_test" not in str(info.value.detail) and "rk_test" not in str(info.value.detail)
    assert len(stripe_mock.calls) == 1


def test_card_error_carries_the_decline_code_and_stripes_customer_message(stripe_mock):
    stripe_mock.fail_next("create", status=402, error_type="card_error", code="card_declined",
                          decline_code="insufficient_funds", message="Your card has insufficient funds.")

    with pytest.raises(exceptions.CardError) as info:
        create(get_gateway())

    assert info.value.get_codes() == "insufficient_funds"
    assert str(info.value.detail) == "Your card has insufficient funds."


def test_card_error_without_decline_code_uses_the_error_code(stripe_mock):
    stripe_mock.fail_next("create", status=402, error_type="card_error", code="expired_card",
                          message="Your card has expired.")

    with pytest.raises(exceptions.CardError) as info:
        create(get_gateway())

    assert info.value.get_codes() == "expired_card"


def test_configuration_error_detail_is_generic(stripe_mock):
    stripe_mock.fail_next("retrieve", status=401, error_type="invalid_request_error",
                          message="Invalid API Key provided: sk_test_suite")

    with pytest.raises(exceptions.GatewayConfigurationError) as info:
        get_gateway().retrieve_payment_intent("pi_123")

    assert str(info.value.detail) == "Payments are misconfigured on the server."


@pytest.mark.parametrize("error_class", [exceptions.GatewayRateLimited, exceptions.GatewayUnavailable])
def test_retryable_errors_tell_the_client_when_to_retry(error_class):
    assert error_class().wait > 0


def test_a_success_that_is_not_a_payment_intent_is_a_gateway_error(stripe_mock):
    stripe_mock.fail_next("retrieve", status=200)  # HTTP 200 whose body is an error object

    with pytest.raises(exceptions.GatewayError) as info:
        get_gateway().retrieve_payment_intent("pi_123")

    assert info.value.status_code == 502


# -- the client is built from settings ------------------------------------------------------------


def test_create_sends_amount_currency_metadata_and_the_given_idempotency_key(stripe_mock):
    intent = create(get_gateway(), key="apranova-abc")

    call = stripe_mock.calls_to("create")[0]
    assert call["headers"]["Idempotency-Key"] == "apranova-abc"
    assert call["params"]["amount"] == "1999" and call["params"]["currency"] == "usd"
    assert call["params"]["metadata"] == {"course": "12"}
    assert call["headers"]["Authorization"] == "Bearer sk_test_suite"
    assert intent.client_secret == stripe_mock.intents[intent.id]["client_secret"]


@pytest.mark.parametrize("api_base", ["http://127.0.0.1:12111", "http://127.0.0.1:12111/"])
def test_stripe_api_base_is_honoured(db, api_base):
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_API_BASE=api_base)), StripeMock() as mock:
        intent = create(get_gateway())
        get_gateway().retrieve_payment_intent(intent.id)
        get_gateway().cancel_payment_intent(intent.id, reason="requested_by_customer")

    assert [call["action"] for call in mock.calls] == ["create", "retrieve", "cancel"]
    assert all(call["url"].startswith("http://127.0.0.1:12111/v1/payment_intents") for call in mock.calls)


def test_without_an_api_base_requests_go_to_stripe(stripe_mock):
    create(get_gateway())

    assert stripe_mock.calls[0]["url"] == "https://api.stripe.com/v1/payment_intents"


def test_configured_api_version_is_sent(stripe_mock):
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_API_VERSION="2025-01-27.acacia")):
        intent = create(get_gateway())
        get_gateway().retrieve_payment_intent(intent.id)
        get_gateway().cancel_payment_intent(intent.id, reason="requested_by_customer")

    assert [call["headers"]["Stripe-Version"] for call in stripe_mock.calls] == ["2025-01-27.acacia"] * 3


@pytest.mark.parametrize("timeout", [3, 20])
def test_stripe_timeout_reaches_the_http_request(timeout):
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_TIMEOUT=timeout)), responses.RequestsMock() as mock:
        mock.get(re.compile(r"https://api\.stripe\.com/v1/payment_intents/pi_123"), json=VALID_INTENT)
        get_gateway().retrieve_payment_intent("pi_123")
        sent = mock.calls[0].request.req_kwargs

    assert sent["timeout"] == timeout


def test_with_two_retries_a_server_error_then_success_ends_in_success(stripe_mock):
    stripe_mock.fail_next("create", status=500)
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_MAX_NETWORK_RETRIES=2)):
        intent = create(get_gateway(), key="retry-key")

    calls = stripe_mock.calls_to("create")
    assert len(calls) == 2
    assert calls[0]["headers"]["Idempotency-Key"] == calls[1]["headers"]["Idempotency-Key"] == "retry-key"
    assert list(stripe_mock.intents) == [intent.id]


def test_with_two_retries_a_dropped_connection_then_success_ends_in_success(stripe_mock):
    created = create(get_gateway())
    stripe_mock.fail_next("retrieve", exception=requests.ConnectionError("reset by peer"))
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_MAX_NETWORK_RETRIES=2)):
        intent = get_gateway().retrieve_payment_intent(created.id)

    assert intent.id == created.id
    assert len(stripe_mock.calls_to("retrieve")) == 2


def test_with_two_retries_three_server_errors_are_unavailable(stripe_mock):
    stripe_mock.fail_next("create", status=503, times=3)
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_MAX_NETWORK_RETRIES=2)):
        with pytest.raises(exceptions.GatewayUnavailable):
            create(get_gateway())

    assert len(stripe_mock.calls_to("create")) == 3


def test_without_retries_one_server_error_is_final(stripe_mock):
    stripe_mock.fail_next("create", status=500)

    with pytest.raises(exceptions.GatewayUnavailable):
        create(get_gateway())

    assert len(stripe_mock.calls_to("create")) == 1


def test_card_errors_are_never_retried(stripe_mock):
    stripe_mock.fail_next("create", status=402, error_type="card_error", code="card_declined")
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_MAX_NETWORK_RETRIES=2)):
        with pytest.raises(exceptions.CardError):
            create(get_gateway())

    assert len(stripe_mock.calls_to("create")) == 1


@pytest.mark.parametrize(("key", "live"), [("sk_test_a", False), ("sk_live_a", True), ("rk_live_a", True)])
def test_livemode_follows_the_secret_key(key, live):
    with override_settings(APRANOVA_PAYMENTS=base(STRIPE_SECRET_KEY=key)):
        assert get_gateway().livemode is live


def test_gateway_setting_picks_the_class():
    with override_settings(APRANOVA_PAYMENTS=base(GATEWAY=f"{__name__}.RecordingGateway")):
        assert isinstance(get_gateway(), RecordingGateway)
    assert type(get_gateway()) is StripeGateway


class RecordingGateway(StripeGateway):
    pass


def test_stripe_error_json_never_reaches_the_exception_detail(stripe_mock):
    stripe_mock.fail_next("retrieve", status=400, error_type="invalid_request_error",
                          code="parameter_invalid", message="Invalid key sk_test_suite in param")

    with pytest.raises(exceptions.GatewayRejected) as info:
        get_gateway().retrieve_payment_intent("pi_123")

    assert "sk_test" not in json.dumps(info.value.get_full_details())


# -- the flags the system checks read --------------------------------------------------------------


def test_base_gateway_declares_the_flags_the_checks_read():
    from typing import get_type_hints

    from django_apranova_payments.gateway import BaseGateway

    assert (BaseGateway.is_simulator, BaseGateway.uses_stripe_keys) == (False, True)
    assert {"is_simulator", "uses_stripe_keys"} <= set(vars(BaseGateway))
    hints = get_type_hints(BaseGateway, include_extras=True)
    assert str(hints["is_simulator"]) == str(hints["uses_stripe_keys"]) == "typing.ClassVar[bool]"
    assert (StripeGateway.is_simulator, StripeGateway.uses_stripe_keys) == (False, True)
