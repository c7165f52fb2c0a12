"""How refunds move: one function, as ``transitions.apply_intent`` is for payments (and
``disputes.apply_dispute`` for disputes, whose names this module also hands on).

``apply_refund`` takes Stripe's view of a Refund and applies it to the local row under the
payment's row lock, with the signals sent inside the same transaction. Every path goes
through it: the refund endpoint, the admin and host code (``services.refund_payment``), and
the webhook handlers (``webhooks.handlers``), whatever order Stripe's events arrive in. A
refund never moves backwards (a late ``pending`` after ``succeeded`` is ignored), with one
exception Stripe documents: a refund that succeeded can still fail when the card turns out to
be closed; that is applied, and ``amount_refunded`` goes down again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from . import money, signals
from .applied import Applied, is_stale, lock, newer, save_changed, stored_amount
from .disputes import (
    DISPUTE_EXCEEDS,
    DISPUTE_STAGE,
    KNOWN_DISPUTE_STATUSES,
    apply_dispute,
    decide_dispute,
    dispute_can_move,
)
from .gateway import RefundData
from .metadata import MARK, REFUND, Owner, refund_binding, verified_owner
from .models import Payment, Refund, RefundStatus, event_created_at, insert_unless_exists

logger = logging.getLogger(__name__)

R = RefundStatus

#: Which status each refund status may move to. ``failed`` and ``canceled`` are final;
#: ``succeeded`` may still become ``failed`` (Stripe: the card was closed meanwhile).
REFUND_TRANSITIONS: Mapping[str, frozenset[str]] = {
    R.PENDING: frozenset({R.REQUIRES_ACTION, R.SUCCEEDED, R.FAILED, R.CANCELED}),
    R.REQUIRES_ACTION: frozenset({R.PENDING, R.SUCCEEDED, R.FAILED, R.CANCELED}),
    R.SUCCEEDED: frozenset({R.FAILED}),
    R.FAILED: frozenset(),
    R.CANCELED: frozenset(),
}
REFUND_ENDED = frozenset({R.FAILED, R.CANCELED})

def refund_can_move(old: str, new: str) -> bool:
    return new == old or new in REFUND_TRANSITIONS.get(old, frozenset())


# ---------------------------------------------------------------------------------------
# Refunds


def apply_refund(
    payment: Payment,
    data: RefundData,
    *,
    event: Mapping[str, Any] | None = None,
    requested_by: Any = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    locked: bool = False,
) -> Applied:
    """Record Stripe's view of refund ``data`` of ``payment`` and apply its status.

    Locks the payment row for the rest of the surrounding transaction (pass ``locked=True``
    when the caller holds it already), so concurrent paths apply each change once.
    ``payment.amount_refunded`` counts the refunds that succeeded; ``payment_refunded`` is
    sent when a refund reaches ``succeeded``, ``refund_failed`` when it ends ``failed`` or
    ``canceled``. ``requested_by`` and the Idempotency-Key data are only used for a refund
    seen for the first time (made by ``services.refund_payment``); otherwise a refund this
    installation made keeps the requester its installation mark proves, and any other
    (Stripe's Dashboard) has none.
    """
    with transaction.atomic(savepoint=False):
        payment = lock(payment, locked)
        # A refund.created without our mark (a Dashboard refund) is new: insert it first and
        # spare the lookup; anything else is most likely stored already.
        likely_new = event is not None and event.get("type") == "refund.created" and MARK not in data.metadata
        refund = None if likely_new else Refund.objects.filter(stripe_refund=data.id).first()
        if refund is None:
            decision = _judge_first(payment, data)
            if not decision.applied:
                return decision
            first = _store_first(payment, data, event, requested_by, idempotency_key, fingerprint)
            if first is not None:
                return first
            refund = Refund.objects.get(stripe_refund=data.id)
        decision = _judge_move(payment, refund, data, event)
        if decision.applied:
            _move_refund(payment, refund, data, event)
        return decision


def decide_refund(payment: Payment, data: RefundData, *, event: Mapping[str, Any] | None = None) -> Applied:
    """What ``apply_refund`` would do with ``data`` and ``payment`` as they are, without
    locking, writing or signalling anything (a dry run): every guard applies (the refund is
    of this payment and in its currency, a known status, the status machine, staleness, never
    more than the payment)."""
    refund = Refund.objects.filter(stripe_refund=data.id).first()
    if refund is None:
        return _judge_first(payment, data)
    return _judge_move(payment, refund, data, event)


def _judge_first(payment: Payment, data: RefundData) -> Applied:
    refused = _refund_mismatch(payment, data)
    if refused:
        return Applied(None, "", "", refused)
    amount = stored_amount(data.amount, data.currency)
    if amount is None or (data.status == R.SUCCEEDED and payment.amount_refunded + amount > payment.amount):
        logger.error("Refund %s of %s would refund more than payment %s; not applied", data.id, amount, payment.pk)
        return Applied(None, "", "", EXCEEDS)
    return Applied(None, "", data.status, created=True)


#: The note of a refund that would take the payment's refunds past its amount.
EXCEEDS = "mismatch: the refunds would exceed the payment"


def _judge_move(payment: Payment, refund: Refund, data: RefundData, event: Mapping[str, Any] | None) -> Applied:
    refused = _refund_mismatch(payment, data)
    if refused:
        return Applied(refund, refund.status, refund.status, refused)
    old, new = refund.status, data.status
    if refund.payment_id != payment.pk or money.refund_minor_units(refund.amount, refund.currency) != data.amount:
        logger.error("Refund %s does not match the stored refund of payment %s; not applied", data.id, payment.pk)
        return Applied(refund, old, old, "mismatch: the stored refund differs from Stripe's")
    if not refund_can_move(old, new):
        logger.info("Refund %s: %s -> %s is not allowed, ignored", refund.stripe_refund, old, new)
        return Applied(refund, old, old, f"not allowed: refund is {old}, Stripe says {new}")
    if new not in (R.SUCCEEDED, *REFUND_ENDED) and is_stale(refund, event_created_at(event)):
        return Applied(refund, old, old, f"stale: the event is older than the last one applied ({old} -> {new})")
    if new == R.SUCCEEDED and old != R.SUCCEEDED and payment.amount_refunded + refund.amount > payment.amount:
        logger.error("Refund %s would refund more than payment %s; not applied", refund.stripe_refund, payment.pk)
        return Applied(refund, old, old, EXCEEDS)
    return Applied(refund, old, new)


def _refund_mismatch(payment: Payment, data: RefundData) -> str:
    if data.payment_intent not in (None, payment.stripe_payment_intent) or data.currency != payment.currency:
        logger.error(
            "Refund %s (%s, %s) is not a refund of payment %s (%s, %s); not applied",
            data.id, data.payment_intent, data.currency, payment.pk, payment.stripe_payment_intent, payment.currency,
        )
        return "mismatch: the refund is not of this payment or not in its currency"
    if data.status not in R.values:
        logger.warning("Refund %s has unexpected status %r: ignored", data.id, data.status)
        return f"unexpected status {data.status!r} at Stripe"
    if data.amount <= 0:
        return "mismatch: the refund's amount is not positive"
    if stored_amount(data.amount, data.currency) is None:
        return "mismatch: the refund's amount cannot be an amount of its currency"
    return ""


def _store_first(
    payment: Payment,
    data: RefundData,
    event: Mapping[str, Any] | None,
    requested_by: Any,
    idempotency_key: str | None,
    fingerprint: str,
) -> Applied | None:
    """Store a refund seen for the first time (``_judge_first`` allowed it) and apply its
    status; ``None`` when it turns out to be stored already."""
    if requested_by is None and event is not None:
        requested_by, idempotency_key, fingerprint = _requester(data)
    refund = Refund(
        payment=payment,
        stripe_refund=data.id,
        amount=stored_amount(data.amount, data.currency) or Decimal(0),  # never 0: _judge_first checked it
        currency=data.currency,
        status=data.status,
        reason=data.reason,
        failure_reason=data.failure_reason,
        requested_by=requested_by,
        metadata=dict(data.metadata),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint if idempotency_key is not None else "",
        last_event_created=event_created_at(event),
    )
    if not insert_unless_exists(refund, "stripe_refund"):
        return None
    logger.info("Refund %s of payment %s stored (%s)", data.id, payment.pk, data.status)
    _refund_changed(payment, refund, "", data.status, event)
    return Applied(refund, "", data.status, created=True)


def _requester(data: RefundData) -> tuple[Any, str | None, str]:
    """Who asked for a refund first seen in an event: the user its installation mark names
    when this installation made it (and its creating request died before storing it),
    nobody otherwise."""
    owner: Owner | None = verified_owner(
        data.metadata, data.amount, data.currency, kind=REFUND, bound=refund_binding(data.payment_intent or "")
    )
    if owner is None:
        return None, None, ""
    user = get_user_model()._default_manager.filter(pk=owner.user_pk).first()
    if user is None:
        return None, None, ""
    key = owner.idempotency_key
    if key and Refund.objects.filter(requested_by=user, idempotency_key=key).exists():
        return user, None, ""
    return user, owner.idempotency_key, owner.fingerprint


def _move_refund(payment: Payment, refund: Refund, data: RefundData, event: Mapping[str, Any] | None) -> None:
    """Apply a move ``_judge_move`` allowed."""
    old, new = refund.status, data.status
    values: dict[str, Any] = {"status": new, **newer(refund, event_created_at(event))}
    if data.failure_reason or new in REFUND_ENDED:
        values["failure_reason"] = data.failure_reason
    if data.reason:
        values["reason"] = data.reason
    save_changed(refund, values)
    if new != old:
        _refund_changed(payment, refund, old, new, event)


def _refund_changed(payment: Payment, refund: Refund, old: str, new: str, event: Mapping[str, Any] | None) -> None:
    """Keep ``amount_refunded`` in step with the refund's move, then tell the host."""
    delta = Decimal(0)
    if new == R.SUCCEEDED:
        delta = refund.amount
    elif old == R.SUCCEEDED:
        delta = -refund.amount
    if delta:
        payment.amount_refunded = payment.amount_refunded + delta
        payment.save(update_fields=["amount_refunded", "updated_at"])
    if old:
        logger.info("Refund %s of payment %s: %s -> %s", refund.stripe_refund, payment.pk, old, new)
    if new == R.SUCCEEDED:
        signals.payment_refunded.send(sender=Payment, payment=payment, refund=refund, event=event)
    elif new in REFUND_ENDED and old not in REFUND_ENDED:
        signals.refund_failed.send(sender=Payment, payment=payment, refund=refund, event=event, old_status=old)


def refunded_or_open_minor(payment: Payment) -> int:
    """The minor units of the payment's refunds that succeeded or may still succeed."""
    total = payment.amount - payment.amount_left_to_refund
    return money.refund_minor_units(total, payment.currency) if total else 0


__all__ = [
    "DISPUTE_EXCEEDS", "DISPUTE_STAGE", "EXCEEDS", "KNOWN_DISPUTE_STATUSES", "REFUND_ENDED", "REFUND_TRANSITIONS",
    "Applied", "apply_dispute", "apply_refund", "decide_dispute", "decide_refund", "dispute_can_move",
    "refund_can_move", "refunded_or_open_minor", "stored_amount",
]
