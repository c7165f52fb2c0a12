# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's extension base classes have an untyped __init_subclass__.)
"""OpenAPI descriptions of the payment endpoints, for drf-spectacular (the ``openapi`` extra).

Imported by ``AppConfig.ready()`` only when ``drf_spectacular`` is installed; importing it
registers drf-spectacular extensions and changes nothing else. The views and serializers
stay free of schema code: each ``OpenApiViewExtension`` below hands drf-spectacular a
subclass of one view with ``@extend_schema`` applied (``openapi_views``), and the serializer
extensions here add what introspection cannot see (the camelCase contract, amounts as decimal
strings), with the answers that have no serializer: the errors, and the analytics' report.

The Stripe webhook (``POST webhook/``) is a plain Django view called by Stripe, not by API
clients, so it is not part of the schema; the reference documentation describes it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers

from ..analytics import INTERVALS
from ..metadata import HOST_MAX_KEYS

TAGS = ["payments"]
PI = "pi_3QxExample0000000000000"

DECIMAL_STRING: dict[str, Any] = {
    "type": "string",
    "format": "decimal",
    "pattern": r"^\d+(\.\d+)?$",
    "example": "999.00",
}

# --- serializers and fields ----------------------------------------------------------------


class AmountFieldExtension(OpenApiSerializerFieldExtension):
    """``AmountField``: major units, as a decimal string (preferred) or a JSON number."""

    target_class = "django_apranova_payments.api.serializers.AmountField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {
            "oneOf": [
                {"type": "string", "format": "decimal", "example": "999.00"},
                {"type": "number", "example": 999.00},
            ],
            "nullable": True,
            "description": (
                "Amount in major units (\"999.00\" USD, \"1000\" JPY, \"5.120\" KWD). A decimal "
                "string is preferred; a JSON number is read exactly, never through float. "
                "Required unless the server sets a PRICE_RESOLVER. More decimals than the "
                "currency has, less than Stripe's minimum or more than its maximum is a 400."
            ),
        }


class PaymentCreateSerializerExtension(OpenApiSerializerExtension):
    """The create-payment body, with what each key means."""

    target_class = "django_apranova_payments.api.serializers.PaymentCreateSerializer"

    def get_name(self, auto_schema: Any, direction: Any) -> str:
        return "PaymentCreateRequest"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target_class, direction, bypass_extensions=True
        )
        props = schema["properties"]
        props["currency"].update(
            example="usd",
            description=(
                "ISO 4217 code, any case, stored lowercase; one of the server's CURRENCIES. "
                "Defaults to DEFAULT_CURRENCY."
            ),
        )
        props["metadata"] = {
            "type": "object",
            "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "maxProperties": HOST_MAX_KEYS,
            "example": {"courseId": "42"},
            "description": (
                "Stripe metadata: keys 1-40 characters without square brackets and not starting "
                "with \"apranova_\", values strings or numbers up to 500 characters."
            ),
        }
        props["coupon"].update(
            example="SPRING25",
            description=(
                "A coupon code, any case; empty or null applies none. Its discount comes off the "
                "price the server decides. A coupon that does not apply is a 400 on coupon."
            ),
        )
        return schema


class PaymentSerializerExtension(OpenApiSerializerExtension):
    """A payment: fixed camelCase keys; ``amount`` a decimal string in major units."""

    target_class = "django_apranova_payments.api.serializers.PaymentSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        props = schema["properties"]
        props["paymentIntent"].update(
            example=PI, nullable=True,
            description="The Stripe PaymentIntent id; null for a Checkout payment until Stripe creates it.",
        )
        props["checkoutSession"].update(
            nullable=True, example=None,
            description="The Checkout Session id (cs_…) of a payment made on Stripe's page, else null.",
        )
        props["amount"] = {
            **DECIMAL_STRING,
            "readOnly": True,
            "description": "Major units as a decimal string, with the currency's own decimals.",
        }
        props["currency"].update(example="usd", description="Lowercase ISO 4217 code.")
        props["failureCode"].update(
            nullable=True, example=None,
            description="Stripe's decline or error code when the status is failed, else null.",
        )
        props["failureMessage"].update(
            nullable=True, example=None,
            description="Stripe's message for the failure, safe to show the customer, else null.",
        )
        props["metadata"] = {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "readOnly": True,
            "example": {"courseId": "42"},
        }
        props["coupon"].update(nullable=True, example=None, description="The code of the coupon applied, or null.")
        props["discount"] = {
            **DECIMAL_STRING,
            "readOnly": True,
            "example": "0.00",
            "description": "What the coupon took off the price, in major units; amount is what is charged.",
        }
        props["livemode"].update(description="True when the payment was made with live keys.")
        if "clientSecret" in props:
            props["clientSecret"]["example"] = f"{PI}_secret_abc123"
            props["publishableKey"]["example"] = "pk_test_51Example"
        schema["required"] = sorted({*schema.get("required", []), *props})
        return schema


# --- errors ----------------------------------------------------------------------------------

class ErrorSerializer(serializers.Serializer):
    """DRF's error body for everything but invalid fields."""

    detail = serializers.CharField(help_text="A message safe to show; never a key or a trace.")


class FieldErrorsSerializer(serializers.Serializer):
    """DRF's validation error body: field name to messages (documented by the extension below)."""


class FieldErrorsExtension(OpenApiSerializerExtension):
    target_class = FieldErrorsSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "description": (
                "Field name (or `Idempotency-Key` for the header) to a list of messages. "
                "A body that is not JSON, or Stripe refusing the parameters, answers "
                "`{\"detail\": …}` instead."
            ),
            "properties": {"detail": {"type": "string"}},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


ERROR_DETAIL = ErrorSerializer
FIELD_ERRORS = FieldErrorsSerializer


def error_response(
    description: str, example: Any, schema: type[serializers.Serializer] = ERROR_DETAIL
) -> OpenApiResponse:
    body: Any = {"detail": example} if schema is ERROR_DETAIL else example
    return OpenApiResponse(
        response=schema,
        description=description,
        examples=[OpenApiExample("error", value=body, response_only=True)],
    )


AUTH = {
    401: error_response(
        "Not authenticated, with an authentication class that sends WWW-Authenticate "
        "(token, basic). Session authentication answers 403 instead.",
        "Authentication credentials were not provided.",
    ),
    403: error_response(
        "Not authenticated (session authentication) or refused by PERMISSION_CLASSES.",
        "Authentication credentials were not provided.",
    ),
}
NOT_FOUND = {404: error_response("No such payment, or another user's.", "No Payment matches the given query.")}
TOO_MANY_REQUESTS = OpenApiResponse(
    response=ERROR_DETAIL,
    description=(
        "Too many requests: the caller used up this endpoint's per-user rate (the server's "
        "THROTTLE_RATES), or Stripe rate-limited the server. Retry after the Retry-After "
        "header's seconds."
    ),
    examples=[
        OpenApiExample(
            "throttled", response_only=True,
            value={"detail": "Request was throttled. Expected available in 42 seconds."},
        ),
        OpenApiExample(
            "Stripe rate limit", response_only=True,
            value={"detail": "Too many requests to the payment provider. Try again shortly."},
        ),
    ],
)
MISCONFIGURED = "Payments are misconfigured on the server."
GATEWAY = {
    429: TOO_MANY_REQUESTS,
    500: error_response("The server's Stripe key is wrong or revoked. Never carries details.", MISCONFIGURED),
    502: error_response(
        "Stripe's answer did not match the request (logged on the server).",
        "The payment provider could not complete the request.",
    ),
    503: error_response(
        "Stripe could not be reached or failed. Retry after the Retry-After header's seconds.",
        "The payment provider is unavailable. Try again shortly.",
    ),
}
TOO_LARGE = {413: error_response("The body is larger than 64 KiB.", "Request body is larger than 65536 bytes.")}
MEDIA_TYPE = {
    415: error_response(
        "The body is not application/json, or names a charset other than UTF-8.",
        'Unsupported media type "text/plain" in request.',
    )
}
REJECTED = error_response(
    "Invalid input (field messages), or Stripe refused the parameters ({\"detail\": …}).",
    {"amount": ["Amount must be at least 0.50 USD."]},
    FIELD_ERRORS,
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[429, 503],
    description="Seconds to wait before retrying.",
)

# --- the analytics answer (a report, not a serializer) ---------------------------------------


@extend_schema_field({**DECIMAL_STRING, "example": "1998.00"})
class _Total(serializers.CharField):
    """A total in major units, as a decimal string with the currency's own decimals."""


def _counts(*names: str) -> dict[str, serializers.Field]:
    return {name: serializers.IntegerField() for name in names}


CURRENCY_FIGURES = inline_serializer("AnalyticsCurrency", fields={
    "gross": _Total(help_text="The succeeded payments' amounts."),
    "refunded": _Total(help_text="Their succeeded refunds."),
    "net": _Total(help_text="gross - refunded."),
    "discounts": _Total(help_text=(
        "What coupons took off the payments in gross (never charged, so not taken off net).")),
    "tax": _Total(help_text=(
        "The tax collected inside the payments in gross (part of gross and net; refunds leave it as it is).")),
    **_counts("payments", "succeeded", "failed", "canceled"),
    "disputed": serializers.IntegerField(help_text="Payments with at least one dispute."),
})
PERIOD_FIGURES = inline_serializer("AnalyticsPeriod", fields={
    "period": serializers.DateField(help_text="The day, or the first day of the month."),
    "currency": serializers.CharField(),
    "gross": _Total(), "refunded": _Total(), "net": _Total(), "discounts": _Total(), "tax": _Total(),
    **_counts("succeeded", "failed"),
})
ANALYTICS = inline_serializer("Analytics", fields={
    "from": serializers.DateField(), "to": serializers.DateField(),
    "interval": serializers.ChoiceField(choices=INTERVALS),
    "currencies": serializers.DictField(child=CURRENCY_FIGURES, help_text="Per lowercase currency code."),
    "series": serializers.ListField(child=PERIOD_FIGURES, help_text=(
        "Oldest first; every period of the range for every currency of `currencies`, zeros included.")),
    "failureCodes": serializers.ListField(child=inline_serializer("AnalyticsFailureCode", fields={
        "code": serializers.CharField(allow_null=True, help_text="Stripe's code; null when none was given."),
        "count": serializers.IntegerField(),
    }), help_text="Failed payments per code, most frequent first."),
})
ANALYTICS_EXAMPLE = {
    "from": "2026-11-01", "to": "2026-11-02", "interval": "day",
    "currencies": {"usd": {"gross": "1998.00", "refunded": "99.00", "net": "1899.00", "discounts": "250.00",
                           "tax": "166.50", "payments": 4, "succeeded": 2, "failed": 1, "canceled": 1, "disputed": 0}},
    "series": [
        {"period": "2026-11-01", "currency": "usd", "gross": "999.00", "refunded": "99.00", "net": "900.00",
         "discounts": "250.00", "tax": "166.50", "succeeded": 1, "failed": 1},
        {"period": "2026-11-02", "currency": "usd", "gross": "999.00", "refunded": "0.00", "net": "999.00",
         "discounts": "0.00", "tax": "0.00", "succeeded": 1, "failed": 0},
    ],
    "failureCodes": [{"code": "card_declined", "count": 1}],
}
