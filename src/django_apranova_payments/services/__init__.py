"""What the API and the admin do, and host code may call: create, refresh and cancel payments
(``payments``), refund them (``refunds``); ``keys`` holds the idempotency both share."""

from .keys import request_fingerprint
from .payments import FREE_PREFIX, CreatedPayment, cancel_payment, create_payment, refresh_payment, store_payment
from .refunds import CreatedRefund, refund_payment

__all__ = [
    "FREE_PREFIX", "CreatedPayment", "CreatedRefund", "cancel_payment", "create_payment", "refresh_payment",
    "refund_payment", "request_fingerprint", "store_payment",
]
