"""The payment endpoints, kept importable here: they live in ``api.views``."""

from .api.views import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    AnalyticsView,
    CreatePaymentView,
    PaymentAPIView,
    PaymentCancelView,
    PaymentDetailView,
    PaymentListView,
    PaymentPagination,
    PaymentRefundView,
    UpdateStatusView,
    idempotency_key,
    missing_slash,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "AnalyticsView",
    "CreatePaymentView",
    "PaymentAPIView",
    "PaymentCancelView",
    "PaymentDetailView",
    "PaymentListView",
    "PaymentPagination",
    "PaymentRefundView",
    "UpdateStatusView",
    "idempotency_key",
    "missing_slash",
]
