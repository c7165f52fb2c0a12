"""Refund a payment at Stripe: what the refund endpoint, the admin's action and host code call."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from .. import exceptions, money
from ..gateway import RefundData, get_gateway
from ..metadata import REFUND, own_metadata, refund_binding
from ..models import Payment, Refund, RefundReason
from ..refunds import apply_refund
from .keys import request_fingerprint, stripe_key

logger = logging.getLogger("django_apranova_payments.services")


@dataclass(frozen=True)
class CreatedRefund:
    refund: Refund
    replayed: bool


def refund_payment(
    payment: Payment,
    amount: Decimal | None = None,
    reason: str = "",
    requested_by: Any = None,
    idempotency_key: str | None = None,
    *,
    fingerprint: str | None = None,
) -> CreatedRefund:
    """Refund ``amount`` (major units; ``None``: all that is left) of a succeeded payment at
    Stripe, store the ``Refund`` and apply its status (``payment_refunded`` is sent when
    Stripe answers ``succeeded``)::

        created = refund_payment(payment, Decimal("10.00"), "requested_by_customer", request.user)
        created.refund.status  # "succeeded" or "pending"

    What is left is decided under the payment's row lock (the amount less the refunds that
    succeeded or are pending), so two refunds at once never exceed the payment. Raises DRF's
    ``ValidationError`` for an amount that is not a positive amount of the payment's
    currency or is more than what is left, or for an unknown ``reason``;
    ``PaymentNotRefundable`` (409) when the payment has not succeeded or nothing is left;
    ``ChargeDisputed`` (409) while a dispute stops refunds; gateway errors as for payments.

    With an ``idempotency_key`` (scoped to ``requested_by``) a retry returns the first refund
    (``replayed``), and the same key with another ``fingerprint`` (by default, a digest of
    the payment, amount and reason) raises ``IdempotencyConflict``.

    A trusted call: it asks no permission. The refund endpoint and the admin ask
    ``refund_payment`` before they call it; host code that calls it on behalf of a user
    must decide first that this user may move the money (``requested_by`` is only recorded).
    """
    if reason not in ("", *RefundReason.values):
        raise ValidationError(
            {"reason": [_("Must be one of: %(values)s.") % {"values": ", ".join(RefundReason.values)}]}, code="invalid"
        )
    if idempotency_key is None:
        fingerprint = ""
    elif fingerprint is None:
        fingerprint = request_fingerprint(
            {"payment": payment.stripe_payment_intent, "amount": None if amount is None else str(amount),
             "reason": reason}
        )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if idempotency_key is not None:  # under the lock: a concurrent retry waits, then replays
            existing = Refund.objects.filter(requested_by=requested_by, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.request_fingerprint != fingerprint:
                    raise exceptions.IdempotencyConflict(exceptions.IdempotencyConflict.refund_detail)
                return CreatedRefund(existing, replayed=True)
        minor = _refund_minor_units(payment, amount)
        data = _create_refund_at_stripe(payment, minor, reason, requested_by, idempotency_key, fingerprint)
        result = apply_refund(
            payment, data, requested_by=requested_by, idempotency_key=idempotency_key,
            fingerprint=fingerprint, locked=True,
        )
        if result.obj is None:  # refused: already logged as an error
            raise exceptions.GatewayError()
        logger.info("Refund %s of payment %s: %s %s", data.id, payment.pk, minor, payment.currency)
        return CreatedRefund(result.obj, replayed=not result.created)


def _create_refund_at_stripe(
    payment: Payment, minor: int, reason: str, requested_by: Any, idempotency_key: str | None, fingerprint: str
) -> RefundData:
    """Ask Stripe for the refund (with the installation mark, and an idempotency key derived
    from the client's); ``GatewayError`` when Stripe answers with another refund than asked."""
    requester_pk = "" if requested_by is None else requested_by.pk
    assert payment.stripe_payment_intent is not None  # a succeeded payment's (_refund_minor_units)
    data = get_gateway().create_refund(
        payment_intent=payment.stripe_payment_intent,
        amount=minor,
        reason=reason,
        metadata=own_metadata(
            user_pk=requester_pk, amount_minor=minor, currency=payment.currency,
            host=refund_binding(payment.stripe_payment_intent),
            idempotency_key=idempotency_key, fingerprint=fingerprint, kind=REFUND,
        ),
        idempotency_key=stripe_key("apranova-refund-", idempotency_key, requester_pk, payment.stripe_payment_intent),
    )
    if data.amount != minor or data.currency != payment.currency or data.payment_intent not in (
        None, payment.stripe_payment_intent,
    ):
        logger.error("Refund %s came back as %s %s of %s", data.id, data.amount, data.currency, data.payment_intent)
        raise exceptions.GatewayError()
    return data


def _refund_minor_units(payment: Payment, amount: Decimal | None) -> int:
    """The refund's amount in minor units, checked against what is left (row locked)."""
    if payment.is_free:
        raise exceptions.PaymentNotRefundable(exceptions.PaymentNotRefundable.free)
    if payment.status != Payment.Status.SUCCEEDED or payment.stripe_payment_intent is None:
        raise exceptions.PaymentNotRefundable()
    if payment.is_disputed:
        raise exceptions.ChargeDisputed()
    left = payment.amount_left_to_refund
    if left <= 0:
        raise exceptions.PaymentNotRefundable(exceptions.PaymentNotRefundable.nothing_left)
    if amount is None:
        amount = left
    try:
        minor = money.refund_minor_units(amount, payment.currency)
    except money.MoneyError as exc:
        raise ValidationError({"amount": [str(exc)]}, code="invalid") from None
    if minor > money.refund_minor_units(left, payment.currency):
        shown = money.format_amount(left, payment.currency)
        left_message = _("At most %(amount)s is left to refund.") % {"amount": shown}
        raise ValidationError({"amount": [left_message]}, code="invalid")
    return minor
