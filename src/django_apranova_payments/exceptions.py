"""What can go wrong, as a small tree.

``PaymentsError`` is the root of everything this package raises on purpose. The API-facing
errors are DRF ``APIException`` subclasses, so DRF's (or the host's) ``EXCEPTION_HANDLER``
renders them; none of them ever carries a Stripe key, a client secret or a stack trace.

::

    PaymentsError
    ├── GatewayError                   Stripe (or the simulator) failed us
    │   ├── CardError                  402  the card was declined
    │   ├── GatewayRetryLater               worth retrying: sets Retry-After
    │   │   ├── GatewayRateLimited     429  Stripe asked us to slow down
    │   │   └── GatewayUnavailable     503  network trouble or a Stripe 5xx
    │   ├── GatewayRejected            400  Stripe refused the request's parameters
    │   │   ├── TaxLocationInvalid     400  Stripe Tax cannot place billingAddress
    │   │   └── GatewayResourceMissing 400  Stripe has no such object (``param`` names it)
    │   ├── PaymentNotCancelable       409  the PaymentIntent is past the point of cancelation
    │   └── GatewayConfigurationError  500  wrong or revoked key, missing permission
    ├── PaymentNotRefundable           409  not succeeded, nothing left, or (below) disputed
    │   └── ChargeDisputed             409  the charge is disputed: the dispute decides
    ├── IdempotencyConflict            422  Idempotency-Key reused with another body
    ├── NotYourCard                    400  paymentMethod is not one of the caller's saved cards
    ├── PriceResolverError             500  PRICE_RESOLVER returned something unusable
    └── WebhookError                        a webhook delivery that is refused (400/413)
        ├── WebhookSignatureError      400
        ├── WebhookPayloadError        400
        └── WebhookTooLarge            413
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError


class PaymentsError(Exception):
    """Base class of every error raised by django-apranova-payments."""


class PaymentsAPIError(PaymentsError, APIException):
    """A PaymentsError with an HTTP status, rendered by DRF's exception handling."""


class GatewayError(PaymentsAPIError):
    """The payment gateway (Stripe) could not do what we asked."""

    status_code: int = status.HTTP_502_BAD_GATEWAY
    default_detail = _("The payment provider could not complete the request.")
    default_code = "gateway_error"


class CardError(GatewayError):
    """The customer's card was declined; the message is safe to show to the customer."""

    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = _("The card was declined.")
    default_code = "card_declined"


class GatewayRetryLater(GatewayError):
    """A failure worth retrying: DRF's exception handler turns ``wait`` into ``Retry-After``."""

    default_wait = 5

    def __init__(self, detail: Any = None, code: str | None = None, wait: int | None = None) -> None:
        super().__init__(detail, code)
        self.wait = self.default_wait if wait is None else wait


class GatewayRateLimited(GatewayRetryLater):
    """Stripe rate-limited us; the client should retry after ``wait`` seconds."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many requests to the payment provider. Try again shortly.")
    default_code = "rate_limited"
    default_wait = 2


class GatewayUnavailable(GatewayRetryLater):
    """Stripe could not be reached, timed out or answered with a server error."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The payment provider is unavailable. Try again shortly.")
    default_code = "gateway_unavailable"


class GatewayRejected(GatewayError):
    """Stripe refused the request's parameters (for example an amount it will not charge)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The payment provider rejected the request.")
    default_code = "gateway_rejected"


class TaxLocationInvalid(GatewayRejected):
    """Stripe Tax cannot place the billing address (``customer_tax_location_invalid``): a 400
    on ``billingAddress``, before any PaymentIntent is created."""

    default_detail = _("Stripe Tax cannot place this address for tax: check the country and postal code.")
    default_code = "customer_tax_location_invalid"

    def __init__(self) -> None:
        super().__init__({"billingAddress": [self.default_detail]}, self.default_code)


class GatewayResourceMissing(GatewayRejected):
    """Stripe has no object with the id sent in ``param`` (``resource_missing``): deleted in
    the Dashboard, or made with other keys."""

    def __init__(self, detail: Any = None, code: str | None = None, param: str | None = None) -> None:
        super().__init__(detail, code)
        self.param = param


class PaymentNotCancelable(GatewayError):
    """The PaymentIntent can no longer be canceled (it is processing or has succeeded)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This payment can no longer be canceled.")
    default_code = "not_cancelable"


class GatewayConfigurationError(GatewayError):
    """Stripe refused our credentials. The details go to the log, never to the client."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = _("Payments are misconfigured on the server.")
    default_code = "gateway_misconfigured"


class PaymentNotRefundable(PaymentsAPIError):
    """The payment cannot be refunded: it has not succeeded, or nothing is left of it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Only a payment that succeeded can be refunded.")
    default_code = "not_refundable"
    nothing_left = _("Nothing is left to refund on this payment.")
    free = _("A free payment has nothing to refund.")


class ChargeDisputed(PaymentNotRefundable):
    """The payment's charge is disputed: Stripe refuses refunds until the dispute is settled."""

    default_detail = _("This payment is disputed: Stripe does not refund a disputed charge.")
    default_code = "charge_disputed"


class IdempotencyConflict(PaymentsAPIError):
    """The ``Idempotency-Key`` was already used by this user with a different request body."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _(
        "This Idempotency-Key was already used with a different request body. "
        "Use a new key for a new payment."
    )
    default_code = "idempotency_key_reused"
    refund_detail = _(
        "This Idempotency-Key was already used with a different request body. "
        "Use a new key for a new refund."
    )


class NotYourCard(PaymentsError, ValidationError):
    """The ``paymentMethod`` of create-payment is not one of the caller's saved cards: a 400 on
    that field, the same whether the card is unknown, another's or attached to no one."""

    default_detail = _("This is not one of your saved cards.")
    default_code = "not_your_card"

    def __init__(self) -> None:
        super().__init__({"paymentMethod": [self.default_detail]}, self.default_code)


class PriceResolverError(PaymentsAPIError):
    """The host's ``PRICE_RESOLVER`` returned something that cannot be charged (not a mapping,
    a float amount, an amount breaking the money rules, an unknown currency, bad metadata), or
    is not callable. A bug on the server, not in the request: what was wrong goes to the log,
    naming ``PRICE_RESOLVER``; the client gets this generic message."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = _("Payments are misconfigured on the server.")
    default_code = "price_resolver_error"


class WebhookError(PaymentsError):
    """A webhook delivery refused before anything was stored."""

    status_code: int = status.HTTP_400_BAD_REQUEST


class WebhookSignatureError(WebhookError):
    """Missing, malformed, expired or non-matching ``Stripe-Signature``."""


class WebhookPayloadError(WebhookError):
    """A correctly signed body that is not a Stripe event."""


class WebhookTooLarge(WebhookError):
    """The body is larger than ``WEBHOOK_MAX_BYTES``."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
