"""POST create-payment/: exact money, UTF-8 JSON bodies only, server-side prices (and resolver
answers that cannot be charged), idempotency, Stripe errors."""

from __future__ import annotations

import bz2
import json
import logging
import tracemalloc
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from rest_framework.exceptions import ValidationError

from django_apranova_payments.metadata import HOST_MAX_KEYS
from django_apranova_payments.models import Coupon, Payment

URL = reverse("apranova_payments:create-payment")
PAYMENT_KEYS = {
    "paymentIntent", "amount", "currency", "status", "failureCode", "failureMessage",
    "metadata", "createdAt", "updatedAt",
}


def create(api: Any, body: Any, **headers: Any) -> Any:
    return api.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_create_returns_payment_client_secret_and_publishable_key(api, user, stripe_mock):
    response = create(api, {"amount": "999.00", "currency": "usd", "metadata": {"course": "12"}})

    assert response.status_code == 201, response.content
    body = response.json()
    assert PAYMENT_KEYS <= body.keys()
    intent = stripe_mock.intents[body["paymentIntent"]]
    assert body["clientSecret"] == intent["client_secret"]
    assert body["publishableKey"] == "pk_test_suite"
    assert body["amount"] == "999.00" and body["currency"] == "usd" and body["status"] == "pending"
    assert body["metadata"] == {"course": "12"}
    assert body["failureCode"] is None and body["failureMessage"] is None
    payment = Payment.objects.get(stripe_payment_intent=body["paymentIntent"])
    assert payment.user == user and payment.amount == Decimal("999.00")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("19.99", "usd", 1999), (19.99, "usd", 1999), ("4.35", "usd", 435), (1.15, "gbp", 115),
        ("17.99", "eur", 1799), (1000, "jpy", 1000), ("5.12", "kwd", 5120), ("0.50", "inr", 50),
        ("999999.99", "usd", 99_999_999), ("5", "isk", 500),
    ],
)
def test_stripe_receives_exact_minor_units(api, stripe_mock, amount, currency, minor):
    with override_settings(APRANOVA_PAYMENTS={
        **_base(), "CURRENCIES": ["usd", "gbp", "eur", "jpy", "kwd", "inr", "isk"],
    }):
        response = create(api, {"amount": amount, "currency": currency})

    assert response.status_code == 201, response.content
    sent = stripe_mock.calls_to("create")[0]["params"]
    assert sent["amount"] == str(minor)
    assert sent["currency"] == currency
    assert sent["automatic_payment_methods"] == {"enabled": "True"} or sent[
        "automatic_payment_methods"]["enabled"] in ("true", "True")


def data_statements(context: CaptureQueriesContext) -> list[str]:
    """The statements that read or write data; BEGIN/COMMIT/SAVEPOINT are left out (SQLite
    shows them, PostgreSQL's driver does not)."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [q["sql"] for q in context.captured_queries if not q["sql"].upper().startswith(control)]


def _base() -> dict[str, Any]:
    return dict(settings.APRANOVA_PAYMENTS)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"amount": "0.49"}, "amount", "at least 0.50"),
        ({"amount": "19.999"}, "amount", "2 decimal"),
        ({"amount": "NaN"}, "amount", ""),
        ({"amount": "Infinity"}, "amount", ""),
        ({"amount": "0"}, "amount", "greater than zero"),
        ({"amount": "-5.00"}, "amount", "greater than zero"),
        ({"amount": "abc"}, "amount", ""),
        ({"amount": True}, "amount", ""),
        ({"amount": [1]}, "amount", ""),
        ({"amount": "1e999999999"}, "amount", ""),
        ({"amount": "1000000.00"}, "amount", "at most"),
        ({}, "amount", "required"),
        ({"amount": "10.00", "currency": "xyz"}, "currency", "xyz"),
        ({"amount": "10.00", "currency": "jpy"}, "currency", "not accepted"),
        ({"amount": "10.00", "currency": 5}, "currency", ""),
        ({"amount": "10.00", "metadata": "x"}, "metadata", "object"),
        ({"amount": "10.00", "metadata": {"k": {"nested": 1}}}, "metadata", "string or a number"),
        ({"amount": "10.00", "metadata": {"k" * 41: "v"}}, "metadata", "40"),
        ({"amount": "10.00", "metadata": {"k": "v" * 501}}, "metadata", "500"),
        ({"amount": "10.00", "metadata": {f"k{i}": "v" for i in range(47)}}, "metadata", "at most"),
        ({"amount": "10.00", "metadata": {"apranova_user": "1"}}, "metadata", "reserved"),
        ({"amount": "10.00", "metadata": {"a[b]": "1"}}, "metadata", "square brackets"),
    ],
)
def test_bad_input_is_400_naming_the_field_before_stripe_is_called(api, stripe_mock, body, field, words):
    response = create(api, body)

    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors
    assert words.lower() in json.dumps(errors[field]).lower()
    assert stripe_mock.calls == []
    assert not Payment.objects.exists()


def test_jpy_fraction_is_refused(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS={**_base(), "CURRENCIES": ["jpy"], "DEFAULT_CURRENCY": "jpy"}):
        response = create(api, {"amount": "1000.5"})

    assert response.status_code == 400
    assert "amount" in response.json()
    assert stripe_mock.calls == []


def test_currency_is_case_insensitive_and_stored_lowercase(api, stripe_mock):
    response = create(api, {"amount": "10.00", "currency": "USD"})

    assert response.status_code == 201
    assert response.json()["currency"] == "usd"


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json", b'{"amount": NaN}', b'{"amount": Infinity}', b"[" * 50_000, b'"just a string"',
        b'{"amount": "10.00", "metadata": {"k": "a\\u0000b"}}',
        b'{"amount": "10.00", "metadata": {"a\\u0000": "v"}}',
        b'{"amount": "10.00", "metadata": {"k": "\\ud800"}}',
        b'{"amount": "10\\u0000"}',
    ],
)
def test_malformed_json_is_400(api, stripe_mock, raw):
    response = api.post(URL, data=raw, content_type="application/json")

    assert response.status_code == 400
    assert stripe_mock.calls == []


def test_oversized_body_is_413(api, stripe_mock):
    body = json.dumps({"amount": "10.00", "metadata": {"k": "v" * 70_000}})

    response = api.post(URL, data=body, content_type="application/json")

    assert response.status_code == 413
    assert stripe_mock.calls == []


def test_anonymous_is_refused(client, db, stripe_mock):
    response = client.post(URL, data={"amount": "10.00"}, content_type="application/json")

    assert response.status_code in (401, 403)
    assert stripe_mock.calls == []


def test_anonymous_is_refused_even_with_allow_any(client, db, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS={
        **_base(), "PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    }):
        response = client.post(URL, data={"amount": "10.00"}, content_type="application/json")

    assert response.status_code in (401, 403)
    assert stripe_mock.calls == []


def test_a_session_login_without_a_csrf_token_is_refused(user, stripe_mock):
    """The ``api`` fixture skips CSRF (``force_authenticate``); a browser session does not."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)

    response = browser.post(URL, data={"amount": "10.00"}, content_type="application/json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert stripe_mock.calls == []
    assert not Payment.objects.exists()


def test_payment_created_signal_fires_once(api, stripe_mock, captured_signals):
    response = create(api, {"amount": "10.00"})

    received = [(kw["sender"], kw["payment"].stripe_payment_intent, kw["event"])
                for kw in captured_signals.of("payment_created")]
    assert received == [(Payment, response.json()["paymentIntent"], None)]


# -- the body is UTF-8 JSON -------------------------------------------------------------------


def test_a_compressed_body_with_a_bz2_charset_is_refused_before_it_is_inflated(api, stripe_mock):
    bomb = b"".join(bz2.compress(b" " * 10_000_000) for _ in range(5))  # 50 MB of spaces in ~250 bytes
    tracemalloc.start()
    try:
        response = api.generic("POST", URL, bomb, content_type="application/json; charset=bz2")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 415
    assert "UTF-8" in response.json()["detail"]
    assert peak < 20_000_000  # nothing was inflated (inflating it takes 100 MB at its peak)
    assert stripe_mock.calls == [] and not Payment.objects.exists()


@pytest.mark.parametrize("charset", ["rot13", "zlib", "utf-16", "latin-1"])
def test_any_charset_but_utf8_is_a_415_naming_it(api, stripe_mock, charset):
    body = json.dumps({"amount": "10.00"}).encode()

    response = api.generic("POST", URL, body, content_type=f"application/json; charset={charset}")

    assert response.status_code == 415
    assert charset in response.json()["detail"]
    assert stripe_mock.calls == []


@pytest.mark.parametrize("charset", ["utf-8", "UTF8", "us-ascii"])
def test_utf8_and_its_ascii_subset_are_accepted(api, stripe_mock, charset):
    body = json.dumps({"amount": "10.00"}).encode()

    response = api.generic("POST", URL, body, content_type=f"application/json; charset={charset}")

    assert response.status_code == 201, response.content


def test_a_body_that_is_not_utf8_is_a_400(api, stripe_mock):
    response = api.generic("POST", URL, b'{"amount": "10.00", "metadata": {"k": "\xff"}}',
                           content_type="application/json")

    assert response.status_code == 400
    assert "utf-8" in response.json()["detail"]


# -- server-side prices ------------------------------------------------------------------


def price_from_catalogue(request, data):
    prices = {"course-1": ("999.00", "inr"), "course-2": ("49.00", "usd")}
    course = data["metadata"].get("course")
    if course not in prices:
        raise ValidationError({"metadata": ["Unknown course."]})
    amount, currency = prices[course]
    return {**data, "amount": Decimal(amount), "currency": currency}


def test_price_resolver_sets_the_amount_whatever_the_client_sends(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS={**_base(), "PRICE_RESOLVER": f"{__name__}.price_from_catalogue"}):
        response = create(api, {"amount": "0.50", "metadata": {"course": "course-1"}})

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "999.00" and response.json()["currency"] == "inr"
    assert stripe_mock.calls_to("create")[0]["params"]["amount"] == "99900"


def test_price_resolver_makes_amount_optional(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS={**_base(), "PRICE_RESOLVER": f"{__name__}.price_from_catalogue"}):
        response = create(api, {"metadata": {"course": "course-2"}})

    assert response.status_code == 201
    assert response.json()["amount"] == "49.00"


def test_price_resolver_validation_error_is_400(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS={**_base(), "PRICE_RESOLVER": f"{__name__}.price_from_catalogue"}):
        response = create(api, {"metadata": {"course": "nope"}})

    assert response.status_code == 400
    assert response.json() == {"metadata": ["Unknown course."]}
    assert stripe_mock.calls == []


def test_a_resolver_that_keeps_the_clients_amount_still_gives_the_client_a_400(api, stripe_mock):
    """The client's own amount is checked against the currency's rules before any resolver."""
    with override_settings(APRANOVA_PAYMENTS={**_base(), "PRICE_RESOLVER": f"{__name__}.keep_the_amount"}):
        response = create(api, {"amount": "0.49", "currency": "usd"})

    assert response.status_code == 400
    assert response.json() == {"amount": ["Amount must be at least 0.50 USD."]}
    assert stripe_mock.calls == []


def keep_the_amount(request, data):
    return {**data, "metadata": {**data["metadata"], "kind": "donation"}}


GENERIC_500 = {"detail": "Payments are misconfigured on the server."}


@pytest.mark.parametrize(
    ("result", "logged"),
    [
        (None, "returned NoneType, not a mapping"),
        ([("amount", Decimal("10.00"))], "returned list, not a mapping"),
        ("999.00", "returned str, not a mapping"),
        ({"amount": 19.99, "currency": "usd"}, "amount is float"),
        ({"amount": True, "currency": "usd"}, "amount is bool"),
        ({"currency": "usd"}, "amount is NoneType"),
        ({"amount": Decimal("0.001"), "currency": "usd"}, "at most 2 decimal places"),
        ({"amount": Decimal("0.10"), "currency": "usd"}, "at least 0.50"),
        ({"amount": Decimal("-5"), "currency": "usd"}, "greater than zero"),
        ({"amount": "NaN", "currency": "usd"}, "finite"),
        ({"amount": Decimal("10.5"), "currency": "jpy"}, "fractional"),
        ({"amount": Decimal("10.00"), "currency": "xyz"}, "currency 'xyz'"),
        ({"amount": Decimal("10.00"), "currency": None}, "currency None"),
        ({"amount": Decimal("10.00"), "currency": "usd", "metadata": "course-1"}, "metadata 'course-1': Metadata must"),
        ({"amount": Decimal("10.00"), "currency": "usd", "metadata": {"k": {"n": 1}}}, "string or a number"),
        ({"amount": Decimal("10.00"), "currency": "usd", "metadata": {"apranova_user": "7"}}, "reserved"),
    ],
)
def test_unusable_price_resolver_result_is_logged_and_a_generic_500(api, stripe_mock, caplog, result, logged):
    with override_settings(APRANOVA_PAYMENTS={**_base(), "PRICE_RESOLVER": lambda request, data: result}):
        response = create(api, {"amount": "10.00"})

    assert response.status_code == 500, response.content
    assert response.json() == GENERIC_500  # no parse_amount(), no TypeError, no value
    assert stripe_mock.calls == []
    assert not Payment.objects.exists()
    (record,) = [r for r in caplog.records if r.name.startswith("django_apranova_payments")]
    assert (record.name, record.levelname) == ("django_apranova_payments.views", "ERROR")  # the documented logger
    assert "PRICE_RESOLVER" in record.getMessage() and logged in record.getMessage()
    assert "test_create_payment" in record.getMessage()  # names the function


def test_price_resolver_that_is_not_callable_is_logged_and_a_generic_500(api, stripe_mock, caplog):
    with override_settings(APRANOVA_PAYMENTS={**_base(), "PRICE_RESOLVER": {"course-1": "999.00"}}):
        response = create(api, {"amount": "10.00"})

    assert response.status_code == 500 and response.json() == GENERIC_500
    assert stripe_mock.calls == []
    assert "PRICE_RESOLVER" in caplog.text and "not callable" in caplog.text


@pytest.mark.parametrize(
    ("answer", "logged"),
    [
        ({"amount": 10**5000, "currency": "usd"}, "too large"),
        ({"amount": "10.00", "currency": "usd", "metadata": {"k": "\ud800"}}, "invalid Unicode"),
        ({"amount": "10.00", "currency": "usd", "metadata": {"k": "a\x00b"}}, "NUL"),
        ({"amount": "10.00", "currency": "usd", "metadata": {"\x00": "v"}}, "NUL"),
    ],
)
def test_resolver_answers_that_broke_the_server_are_a_logged_generic_500(api, stripe_mock, caplog, answer, logged):
    with override_settings(APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "PRICE_RESOLVER": lambda r, d: answer}):
        with caplog.at_level(logging.ERROR, logger="django_apranova_payments"):
            response = api.post(URL, data=json.dumps({}), content_type="application/json")

    assert response.status_code == 500
    assert response.json() == {"detail": "Payments are misconfigured on the server."}
    assert stripe_mock.calls == []
    assert any("PRICE_RESOLVER" in r.getMessage() and logged in r.getMessage() for r in caplog.records)


def tagging_handler(exc, context):
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is not None:
        response.data = {"error": {"code": exc.get_codes(), "message": response.data["detail"]}}
    return response


def test_the_resolver_500_goes_through_the_hosts_exception_handler(api, stripe_mock):
    rest_framework = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": f"{__name__}.tagging_handler"}
    with override_settings(REST_FRAMEWORK=rest_framework, APRANOVA_PAYMENTS={
        **_base(), "PRICE_RESOLVER": lambda request, data: {**data, "amount": 19.99},
    }):
        response = create(api, {"amount": "10.00"})

    assert response.status_code == 500
    assert response.json() == {"error": {"code": "price_resolver_error", "message": GENERIC_500["detail"]}}


def test_a_resolver_may_return_a_string_or_int_amount(api, stripe_mock):
    with override_settings(APRANOVA_PAYMENTS={
        **_base(), "PRICE_RESOLVER": lambda request, data: {**data, "amount": "49.00", "currency": "EUR"},
    }):
        as_string = create(api, {})
    with override_settings(APRANOVA_PAYMENTS={
        **_base(), "PRICE_RESOLVER": lambda request, data: {"amount": 5, "currency": "usd"},
    }):
        as_int = create(api, {"metadata": {"dropped": "by the resolver"}})

    assert (as_string.status_code, as_string.json()["amount"], as_string.json()["currency"]) == (201, "49.00", "eur")
    assert (as_int.status_code, as_int.json()["amount"], as_int.json()["metadata"]) == (201, "5.00", {})


# -- Idempotency-Key -----------------------------------------------------------------------


def test_same_idempotency_key_and_body_returns_the_same_payment(api, stripe_mock):
    first = create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="key-1")
    second = create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="key-1")

    assert first.status_code == second.status_code == 201
    assert first.json()["paymentIntent"] == second.json()["paymentIntent"]
    assert first.json()["clientSecret"] == second.json()["clientSecret"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(stripe_mock.intents) == 1
    assert Payment.objects.count() == 1


def test_same_idempotency_key_with_another_body_is_422(api, stripe_mock):
    create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="key-1")

    response = create(api, {"amount": "11.00"}, HTTP_IDEMPOTENCY_KEY="key-1")

    assert response.status_code == 422
    assert len(stripe_mock.intents) == 1


def test_idempotency_key_is_scoped_to_the_user(api, other_user, stripe_mock):
    from rest_framework.test import APIClient

    other = APIClient()
    other.force_authenticate(other_user)
    mine = create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="shared")
    theirs = create(other, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="shared")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["paymentIntent"] != theirs.json()["paymentIntent"]
    assert mine.json()["clientSecret"] != theirs.json()["clientSecret"]


def test_retry_after_a_crash_before_the_insert_reuses_the_payment_intent(api, stripe_mock, monkeypatch):
    from django_apranova_payments import services

    def crash(*args, **kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(services.payments, "store_payment", crash)
    with pytest.raises(RuntimeError):
        create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="key-1")
    monkeypatch.undo()

    response = create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="key-1")

    assert response.status_code == 201
    assert len(stripe_mock.intents) == 1
    assert response.json()["paymentIntent"] in stripe_mock.intents


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "bad\nkey"])
def test_malformed_idempotency_key_is_400(api, stripe_mock, key):
    response = create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()


# -- Stripe failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        ({"status": 429, "error_type": "rate_limit_error", "code": "rate_limit"}, 429),
        ({"status": 500}, 503),
        ({"status": 503}, 503),
        ({"exception": requests.ConnectionError("connection reset by peer")}, 503),
        ({"exception": requests.Timeout("read timed out")}, 503),
        ({"status": 401, "error_type": "invalid_request_error",
          "message": "Invalid API Key provided: sk_test_****suite"}, 500),
        ({"status": 402, "error_type": "card_error", "code": "card_declined",
          "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}, 402),
        ({"status": 400, "error_type": "invalid_request_error", "code": "amount_too_small"}, 400),
    ],
)
def test_stripe_errors_map_to_status_codes_and_store_nothing(api, stripe_mock, failure, status):
    stripe_mock.fail_next("create", **failure)

    response = create(api, {"amount": "10.00"})

    assert response.status_code == status, response.content
    text = response.content.decode()
    assert "sk_test" not in text and "Traceback" not in text
    assert not Payment.objects.exists()
    if status in (429, 503):
        assert int(response.headers["Retry-After"]) > 0


def test_card_error_message_is_shown(api, stripe_mock):
    stripe_mock.fail_next("create", status=402, error_type="card_error", code="card_declined",
                          decline_code="insufficient_funds", message="Your card has insufficient funds.")

    response = create(api, {"amount": "10.00"})

    assert response.json() == {"detail": "Your card has insufficient funds."}


def test_create_sends_an_idempotency_key_and_the_pinned_api_version(api, stripe_mock):
    create(api, {"amount": "10.00"})

    headers = stripe_mock.calls_to("create")[0]["headers"]
    assert headers["Idempotency-Key"].startswith("apranova-")
    assert headers["Stripe-Version"] == "2026-10-28.endive"
    assert "django-apranova-payments" in headers["X-Stripe-Client-User-Agent"]


@pytest.mark.django_db(transaction=True)
def test_create_payment_statement_count(stripe_mock, user):
    """Recorded for the docs: statements besides authentication (force_authenticate runs none)."""
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    with CaptureQueriesContext(connection) as plain:
        assert create(api, {"amount": "10.00"}).status_code == 201
    with CaptureQueriesContext(connection) as keyed:
        assert create(api, {"amount": "10.00"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201

    plain_sql, keyed_sql = data_statements(plain), data_statements(keyed)
    print(f"\ncreate-payment statements: {len(plain_sql)} without Idempotency-Key, {len(keyed_sql)} with")
    assert len(plain_sql) == 1 and len(keyed_sql) == 2, keyed_sql


def test_the_most_host_metadata_fits_stripes_limit_with_the_packages_own_keys(api, stripe_mock):
    Coupon.objects.create(code="SPRING25", percent_off=Decimal(25))
    host = {f"k{i}": "v" for i in range(HOST_MAX_KEYS)}

    response = create(api, {"amount": "10.00", "metadata": host, "coupon": "spring25"}, HTTP_IDEMPOTENCY_KEY="order-1")

    assert response.status_code == 201, response.content
    sent = stripe_mock.intents[response.json()["paymentIntent"]]["metadata"]
    # the host's 40, and the package's 6 with every feature in use: within Stripe's 50
    assert len(sent) == HOST_MAX_KEYS + 6 <= 50


def test_receipt_email_sends_the_users_address_to_stripe_only_when_on(api, user, stripe_mock):
    body = {"amount": "19.99", "currency": "usd"}
    address = user.email
    api.post(reverse("apranova_payments:create-payment"), body, format="json")
    with override_settings(APRANOVA_PAYMENTS={**_base(), "RECEIPT_EMAIL": True}):
        api.post(reverse("apranova_payments:create-payment"), body, format="json")
        user.email = ""
        user.save()
        api.post(reverse("apranova_payments:create-payment"), body, format="json")

    sent = [call["params"].get("receipt_email") for call in stripe_mock.calls_to("create")]
    assert sent == [None, address, None] and "@" in address


def test_with_a_seller_stripe_is_not_asked_for_its_receipt_the_package_sends_its_own(api, user, stripe_mock):
    body = {"amount": "19.99", "currency": "usd"}
    with override_settings(APRANOVA_PAYMENTS={**_base(), "RECEIPT_EMAIL": True, "SELLER": {"name": "School"}}):
        response = api.post(reverse("apranova_payments:create-payment"), body, format="json")

    assert response.status_code == 201, response.content
    assert "receipt_email" not in stripe_mock.calls_to("create")[0]["params"]
