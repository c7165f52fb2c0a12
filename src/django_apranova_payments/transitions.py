"""How a payment's status moves: the one function every path goes through.

Stripe's PaymentIntent status is mapped to the five local statuses, and only the
transitions below are applied, under a row lock, with the signals sent inside the same
transaction. Anything else (a late ``processing`` after ``succeeded``, an event for a
canceled payment) is logged and ignored, so duplicate and out-of-order deliveries can never
move a payment backwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from . import checkout_tax, receipts, signals
from .gateway import CheckoutSessionData, PaymentIntentData
from .models import TERMINAL_STATUSES, Payment, PaymentStatus, event_created_at

logger = logging.getLogger(__name__)

S = PaymentStatus

#: Which status each status may move to. ``succeeded`` and ``canceled`` are terminal;
#: ``failed`` is not, because Stripe lets the customer retry on the same PaymentIntent
#: (and lets the merchant cancel it).
ALLOWED_TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.FAILED: frozenset({S.PROCESSING, S.SUCCEEDED, S.PENDING, S.CANCELED}),
    S.SUCCEEDED: frozenset(),
    S.CANCELED: frozenset(),
}

_PENDING_STRIPE_STATUSES = {"requires_payment_method", "requires_confirmation", "requires_action"}

_STATUS_SIGNALS: Mapping[str, Signal] = {
    S.PROCESSING: signals.payment_processing,
    S.SUCCEEDED: signals.payment_succeeded,
    S.FAILED: signals.payment_failed,
    S.CANCELED: signals.payment_canceled,
}


def status_for_intent(intent: PaymentIntentData) -> str | None:
    """The local status for a Stripe PaymentIntent state, or ``None`` when it has none
    (``requires_capture`` and other states a one-time automatic-capture payment never
    reaches)."""
    if intent.status in _PENDING_STRIPE_STATUSES:
        # Stripe puts a failed attempt back to requires_payment_method with
        # last_payment_error set; an error on any of the three means the attempt failed.
        return S.FAILED if intent.has_failure else S.PENDING
    if intent.status in (S.PROCESSING, S.SUCCEEDED, S.CANCELED):
        return intent.status
    return None


def can_transition(old: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(old, frozenset())


@dataclass(frozen=True)
class TransitionResult:
    """What ``apply_intent`` did. ``refused`` is empty when Stripe's view was applied (or
    already held), else why it was not: a sentence fit for a log line or an event's note,
    starting with one of ``REFUSALS``."""

    payment: Payment
    old_status: str
    new_status: str
    refused: str = ""

    @property
    def changed(self) -> bool:
        return self.old_status != self.new_status

    @property
    def applied(self) -> bool:
        return not self.refused


#: How each refusal's note begins.
MISMATCH = "mismatch"
UNEXPECTED_STATUS = "unexpected status"
NOT_ALLOWED = "not allowed"
STALE = "stale"
REFUSALS = (MISMATCH, UNEXPECTED_STATUS, NOT_ALLOWED, STALE)


def apply_intent(
    payment: Payment,
    intent: PaymentIntentData,
    *,
    event: Mapping[str, Any] | None = None,
    locked: bool = False,
) -> TransitionResult:
    """Apply Stripe's view of ``intent`` to ``payment`` and return what happened.

    The row is locked (``SELECT … FOR UPDATE``) for the rest of the surrounding
    transaction, so two paths seeing the same change at once apply it once; pass
    ``locked=True`` when the caller already selected it for update in this transaction.
    Joins the caller's transaction when there is one (no savepoint): an exception from a
    signal receiver rolls back the caller's work too.

    ``event`` is the webhook event the intent came from. Its creation time keeps an event
    older than the last one applied from moving the payment between open statuses (see
    ``_is_stale``); terminal statuses need no such guard, since they are never left.

    The PaymentIntent of a Checkout payment made with ``TAX`` may be for the line plus the
    Session's tax: the payment takes that tax from the Session first, once
    (``checkout_tax.take_from_session``), and the PaymentIntent is checked against the result.
    """
    def judge(locked_payment: Payment) -> tuple[TransitionResult, dict[str, Any]]:
        checkout_tax.take_from_session(locked_payment, intent)
        return decide(locked_payment, intent, event=event), _intent_values(intent)

    return _apply(payment, event, locked, judge)


def _apply(
    payment: Payment,
    event: Mapping[str, Any] | None,
    locked: bool,
    judge: Callable[[Payment], tuple[TransitionResult, dict[str, Any]]],
) -> TransitionResult:
    """Lock ``payment`` (unless ``locked``), ``judge`` it (what to do, and the fields Stripe's
    object sets beside the status), write and signal what changed."""
    with transaction.atomic(savepoint=False):
        if not locked:
            payment = Payment.objects.select_for_update().get(pk=payment.pk)
        decision, values = judge(payment)
        if not decision.applied:
            return decision
        changed_fields = _update_fields(payment, values, decision.new_status, event_created_at(event))
        if changed_fields:
            payment.save(update_fields=[*changed_fields, "updated_at"])
        if decision.changed:
            _send_signals(payment, decision.old_status, decision.new_status, event)
        return decision


def complete_free(payment: Payment) -> TransitionResult:
    """A free payment (``ALLOW_FREE``, no PaymentIntent), stored ``pending`` in the caller's
    transaction: ``succeeded`` now, with the same signals as any payment that succeeds
    (``event=None``)."""
    old = payment.status
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = timezone.now()
    payment.receipt_number = receipts.number_if_due(payment)
    payment.save(update_fields=["status", "succeeded_at", "receipt_number", "updated_at"])
    _send_signals(payment, old, payment.status, None)
    return TransitionResult(payment, old, payment.status)


def decide(payment: Payment, intent: PaymentIntentData, *, event: Mapping[str, Any] | None = None) -> TransitionResult:
    """What ``apply_intent`` would do with ``intent`` and ``payment`` as they are, without
    locking, writing or signalling anything (a dry run): every guard applies, the amount
    and currency check, the status machine and the staleness of ``event``."""
    old = payment.status
    new, refused = _target_status(payment, intent)
    if not refused and _is_stale(payment, old, new, event_created_at(event)):
        refused = f"{STALE}: the event is older than the last one applied ({old} -> {new} ignored)"
    if refused:
        return TransitionResult(payment, old, old, refused)
    return TransitionResult(payment, old, new)


def _is_stale(payment: Payment, old: str, new: str, event_created: datetime | None) -> bool:
    """Whether a webhook event is older than what the payment already reflects.

    Moves into a terminal status are never stale: Stripe never leaves one. Moves between
    open statuses (pending, processing, failed) need an event at least as new as the last
    one applied, and ``failed -> pending`` (a retry needing authentication) a strictly
    newer one, since a decline and the action that preceded it often share a second.
    """
    last = payment.last_event_created
    if new in TERMINAL_STATUSES or event_created is None or last is None:
        return False
    stale = event_created < last or (old == S.FAILED and new == S.PENDING and event_created == last)
    if stale:
        logger.info(
            "Payment %s: event from %s is older than the last applied (%s); %s -> %s ignored",
            payment.stripe_id, event_created.isoformat(), last.isoformat(), old, new,
        )
    return stale


def _target_status(payment: Payment, intent: PaymentIntentData) -> tuple[str, str]:
    """``(status to move to, "")``, or ``("", why not)`` to leave the payment untouched."""
    if payment.stripe_payment_intent not in (None, intent.id):  # None: a Checkout payment it now joins
        raise ValueError(f"{intent.id} is not the PaymentIntent of payment {payment.pk}")
    if intent.amount != payment.amount_minor or intent.currency != payment.currency:
        logger.error(
            "PaymentIntent %s is %s %s at Stripe but payment %s is %s %s: not applied",
            intent.id, intent.amount, intent.currency,
            payment.pk, payment.amount_minor, payment.currency,
        )
        return "", (
            f"{MISMATCH}: Stripe has {intent.amount} {intent.currency} (minor units), "
            f"the payment {payment.amount_minor} {payment.currency}"
        )
    new = status_for_intent(intent)
    if new is None:
        logger.warning("PaymentIntent %s has unexpected status %r: ignored", intent.id, intent.status)
        return "", f"{UNEXPECTED_STATUS} {intent.status!r} at Stripe"
    if new != payment.status and not can_transition(payment.status, new):
        logger.info(
            "PaymentIntent %s: %s -> %s is not allowed, ignored (Stripe status %s)",
            intent.id, payment.status, new, intent.status,
        )
        return "", f"{NOT_ALLOWED}: payment is {payment.status}, Stripe says {new}"
    return new, ""


# ---------------------------------------------------------------------------------------
# Stripe Checkout: the Session's events move the same payment through the same machine

#: The status each ``checkout.session.*`` event says, beside ``completed`` (which says what
#: its ``payment_status`` says).
_SESSION_EVENT_STATUSES: Mapping[str, str] = {
    "checkout.session.async_payment_succeeded": S.SUCCEEDED,
    "checkout.session.async_payment_failed": S.FAILED,
    "checkout.session.expired": S.CANCELED,
}


def status_for_session(session: CheckoutSessionData, event_type: str | None = None) -> str | None:
    """The local status a Checkout Session shows (``event_type``: the event it came in):
    expired → canceled; paid → succeeded; complete but unpaid (a delayed method) → processing,
    or failed after ``async_payment_failed``; open → pending."""
    if event_type is not None and event_type in _SESSION_EVENT_STATUSES:
        return _SESSION_EVENT_STATUSES[event_type]
    if session.status == "expired":
        return S.CANCELED
    if session.payment_status in ("paid", "no_payment_required"):
        return S.SUCCEEDED
    return {"complete": S.PROCESSING, "open": S.PENDING}.get(session.status)


def apply_session(
    payment: Payment,
    session: CheckoutSessionData,
    *,
    event: Mapping[str, Any] | None = None,
    locked: bool = False,
) -> TransitionResult:
    """``apply_intent`` for a Checkout Session (a ``checkout.session.*`` event, or the Session
    retrieved from Stripe): the same guards, the same machine, the same signals, once per
    transition; the PaymentIntent Stripe made for it is recorded on the way."""
    return _apply(payment, event, locked, lambda locked_payment: (
        decide_session(locked_payment, session, event=event), _session_values(locked_payment, session),
    ))


def decide_session(
    payment: Payment, session: CheckoutSessionData, *, event: Mapping[str, Any] | None = None
) -> TransitionResult:
    """What ``apply_session`` would do, without locking, writing or signalling (``decide``
    for a Checkout Session)."""
    old, event_type = payment.status, event.get("type") if event else None
    if session.id != payment.stripe_checkout_session:
        raise ValueError(f"{session.id} is not the Checkout Session of payment {payment.pk}")
    new = status_for_session(session, event_type)
    tax = checkout_tax.session_fit(payment, session)
    if tax is not None and tax.refused:
        logger.error("Checkout Session %s does not fit payment %s: %s", session.id, payment.pk, tax.refused)
        refused = tax.refused
    elif tax is None and session.amount_total is not None and (
        session.amount_total != payment.amount_minor or session.currency != payment.currency
    ):
        logger.error("Checkout Session %s is %s %s at Stripe but payment %s is %s %s: not applied",
                     session.id, session.amount_total, session.currency, payment.pk, payment.amount_minor,
                     payment.currency)
        refused = f"{MISMATCH}: Stripe has {session.amount_total} {session.currency} (minor units), " \
                  f"the payment {payment.amount_minor} {payment.currency}"
    elif new is None:
        refused = f"{UNEXPECTED_STATUS} {session.status!r} of the Checkout Session at Stripe"
    elif new != old and not can_transition(old, new):
        refused = f"{NOT_ALLOWED}: payment is {old}, the Checkout Session says {new}"
    elif _is_stale(payment, old, new, event_created_at(event)):
        refused = f"{STALE}: the event is older than the last one applied ({old} -> {new} ignored)"
    else:
        return TransitionResult(payment, old, new)
    return TransitionResult(payment, old, old, refused)


def _session_values(payment: Payment, session: CheckoutSessionData) -> dict[str, Any]:
    """The PaymentIntent the Session made, once there is one (never replacing one known), and
    the Session's tax (``checkout_tax.session_fit``: only called once it fits)."""
    tax = checkout_tax.session_fit(payment, session)
    values: dict[str, Any] = {**(tax.values if tax else {}), "livemode": session.livemode}
    if payment.stripe_payment_intent is None and session.payment_intent:
        values["stripe_payment_intent"] = session.payment_intent
    return values


def _intent_values(intent: PaymentIntentData) -> dict[str, Any]:
    """What a PaymentIntent sets beside the status (the failure fields only when failed)."""
    return {"stripe_payment_intent": intent.id, "stripe_status": intent.status, "livemode": intent.livemode,
            "failure_code": intent.failure_code, "failure_message": intent.failure_message}


def _update_fields(
    payment: Payment, stripe_values: Mapping[str, Any], new: str, event_created: datetime | None
) -> list[str]:
    values: dict[str, Any] = {**stripe_values, "status": new}
    if new != S.FAILED:
        values.update(failure_code="", failure_message="")
    if new == S.SUCCEEDED and payment.succeeded_at is None:
        values["succeeded_at"] = timezone.now()
    if new == S.SUCCEEDED and (number := receipts.number_if_due(payment)) is not None:
        values["receipt_number"] = number
    if event_created is not None and (
        payment.last_event_created is None or event_created > payment.last_event_created
    ):
        values["last_event_created"] = event_created
    changed = [name for name, value in values.items() if getattr(payment, name) != value]
    for name in changed:
        setattr(payment, name, values[name])
    return changed


def _send_signals(payment: Payment, old: str, new: str, event: Mapping[str, Any] | None) -> None:
    logger.info("Payment %s (%s): %s -> %s", payment.pk, payment.stripe_id, old, new)
    signals.payment_status_changed.send(
        sender=Payment, payment=payment, old_status=old, new_status=new, event=event
    )
    specific = _STATUS_SIGNALS.get(new)
    if specific is not None:
        specific.send(sender=Payment, payment=payment, event=event)
