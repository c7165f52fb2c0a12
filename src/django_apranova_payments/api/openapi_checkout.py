# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's extension base classes have an untyped __init_subclass__.)
"""OpenAPI description of ``POST checkout/`` (Stripe Checkout), for drf-spectacular.

Imported by ``AppConfig.ready()`` with ``openapi`` only when ``drf_spectacular`` is installed;
importing it registers the extensions and changes nothing else.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .openapi import (
    AUTH,
    GATEWAY,
    MEDIA_TYPE,
    MISCONFIGURED,
    REJECTED,
    RETRY_AFTER,
    TOO_LARGE,
    PaymentCreateSerializerExtension,
    error_response,
)
from .openapi_views import IDEMPOTENCY_REUSED, PAYMENT_EXAMPLE, _replace, idempotency_parameters
from .serializers import CheckoutCreateSerializer, PaymentSerializer

SESSION = "cs_test_a1Example0000000000000000000000000000000000000000000000"
REDIRECT = (
    "An absolute http or https URL on a host in the server's ALLOWED_HOSTS or "
    "CHECKOUT_REDIRECT_HOSTS; no user info, backslashes or control characters; an IDN host "
    "is compared (and sent to Stripe) in its ASCII form. Anything else is a 400 on this field."
)


class CheckoutCreateSerializerExtension(PaymentCreateSerializerExtension):
    """The checkout body: create-payment's, plus the two redirect URLs."""

    target_class = "django_apranova_payments.api.serializers.CheckoutCreateSerializer"

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return "CheckoutCreateRequest"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = super().map_serializer(auto_schema, direction)
        props = schema["properties"]
        props["successUrl"].update(
            format="uri", example="https://school.example/paid",
            description=f"Where Stripe sends the customer after paying, with ?session_id=cs_… added. {REDIRECT}",
        )
        props["cancelUrl"].update(
            format="uri", example="https://school.example/courses/42",
            description=f"Where Stripe's page sends the customer back to without paying. {REDIRECT}",
        )
        return schema


CHECKOUT_ANSWER = inline_serializer("CheckoutSession", {
    "checkoutSession": serializers.CharField(
        allow_null=True, help_text="The Checkout Session's id; null for a free payment (ALLOW_FREE)."),
    "url": serializers.URLField(
        allow_null=True,
        help_text="Stripe's page to send the customer to (null on a replay once the Session is no longer "
                  "open; the success URL for a free payment, already succeeded).",
    ),
    "payment": PaymentSerializer(),
})


class CheckoutViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.views.CheckoutView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "post",
            operation_id="payments_checkout",
            summary="Pay on Stripe's page (Checkout)",
            description=(
                "Creates a Stripe Checkout Session (mode=payment, one line in exact minor units) "
                "for the same purchase as create-payment: the same price resolution, coupon, "
                "throttle and Idempotency-Key. The payment is stored pending, with "
                "`paymentIntent` null until Stripe creates it; the webhook moves it. "
                "`<payment_intent>/` also answers to the Session's id."
            ),
            request=CheckoutCreateSerializer,
            parameters=[*idempotency_parameters("Checkout Session"), RETRY_AFTER],
            responses={
                201: OpenApiResponse(CHECKOUT_ANSWER, description="The Session and its pending payment."),
                400: REJECTED,
                **AUTH,
                **TOO_LARGE,
                **MEDIA_TYPE,
                422: IDEMPOTENCY_REUSED,
                **GATEWAY,
                500: error_response(
                    "The server's Stripe key is wrong or revoked, or its PRICE_RESOLVER returned "
                    "something that cannot be charged (logged on the server). Never carries details.",
                    MISCONFIGURED,
                ),
            },
            examples=[
                OpenApiExample(
                    "USD course", request_only=True,
                    value={"metadata": {"courseId": "42"}, "successUrl": "https://school.example/paid",
                           "cancelUrl": "https://school.example/courses/42"},
                ),
                OpenApiExample(
                    "created", response_only=True, status_codes=["201"],
                    value={"checkoutSession": SESSION, "url": f"https://checkout.stripe.com/c/pay/{SESSION}",
                           "payment": {**PAYMENT_EXAMPLE, "paymentIntent": None, "checkoutSession": SESSION}},
                ),
            ],
        )
