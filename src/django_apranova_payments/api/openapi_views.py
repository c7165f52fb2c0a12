# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's extension base classes have an untyped __init_subclass__.)
"""OpenAPI descriptions of each payment endpoint (drf-spectacular view extensions).

Imported by ``AppConfig.ready()`` with ``openapi`` only when ``drf_spectacular`` is installed;
importing it registers the extensions and changes nothing else.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from ..analytics import INTERVALS, MAX_PERIODS
from ..models import PaymentStatus
from .openapi import (
    ANALYTICS,
    ANALYTICS_EXAMPLE,
    AUTH,
    FIELD_ERRORS,
    GATEWAY,
    MEDIA_TYPE,
    MISCONFIGURED,
    NOT_FOUND,
    PI,
    REJECTED,
    RETRY_AFTER,
    TAGS,
    TOO_LARGE,
    error_response,
)
from .serializers import (
    CreatedPaymentSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    UpdateStatusSerializer,
)
from .views import IDEMPOTENCY_HEADER, IDEMPOTENCY_KEY_MAX_LENGTH

# --- views -----------------------------------------------------------------------------------

PAYMENT_EXAMPLE = {
    "paymentIntent": PI,
    "amount": "999.00",
    "currency": "usd",
    "status": "pending",
    "failureCode": None,
    "failureMessage": None,
    "metadata": {"courseId": "42"},
    "amountRefunded": "0.00",
    "checkoutSession": None,
    "createdAt": "2026-11-26T10:00:00Z",
    "updatedAt": "2026-11-26T10:00:00Z",
    "livemode": False,
}


def _replace(view: Any, method: str, **schema: Any) -> type:
    """A subclass of ``view`` whose ``method`` carries ``schema`` (the view stays untouched)."""
    replacement = type(view.__name__, (view,), {"__doc__": view.__doc__})
    return extend_schema_view(**{method: extend_schema(tags=TAGS, **schema)})(replacement)


def idempotency_parameters(what: str) -> list[OpenApiParameter]:
    """The ``Idempotency-Key`` request header and the ``Idempotent-Replayed`` answer header."""
    return [
        OpenApiParameter(
            IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
            description=(
                f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable characters, scoped to the "
                f"user. A retry with the same key and body returns the same {what} "
                "(201, Idempotent-Replayed: true); the same key with another body answers 422."
            ),
        ),
        OpenApiParameter(
            "Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER,
            response=[201], enum=["true"],
            description=f"Present when the answer replays an earlier request's {what}.",
        ),
    ]


IDEMPOTENCY_REUSED = error_response(
    "The Idempotency-Key was used before with a different body.",
    "This Idempotency-Key was already used with a different request body. Use a new key for a new payment.",
)


class CreatePaymentViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.views.CreatePaymentView"

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
            parameters=[*idempotency_parameters("payment and client secret"), RETRY_AFTER],
            responses={
                201: OpenApiResponse(CreatedPaymentSerializer, description="The new payment."),
                400: REJECTED,
                **AUTH,
                402: error_response("The card was declined; the message can be shown.", "Your card was declined."),
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
    target_class = "django_apranova_payments.api.views.UpdateStatusView"

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
    target_class = "django_apranova_payments.api.views.PaymentListView"

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
                400: error_response(
                    "Unknown status.",
                    {"status": ["Must be one of: pending, processing, succeeded, failed, canceled."]},
                    FIELD_ERRORS,
                ),
                **AUTH,
                404: error_response("The cursor is not valid.", "Invalid cursor"),
            },
        )


class PaymentDetailViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.views.PaymentDetailView"

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
    target_class = "django_apranova_payments.api.views.PaymentCancelView"

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
                400: error_response("Stripe refused the request.", "The payment provider rejected the request."),
                **AUTH,
                **NOT_FOUND,
                409: error_response(
                    "The payment is processing or succeeded and can no longer be canceled.",
                    "This payment can no longer be canceled.",
                ),
                **GATEWAY,
            },
        )


class PaymentRefundViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.views.PaymentRefundView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "post",
            operation_id="payments_refund",
            summary="Refund a payment",
            description=(
                "Refunds a succeeded payment at Stripe, in full (no amount: all that is left) or "
                "in part, and returns the refund. What is left is the amount less the refunds "
                "that succeeded or are pending, decided under a row lock. Allowed by "
                "`REFUND_PERMISSION_CLASSES` (staff by default); staff may refund any payment, "
                "anyone else only their own."
            ),
            request=RefundCreateSerializer,
            parameters=[*idempotency_parameters("refund"), RETRY_AFTER],
            responses={
                201: OpenApiResponse(RefundSerializer, description="The refund, as Stripe answered it."),
                400: OpenApiResponse(
                    FIELD_ERRORS,
                    description=(
                        "An amount that is zero, negative, not in the currency's decimals or more "
                        "than what is left; an unknown reason."
                    ),
                    examples=[OpenApiExample("too much", value={"amount": ["At most 5.00 USD is left to refund."]})],
                ),
                **AUTH,
                **NOT_FOUND,
                409: error_response(
                    "The payment has not succeeded, nothing is left of it, or its charge is disputed.",
                    "Only a payment that succeeded can be refunded.",
                ),
                **TOO_LARGE,
                **MEDIA_TYPE,
                422: IDEMPOTENCY_REUSED,
                **GATEWAY,
            },
            examples=[
                OpenApiExample(
                    "partial refund", request_only=True, value={"amount": "10.00", "reason": "requested_by_customer"}
                ),
                OpenApiExample(
                    "refunded", response_only=True, status_codes=["201"],
                    value={
                        "refund": "re_3QxExample0000000000000", "paymentIntent": PI, "amount": "10.00",
                        "currency": "usd", "status": "succeeded", "reason": "requested_by_customer",
                        "failureReason": None, "createdAt": "2026-11-27T09:00:00Z",
                    },
                ),
            ],
        )


def _date_parameter(name: str, default: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.DATE, OpenApiParameter.QUERY,
                            description=f"YYYY-MM-DD, a local date in the server's TIME_ZONE, inclusive. {default}")


class AnalyticsViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.views.AnalyticsView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "get",
            operation_id="payments_analytics",
            summary="Payment figures per currency (staff)",
            description=(
                "Every user's figures of the range: the money on the local day it moved (`gross`: "
                "payments on the day they succeeded, `refunded`: succeeded refunds on the day each was "
                "made, `discounts`: what coupons took off the payments in `gross`, on their day, "
                "`tax`: the tax collected inside the payments in `gross`, on their day, which refunds "
                "leave as it is; `net` is `gross` - `refunded`), the counts of the payments created in the range. "
                "Totals per currency, a series per currency and period, and the failure codes. Money "
                "is never added across currencies. Allowed by "
                "`ANALYTICS_PERMISSION_CLASSES` (staff by default). A range covers at most "
                f"{MAX_PERIODS['day']} days by day and {MAX_PERIODS['month']} months by month."
            ),
            parameters=[
                _date_parameter("from", "Default: 30 days before `to` (by day), the first of the month "
                                        "11 months before `to`'s (by month)."),
                _date_parameter("to", "Default: today."),
                OpenApiParameter("interval", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=list(INTERVALS),
                                 description="The periods of `series`. Default: day."),
            ],
            responses={
                200: OpenApiResponse(ANALYTICS, description="The figures.",
                                     examples=[OpenApiExample("two days", value=ANALYTICS_EXAMPLE)]),
                400: error_response(
                    "A date that is not YYYY-MM-DD, `from` after `to`, a range too long for its "
                    "interval, an unknown interval.",
                    {"to": ["Must be on or after from (2026-11-02)."]},
                    FIELD_ERRORS,
                ),
                **AUTH,
            },
        )
