"""What we store: payments, the coupons they apply, their refunds and disputes, the users'
Stripe Customers, and the verified webhook events that moved them. One module per record
(``payments``, ``coupons``, ``customers``, ``refunds``, ``disputes``, ``events``,
``receipts``), the
statuses they share (``choices``) and the event store's one-statement writes
(``event_store``); every name is importable from here, as the migrations and hosts import
them."""

from .choices import (
    DISPUTE_CLOSED_STATUSES,
    DONE_OUTCOMES,
    REFUND_OPEN_STATUSES,
    REPLAY_ORDER,
    TERMINAL_STATUSES,
    DisputeStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    WebhookEventOutcome,
)
from .coupons import CODE_ALPHABET, Coupon, CouponQuerySet, holding_redemption, normalize_code
from .customers import Customer, PendingCustomerDeletion
from .disputes import Dispute
from .event_store import Claimed, WebhookEventQuerySet, event_created_at
from .events import WebhookEvent
from .payments import Payment, PaymentQuerySet, concrete_field, insert_unless_exists
from .receipts import ReceiptSequence
from .refunds import Refund

__all__ = [
    "CODE_ALPHABET", "DISPUTE_CLOSED_STATUSES", "DONE_OUTCOMES", "REFUND_OPEN_STATUSES", "REPLAY_ORDER",
    "TERMINAL_STATUSES", "Claimed", "Coupon", "CouponQuerySet", "Customer", "Dispute", "DisputeStatus", "Payment",
    "PaymentQuerySet", "PaymentStatus", "PendingCustomerDeletion", "ReceiptSequence", "Refund", "RefundReason",
    "RefundStatus", "WebhookEvent", "WebhookEventOutcome", "WebhookEventQuerySet", "concrete_field",
    "event_created_at", "holding_redemption", "insert_unless_exists", "normalize_code",
]
