"""The OpenAPI schema (drf-spectacular, the ``openapi`` extra): valid, and saying what the API does."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.test.utils import override_settings

pytest.importorskip("drf_spectacular")

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

PREFIX = "/billing/v1/"  # where tests/urls.py includes the package


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    rest_framework = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    with override_settings(REST_FRAMEWORK=rest_framework):
        return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    result: dict[str, Any] = schema["paths"][PREFIX + path][method]
    return result


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    result: dict[str, Any] = schema["components"]["schemas"][name]
    return result


def test_extensions_are_registered_by_app_ready():
    assert "django_apranova_payments.api.openapi" in sys.modules


def test_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_every_payment_endpoint_is_described_and_the_webhook_is_not(schema):
    assert {path.removeprefix(PREFIX) for path in schema["paths"]} == {
        "", "create-payment/", "update-status/", "{payment_intent}/", "{payment_intent}/cancel/",
        "{payment_intent}/refund/", "analytics/", "payment-methods/", "payment-methods/{payment_method}/",
        "checkout/", "{payment_intent}/receipt/",
    }
    assert set(schema["paths"][PREFIX + "{payment_intent}/receipt/"]) == {"get"}
    assert set(schema["paths"][PREFIX + "payment-methods/"]) == {"get"}
    assert set(schema["paths"][PREFIX + "payment-methods/{payment_method}/"]) == {"delete"}
    assert set(schema["paths"][PREFIX]) == {"get"}
    assert set(schema["paths"][PREFIX + "analytics/"]) == {"get"}
    assert set(schema["paths"][PREFIX + "create-payment/"]) == {"post"}


def test_operation_ids_are_stable(schema):
    ids = {
        operation(schema, "", "get")["operationId"],
        operation(schema, "create-payment/", "post")["operationId"],
        operation(schema, "update-status/", "post")["operationId"],
        operation(schema, "{payment_intent}/", "get")["operationId"],
        operation(schema, "{payment_intent}/cancel/", "post")["operationId"],
        operation(schema, "{payment_intent}/refund/", "post")["operationId"],
        operation(schema, "analytics/", "get")["operationId"],
        operation(schema, "payment-methods/", "get")["operationId"],
        operation(schema, "payment-methods/{payment_method}/", "delete")["operationId"],
        operation(schema, "checkout/", "post")["operationId"],
        operation(schema, "{payment_intent}/receipt/", "get")["operationId"],
    }
    assert ids == {
        "payments_list", "payments_create", "payments_update_status", "payments_retrieve", "payments_cancel",
        "payments_refund", "payments_analytics", "payment_methods_list", "payment_methods_destroy",
        "payments_checkout", "payments_receipt",
    }


def test_a_saved_card_shows_only_its_brand_last_four_digits_and_expiry(schema):
    card = component(schema, "PaymentMethod")
    assert set(card["properties"]) == {"id", "brand", "last4", "expMonth", "expYear", "expired"}
    create = component(schema, "PaymentCreateRequest")["properties"]
    assert create["savePaymentMethod"]["type"] == "boolean" and create["paymentMethod"]["pattern"]


def test_payment_has_the_fixed_camel_case_keys_with_amount_as_decimal_string(schema):
    payment = component(schema, "Payment")
    fixed = {
        "paymentIntent", "amount", "currency", "status", "failureCode", "failureMessage",
        "metadata", "createdAt", "updatedAt",
    }
    assert fixed <= set(payment["properties"])
    assert fixed <= set(payment["required"])
    assert payment["properties"]["amount"]["type"] == "string"
    assert payment["properties"]["amount"]["format"] == "decimal"
    assert payment["properties"]["failureCode"]["nullable"] is True
    assert not any("_" in key for key in payment["properties"])


def test_create_answers_201_with_client_secret_and_publishable_key(schema):
    create = operation(schema, "create-payment/", "post")
    created = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/CreatedPayment"}
    properties = component(schema, "CreatedPayment")["properties"]
    assert {"clientSecret", "publishableKey", "paymentIntent", "amount"} <= set(properties)
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]


def test_create_request_takes_amount_as_decimal_string_or_number(schema):
    request = operation(schema, "create-payment/", "post")["requestBody"]["content"]["application/json"]
    assert request["schema"] == {"$ref": "#/components/schemas/PaymentCreateRequest"}
    body = component(schema, "PaymentCreateRequest")["properties"]
    assert set(body) == {"amount", "currency", "metadata", "coupon", "savePaymentMethod", "paymentMethod",
                         "billingAddress"}
    assert [option["type"] for option in body["amount"]["oneOf"]] == ["string", "number"]
    assert body["coupon"]["maxLength"] == 40 and body["coupon"]["nullable"] is True


def test_create_documents_the_idempotency_key_header(schema):
    parameters = operation(schema, "create-payment/", "post")["parameters"]
    header = next(p for p in parameters if p["name"] == "Idempotency-Key")
    assert header["in"] == "header"
    assert header.get("required", False) is False


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        (
            "create-payment/", "post",
            {"201", "400", "401", "402", "403", "413", "415", "422", "429", "500", "503"},
        ),
        ("update-status/", "post", {"200", "400", "401", "403", "404", "413", "429", "500", "503"}),
        ("", "get", {"200", "400", "401", "403", "404"}),
        ("{payment_intent}/", "get", {"200", "401", "403", "404"}),
        ("{payment_intent}/cancel/", "post", {"200", "401", "403", "404", "409", "429", "500", "503"}),
        ("{payment_intent}/refund/", "post", {"201", "400", "401", "403", "404", "409", "422", "429", "500", "503"}),
        ("analytics/", "get", {"200", "400", "401", "403"}),
    ],
)
def test_error_responses_are_documented(schema, path, method, codes):
    assert codes <= set(operation(schema, path, method)["responses"])


def test_rate_limit_and_unavailable_answers_carry_retry_after(schema):
    responses = operation(schema, "create-payment/", "post")["responses"]
    assert "Retry-After" in responses["429"]["headers"]
    assert "Retry-After" in responses["503"]["headers"]


def test_list_is_cursor_paginated_and_filters_by_status(schema):
    get = operation(schema, "", "get")
    names = {p["name"]: p for p in get["parameters"]}
    assert {"cursor", "pageSize", "status"} <= set(names)
    statuses = {"pending", "processing", "succeeded", "failed", "canceled"}
    assert set(names["status"]["schema"]["enum"]) == statuses
    page = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert page == {"$ref": "#/components/schemas/PaginatedPaymentList"}
    assert set(component(schema, "PaginatedPaymentList")["properties"]) == {"next", "previous", "results"}


def test_update_status_body_is_a_payment_intent_id(schema):
    body = component(schema, "UpdateStatus")
    assert body["required"] == ["paymentIntent"]
    assert body["properties"]["paymentIntent"]["pattern"].startswith("^pi_")


@pytest.mark.parametrize(
    ("path", "method"),
    [("create-payment/", "post"), ("update-status/", "post"), ("{payment_intent}/cancel/", "post"),
     ("{payment_intent}/refund/", "post")],
)
def test_throttled_endpoints_document_429_for_the_per_user_rate_with_retry_after(schema, path, method):
    too_many = operation(schema, path, method)["responses"]["429"]
    assert "THROTTLE_RATES" in too_many["description"]
    assert "Retry-After" in too_many["headers"]
    examples = too_many["content"]["application/json"]["examples"]
    assert any("throttled" in example["value"]["detail"] for example in examples.values())


def test_update_status_says_final_payments_are_answered_from_the_database(schema):
    assert "without asking Stripe" in operation(schema, "update-status/", "post")["description"]


def test_create_documents_the_price_resolver_500(schema):
    assert "PRICE_RESOLVER" in operation(schema, "create-payment/", "post")["responses"]["500"]["description"]


def test_analytics_takes_from_to_and_interval_and_answers_the_documented_shape(schema):
    get = operation(schema, "analytics/", "get")
    names = {p["name"]: p for p in get["parameters"]}
    assert set(names) == {"from", "to", "interval"}
    assert names["from"]["schema"] == {"type": "string", "format": "date"}
    assert names["interval"]["schema"]["enum"] == ["day", "month"]
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Analytics"}
    body = component(schema, "Analytics")
    assert set(body["properties"]) == {"from", "to", "interval", "currencies", "series", "failureCodes"}
    figures = component(schema, "AnalyticsCurrency")["properties"]
    assert set(figures) == {"gross", "refunded", "net", "discounts", "tax", "payments", "succeeded", "failed",
                            "canceled", "disputed"}
    for amount in ("net", "discounts", "tax"):
        assert figures[amount]["type"] == "string" and figures[amount]["format"] == "decimal"
    period = component(schema, "AnalyticsPeriod")["properties"]
    assert set(period) == {"period", "currency", "gross", "refunded", "net", "discounts", "tax", "succeeded",
                           "failed"}


def test_checkout_takes_the_redirect_urls_and_answers_the_session_and_its_payment(schema):
    checkout = operation(schema, "checkout/", "post")
    request = checkout["requestBody"]["content"]["application/json"]["schema"]
    assert request == {"$ref": "#/components/schemas/CheckoutCreateRequest"}
    body = component(schema, "CheckoutCreateRequest")
    assert {"amount", "currency", "metadata", "coupon", "successUrl", "cancelUrl"} == set(
        body["properties"])
    assert {"successUrl", "cancelUrl"} <= set(body["required"])
    answer = component(schema, "CheckoutSession")["properties"]
    assert set(answer) == {"checkoutSession", "url", "payment"}
    assert "Idempotent-Replayed" in checkout["responses"]["201"]["headers"]
    payment = component(schema, "Payment")["properties"]
    assert payment["checkoutSession"]["nullable"] is True and payment["paymentIntent"]["nullable"] is True


def test_the_receipt_is_html_or_pdf_never_json(schema):
    receipt = operation(schema, "{payment_intent}/receipt/", "get")
    assert set(receipt["responses"]["200"]["content"]) == {"text/html", "application/pdf"}
    [fmt] = [p for p in receipt["parameters"] if p["name"] == "format"]
    assert fmt["schema"]["enum"] == ["html", "pdf"]
    assert {"400", "404", "501"} <= set(receipt["responses"])
