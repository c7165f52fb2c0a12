# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's extension base classes have an untyped __init_subclass__.)
"""OpenAPI descriptions of the payment endpoints, for drf-spectacular (the ``openapi`` extra).

Imported by ``AppConfig.ready()`` only when ``drf_spectacular`` is installed; importing it
registers drf-spectacular extensions and changes nothing else. The views and serializers
stay free of schema code: each ``OpenApiViewExtension`` below hands drf-spectacular a
subclass of one view with ``@extend_schema`` applied, and the serializer extensions add
what introspection cannot see (the camelCase contract, amounts as decimal strings).

The Stripe webhook (``POST webhook/``) is a plain Django view called by Stripe, not by API
clients, so it is not part of the schema; the reference documentation describes it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from .metadata import HOST_MAX_KEYS
from .models import PaymentStatus
from .serializers import (
    CreatedPaymentSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    UpdateStatusSerializer,
)
from .views import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH

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

    target_class = "django_apranova_payments.serializers.AmountField"

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

    target_class = "django_apranova_payments.serializers.PaymentCreateSerializer"

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
        return schema


class PaymentSerializerExtension(OpenApiSerializerExtension):
    """A payment: fixed camelCase keys; ``amount`` a decimal string in major units."""

    target_class = "django_apranova_payments.serializers.PaymentSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        props = schema["properties"]
        props["paymentIntent"].update(example=PI, description="The Stripe PaymentIntent id.")
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


def _error(
    description: str, example: Any, schema: type[serializers.Serializer] = ERROR_DETAIL
) -> OpenApiResponse:
    body: Any = {"detail": example} if schema is ERROR_DETAIL else example
    return OpenApiResponse(
        response=schema,
        description=description,
        examples=[OpenApiExample("error", value=body, response_only=True)],
    )


AUTH = {
    401: _error(
        "Not authenticated, with an authentication class that sends WWW-Authenticate "
        "(token, basic). Session authentication answers 403 instead.",
        "Authentication credentials were not provided.",
    ),
    403: _error(
        "Not authenticated (session authentication) or refused by PERMISSION_CLASSES.",
        "Authentication credentials were not provided.",
    ),
}
NOT_FOUND = {404: _error("No such payment, or another user's.", "No Payment matches the given query.")}
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
    500: _error("The server's Stripe key is wrong or revoked. Never carries details.", MISCONFIGURED),
    502: _error(
        "Stripe's answer did not match the request (logged on the server).",
        "The payment provider could not complete the request.",
    ),
    503: _error(
        "Stripe could not be reached or failed. Retry after the Retry-After header's seconds.",
        "The payment provider is unavailable. Try again shortly.",
    ),
}
TOO_LARGE = {413: _error("The body is larger than 64 KiB.", "Request body is larger than 65536 bytes.")}
MEDIA_TYPE = {
    415: _error(
        "The body is not application/json, or names a charset other than UTF-8.",
        'Unsupported media type "text/plain" in request.',
    )
}
REJECTED = _error(
    "Invalid input (field messages), or Stripe refused the parameters ({\"detail\": …}).",
    {"amount": ["Amount must be at least 0.50 USD."]},
    FIELD_ERRORS,
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[429, 503],
    description="Seconds to wait before retrying.",
)

# --- views -----------------------------------------------------------------------------------

PAYMENT_EXAMPLE = {
    "paymentIntent": PI,
    "amount": "999.00",
    "currency": "usd",
    "status": "pending",
    "failureCode": None,
    "failureMessage": None,
    "metadata": {"courseId": "42"},
    "createdAt": "2026-11-26T10:00:00Z",
    "updatedAt": "2026-11-26T10:00:00Z",
    "livemode": False,
}


def _replace(view: Any, method: str, **schema: Any) -> type:
    """A subclass of ``view`` whose ``method`` carries ``schema`` (the view stays untouched)."""
    replacement = type(view.__name__, (view,), {"__doc__": view.__doc__})
    return extend_schema_view(**{method: extend_schema(tags=TAGS, **schema)})(replacement)


class CreatePaymentViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.views.CreatePaymentView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "post",
            operation_id="payments_create",
            summary="Create a payment",
            description=(
                "Creates a Stripe PaymentIntent for the caller and returns the payment with "
                "`clientSecret` and `publishableKey` for Stripe.js (Payment Element). With a "
                "`PRICE_RESOLVER` the server decides the amount; the client's is not trusted."
            ),
            request=PaymentCreateSerializer,
            parameters=[
                OpenApiParameter(
                    IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
                    description=(
                        f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters, scoped to the "
                        "user. A retry with the same key and body returns the same payment and "
                        "client secret (201, Idempotent-Replayed: true); the same key with "
                        "another body answers 422."
                    ),
                ),
                OpenApiParameter(
                    "Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER,
                    response=[201], enum=["true"],
                    description="Present when the answer replays an earlier request's payment.",
                ),
                RETRY_AFTER,
            ],
            responses={
                201: OpenApiResponse(CreatedPaymentSerializer, description="The new payment."),
                400: REJECTED,
                **AUTH,
                402: _error("The card was declined; the message can be shown.", "Your card was declined."),
                **TOO_LARGE,
                **MEDIA_TYPE,
                422: _error(
                    "The Idempotency-Key was used before with a different body.",
                    "This Idempotency-Key was already used with a different request body. "
                    "Use a new key for a new payment.",
                ),
                **GATEWAY,
                500: _error(
                    "The server's Stripe key is wrong or revoked, or its PRICE_RESOLVER returned "
                    "something that cannot be charged (logged on the server). Never carries details.",
                    MISCONFIGURED,
                ),
            },
            examples=[
                OpenApiExample(
                    "USD course", request_only=True,
                    value={"amount": "999.00", "currency": "usd", "metadata": {"courseId": "42"}},
                ),
                OpenApiExample(
                    "created", response_only=True, status_codes=["201"],
                    value={
                        **PAYMENT_EXAMPLE,
                        "clientSecret": f"{PI}_secret_abc123",
                        "publishableKey": "pk_test_51Example",
                    },
                ),
            ],
        )


class UpdateStatusViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.views.UpdateStatusView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "post",
            operation_id="payments_update_status",
            summary="Refresh a payment from Stripe",
            description=(
                "Retrieves the PaymentIntent from Stripe and applies its status through the "
                "status machine. Nothing the client says about the status is used. A payment "
                "that is already `succeeded` or `canceled` is final: it is answered from the "
                "database without asking Stripe (the request still counts against the "
                "`update_status` throttle)."
            ),
            request=UpdateStatusSerializer,
            parameters=[RETRY_AFTER],
            responses={
                200: OpenApiResponse(PaymentSerializer, description="The payment, as Stripe sees it now."),
                400: REJECTED,
                **AUTH,
                **NOT_FOUND,
                **TOO_LARGE,
                **MEDIA_TYPE,
                **GATEWAY,
            },
            examples=[OpenApiExample("refresh", request_only=True, value={"paymentIntent": PI})],
        )


class PaymentListViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.views.PaymentListView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "get",
            operation_id="payments_list",
            summary="List the caller's payments",
            description=(
                "Newest first, cursor-paginated: follow `next` and `previous` (full URLs) "
                "rather than building cursors."
            ),
            parameters=[
                OpenApiParameter(
                    "status", OpenApiTypes.STR, OpenApiParameter.QUERY,
                    enum=list(PaymentStatus.values), description="Only payments with this status.",
                ),
            ],
            responses={
                200: PaymentSerializer(many=True),
                400: _error(
                    "Unknown status.",
                    {"status": ["Must be one of: pending, processing, succeeded, failed, canceled."]},
                    FIELD_ERRORS,
                ),
                **AUTH,
                404: _error("The cursor is not valid.", "Invalid cursor"),
            },
        )


class PaymentDetailViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.views.PaymentDetailView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "get",
            operation_id="payments_retrieve",
            summary="One of the caller's payments",
            description="As stored; use update-status to ask Stripe again.",
            responses={200: PaymentSerializer, **AUTH, **NOT_FOUND},
        )


class PaymentCancelViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.views.PaymentCancelView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "post",
            operation_id="payments_cancel",
            summary="Cancel a payment",
            description=(
                "Cancels the PaymentIntent at Stripe while Stripe allows it. An already "
                "canceled payment is returned as it is. Canceling is final: a new attempt "
                "is a new payment."
            ),
            request=None,
            parameters=[RETRY_AFTER],
            responses={
                200: OpenApiResponse(PaymentSerializer, description="The canceled payment."),
                400: _error("Stripe refused the request.", "The payment provider rejected the request."),
                **AUTH,
                **NOT_FOUND,
                409: _error(
                    "The payment is processing or succeeded and can no longer be canceled.",
                    "This payment can no longer be canceled.",
                ),
                **GATEWAY,
            },
        )
