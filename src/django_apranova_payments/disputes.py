"""How disputes move: ``apply_dispute`` takes Stripe's view of a Dispute and applies it to the
local row under the payment's row lock, signals inside the same transaction, as
``refunds.apply_refund`` does for refunds. A dispute only moves forward (``dispute_can_move``)
over every status of the pinned API version; a status Stripe adds later is stored as it
comes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from . import signals
from .applied import Applied, is_stale, lock, newer, save_changed, stored_amount
from .conf import app_settings
from .gateway import DisputeData
from .models import DISPUTE_CLOSED_STATUSES, Dispute, DisputeStatus, Payment, event_created_at

logger = logging.getLogger(__name__)

D = DisputeStatus

#: How far along each open dispute status is: an open dispute only moves forward. Inquiries
#: (``warning_…``) may become chargebacks.
DISPUTE_STAGE: Mapping[str, int] = {
    D.WARNING_NEEDS_RESPONSE: 0,
    D.WARNING_UNDER_REVIEW: 1,
    D.NEEDS_RESPONSE: 2,
    D.UNDER_REVIEW: 3,
}
#: An appeal of a lost dispute: ``lost → appeal_needs_response → appeal_under_review →
#: won | lost``.
DISPUTE_APPEAL_STAGE: Mapping[str, int] = {D.APPEAL_NEEDS_RESPONSE: 0, D.APPEAL_UNDER_REVIEW: 1}
#: Every status of the pinned API version; any other is one Stripe added since.
KNOWN_DISPUTE_STATUSES = frozenset(D.values)


def dispute_can_move(old: str, new: str) -> bool:
    """Whether a dispute may go from ``old`` to ``new``: an open dispute moves forward or
    closes; a lost one may be appealed, and an appeal moves forward or ends won or lost; the
    other closed statuses are final. A status Stripe added since (either side) is taken as
    Stripe says it."""
    if new == old or old not in KNOWN_DISPUTE_STATUSES or new not in KNOWN_DISPUTE_STATUSES:
        return True
    if old in DISPUTE_STAGE:
        # Forward, closed, or an appeal whose "lost" this installation never saw.
        return DISPUTE_STAGE.get(new, len(DISPUTE_STAGE)) > DISPUTE_STAGE[old]
    if old == D.LOST:
        return new in DISPUTE_APPEAL_STAGE
    if old in DISPUTE_APPEAL_STAGE:
        return new in (D.WON, D.LOST) or DISPUTE_APPEAL_STAGE.get(new, -1) > DISPUTE_APPEAL_STAGE[old]
    return False  # won, warning_closed, prevented


def apply_dispute(
    payment: Payment, data: DisputeData, *, event: Mapping[str, Any] | None = None, locked: bool = False
) -> Applied:
    """Record Stripe's view of dispute ``data`` of ``payment``: ``payment_disputed`` once when
    it is first seen, ``dispute_closed`` once when it reaches ``won``, ``lost`` or
    ``warning_closed``. A dispute never moves back to an earlier stage."""
    with transaction.atomic(savepoint=False):
        payment = lock(payment, locked)
        dispute = Dispute.objects.filter(stripe_dispute=data.id).first()
        decision = _judge_dispute(payment, dispute, data, event)
        if not decision.applied:
            return decision
        event_created = event_created_at(event)
        values: dict[str, Any] = {
            "amount": stored_amount(data.amount, data.currency),
            "reason": data.reason,
            "status": data.status,
            "is_charge_refundable": data.is_charge_refundable,
            "evidence_due_by": (
                datetime.fromtimestamp(data.evidence_due_by, tz=UTC) if data.evidence_due_by is not None else None
            ),
        }
        if dispute is None:
            dispute = Dispute.objects.create(
                payment=payment, stripe_dispute=data.id, currency=data.currency,
                last_event_created=event_created, **values,
            )
            logger.warning("Payment %s (%s) is disputed: %s, %s", payment.pk, payment.stripe_payment_intent,
                           data.id, data.status)
            signals.payment_disputed.send(sender=Payment, payment=payment, dispute=dispute, event=event)
            if dispute.status in DISPUTE_CLOSED_STATUSES:
                signals.dispute_closed.send(sender=Payment, payment=payment, dispute=dispute, event=event)
            return Applied(dispute, "", dispute.status, created=True)
        old = dispute.status
        save_changed(dispute, {**values, **newer(dispute, event_created)})
        if old != dispute.status:
            logger.info("Dispute %s of payment %s: %s -> %s", data.id, payment.pk, old, dispute.status)
            if dispute.status in DISPUTE_CLOSED_STATUSES:
                signals.dispute_closed.send(sender=Payment, payment=payment, dispute=dispute, event=event)
        return Applied(dispute, old, dispute.status)


def decide_dispute(payment: Payment, data: DisputeData, *, event: Mapping[str, Any] | None = None) -> Applied:
    """What ``apply_dispute`` would do, without locking, writing or signalling (a dry run)."""
    return _judge_dispute(payment, Dispute.objects.filter(stripe_dispute=data.id).first(), data, event)


#: The note of a dispute for more than its payment: a customer can dispute at most what they paid.
DISPUTE_EXCEEDS = "mismatch: the dispute's amount is more than the payment's"


def _judge_dispute(
    payment: Payment, dispute: Dispute | None, data: DisputeData, event: Mapping[str, Any] | None
) -> Applied:
    old = "" if dispute is None else dispute.status
    refused = ""
    if data.payment_intent not in (None, payment.stripe_payment_intent) or data.currency != payment.currency:
        logger.error("Dispute %s is not a dispute of payment %s; not applied", data.id, payment.pk)
        refused = "mismatch: the dispute is not of this payment or not in its currency"
    elif (amount := stored_amount(data.amount, data.currency)) is None:
        refused = "mismatch: the dispute's amount cannot be an amount of its currency"
    elif amount > payment.amount:
        logger.error("Dispute %s of %s is more than payment %s (%s); not applied", data.id, amount, payment.pk,
                     payment.amount)
        refused = DISPUTE_EXCEEDS
    elif dispute is not None and dispute.payment_id != payment.pk:
        refused = "mismatch: the stored dispute is of another payment"
    elif dispute is not None and not dispute_can_move(old, data.status):
        logger.info("Dispute %s: %s -> %s is not allowed, ignored", data.id, old, data.status)
        refused = f"not allowed: dispute is {old}, Stripe says {data.status}"
    elif dispute is not None and is_stale(dispute, event_created_at(event)):
        refused = "stale: the event is older than the last one applied"
    if refused:
        return Applied(dispute, old, old, refused)
    if data.status not in KNOWN_DISPUTE_STATUSES:
        logger.warning("Dispute %s has status %r, unknown in API version %s: stored as Stripe sent it",
                       data.id, data.status, app_settings.STRIPE_API_VERSION)
    return Applied(dispute, old, data.status, created=dispute is None)
