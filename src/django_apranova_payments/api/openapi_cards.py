# mypy: disable-error-code="no-untyped-call"
# (drf-spectacular's extension base classes have an untyped __init_subclass__.)
"""OpenAPI descriptions of the saved-card endpoints, ``payment-methods/`` and
``payment-methods/<pm>/`` (drf-spectacular view extensions, registered as ``openapi_views``'s are)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from .openapi import AUTH, GATEWAY, RETRY_AFTER, error_response
from .openapi_views import _replace
from .serializers import PaymentMethodSerializer

CARD_EXAMPLE = {
    "id": "pm_1QxExample0000000000000", "brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2034,
    "expired": False,
}


class PaymentMethodListViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.payment_methods.PaymentMethodListView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "get",
            operation_id="payment_methods_list",
            summary="The caller's saved cards",
            description=(
                "The cards saved on the caller's own Stripe Customer (create-payment with "
                "`savePaymentMethod`), newest first, read from Stripe: nothing of a card but "
                "these keys is shown or stored. Throttled with THROTTLE_RATES[\"payment_methods\"]."
            ),
            parameters=[RETRY_AFTER],
            responses={
                200: OpenApiResponse(
                    PaymentMethodSerializer(many=True), description="The saved cards (maybe none).",
                    examples=[OpenApiExample("one card", value=[CARD_EXAMPLE], response_only=True)],
                ),
                **AUTH,
                **GATEWAY,
            },
        )


class PaymentMethodDetailViewExtension(OpenApiViewExtension):
    target_class = "django_apranova_payments.api.payment_methods.PaymentMethodDetailView"

    def view_replacement(self) -> type:
        return _replace(
            self.target_class,
            "delete",
            operation_id="payment_methods_destroy",
            summary="Forget one of the caller's saved cards",
            description="Detaches the card from the caller's Stripe Customer; it can no longer be paid with.",
            parameters=[
                OpenApiParameter(
                    "payment_method", OpenApiTypes.STR, OpenApiParameter.PATH,
                    description="The saved card's id (pm_…).",
                ),
                RETRY_AFTER,
            ],
            responses={
                204: OpenApiResponse(description="Forgotten."),
                **AUTH,
                404: error_response("No such saved card of the caller's (another's, or unknown).", "Not found."),
                **GATEWAY,
            },
        )
