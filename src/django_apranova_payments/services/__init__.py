"""What the API and the admin do, and host code may call: create, refresh and cancel payments
(``payments``), the same purchase through Stripe Checkout (``checkout``), refund them
(``refunds``); ``keys`` holds the idempotency they share."""

from .checkout import CreatedCheckout, create_checkout
from .keys import request_fingerprint
from .payments import FREE_PREFIX, CreatedPayment, cancel_payment, create_payment, refresh_payment, store_payment
from .refunds import CreatedRefund, refund_payment

__all__ = [
    "FREE_PREFIX", "CreatedCheckout", "CreatedPayment", "CreatedRefund", "cancel_payment", "create_checkout",
    "create_payment", "refresh_payment",
    "refund_payment", "request_fingerprint", "store_payment",
]
