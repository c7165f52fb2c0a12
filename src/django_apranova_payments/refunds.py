"""How refunds and disputes move: one function each, as ``transitions.apply_intent`` is for
payments.

``apply_refund`` and ``apply_dispute`` take Stripe's view of a Refund or a Dispute and apply
it to the local row under the payment's row lock, with the signals sent inside the same
transaction. Every path goes through them: the refund endpoint, the admin and host code
(``services.refund_payment``), and the webhook handlers below, whatever order Stripe's
events arrive in. A refund or dispute never moves backwards (a late ``pending`` after
``succeeded`` is ignored), with one exception Stripe documents: a refund that succeeded can
still fail when the card turns out to be closed; that is applied, and ``amount_refunded``
goes down again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model

from . import exceptions, money, signals
from .conf import app_settings
from .gateway import ChargeData, DisputeData, RefundData, get_gateway
from .metadata import MARK, REFUND, Owner, refund_binding, verified_owner
from .models import (
    DISPUTE_CLOSED_STATUSES,
    Dispute,
    DisputeStatus,
    Payment,
    Refund,
    RefundStatus,
    WebhookEvent,
    event_created_at,
    insert_unless_exists,
)

logger = logging.getLogger(__name__)

R = RefundStatus
D = DisputeStatus
Outcome = WebhookEvent.Outcome

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


@dataclass(frozen=True)
class Applied:
    """What ``apply_refund`` or ``apply_dispute`` did. ``obj`` is the ``Refund`` or ``Dispute``
    (``None`` when nothing was stored); ``refused`` is empty when Stripe's view was applied
    (or already held), else why not, fit for a log line or an event's note."""

    obj: Any
    old_status: str
    new_status: str
    refused: str = ""
    created: bool = False

    @property
    def applied(self) -> bool:
        return not self.refused


def refund_can_move(old: str, new: str) -> bool:
    return new == old or new in REFUND_TRANSITIONS.get(old, frozenset())


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


def _lock(payment: Payment, locked: bool) -> Payment:
    return payment if locked else Payment.objects.select_for_update().get(pk=payment.pk)


def _is_stale(row: Refund | Dispute, event_created: datetime | None) -> bool:
    last = row.last_event_created
    return event_created is not None and last is not None and event_created < last


def _newer(row: Refund | Dispute, event_created: datetime | None) -> dict[str, Any]:
    if event_created is not None and (row.last_event_created is None or event_created > row.last_event_created):
        return {"last_event_created": event_created}
    return {}


def _save(row: Model, values: Mapping[str, Any]) -> None:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        row.save(update_fields=[*changed, "updated_at"])


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
        payment = _lock(payment, locked)
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
    if new not in (R.SUCCEEDED, *REFUND_ENDED) and _is_stale(refund, event_created_at(event)):
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


def stored_amount(minor: int, currency: str) -> Decimal | None:
    """Stripe's ``minor`` units as the ``Decimal`` the tables store, or ``None`` when no
    amount of ``currency`` can be that (a fraction of a three-decimal currency's step, or
    too large for the column)."""
    try:
        return money.quantize_for_storage(money.from_minor_units(minor, currency))
    except money.MoneyError:
        return None


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
    values: dict[str, Any] = {"status": new, **_newer(refund, event_created_at(event))}
    if data.failure_reason or new in REFUND_ENDED:
        values["failure_reason"] = data.failure_reason
    if data.reason:
        values["reason"] = data.reason
    _save(refund, values)
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


# ---------------------------------------------------------------------------------------
# Disputes


def apply_dispute(
    payment: Payment, data: DisputeData, *, event: Mapping[str, Any] | None = None, locked: bool = False
) -> Applied:
    """Record Stripe's view of dispute ``data`` of ``payment``: ``payment_disputed`` once when
    it is first seen, ``dispute_closed`` once when it reaches ``won``, ``lost`` or
    ``warning_closed``. A dispute never moves back to an earlier stage."""
    with transaction.atomic(savepoint=False):
        payment = _lock(payment, locked)
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
        _save(dispute, {**values, **_newer(dispute, event_created)})
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
    elif dispute is not None and _is_stale(dispute, event_created_at(event)):
        refused = "stale: the event is older than the last one applied"
    if refused:
        return Applied(dispute, old, old, refused)
    if data.status not in KNOWN_DISPUTE_STATUSES:
        logger.warning("Dispute %s has status %r, unknown in API version %s: stored as Stripe sent it",
                       data.id, data.status, app_settings.STRIPE_API_VERSION)
    return Applied(dispute, old, data.status, created=dispute is None)


# ---------------------------------------------------------------------------------------
# Webhook handlers: each returns (outcome, note) and runs inside the claiming transaction.


def _payment_of(
    payment_intent: str | None, what: str, object_id: str, charge: str | None = None
) -> tuple[Payment | None, str]:
    """The payment of ``payment_intent``, locked; a refund or dispute that names only its
    charge (``payment_intent`` null, as for charges not made through a PaymentIntent, or in
    events of old API versions) is matched through the charge Stripe says it belongs to."""
    if payment_intent is None and charge is not None:
        try:
            payment_intent = get_gateway().retrieve_charge(charge).payment_intent
        except exceptions.GatewayRejected:  # no such charge here; Stripe being down is raised
            logger.info("%s %s of charge %s: Stripe knows no such charge; ignored", what, object_id, charge)
            return None, f"{what} of a charge Stripe does not know"
        if payment_intent is None:
            return None, f"{what} of a charge made without a PaymentIntent"
    if payment_intent is None:
        return None, f"{what} names no PaymentIntent"
    payment = Payment.objects.select_for_update().filter(stripe_payment_intent=payment_intent).first()
    if payment is None:
        logger.info("%s %s of PaymentIntent %s: no payment here; ignored", what, object_id, payment_intent)
        return None, f"{what} of a PaymentIntent with no payment here"
    return payment, ""


def _outcome(result: Applied) -> tuple[str, str]:
    if result.refused:
        return Outcome.IGNORED, f"not applied: {result.refused}"
    return Outcome.PROCESSED, ""


def handle_refund(event: Mapping[str, Any]) -> tuple[str, str]:
    """``refund.created``, ``refund.updated``, ``refund.failed``, ``charge.refund.updated``."""
    try:
        data = RefundData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable Refund: {exc}"
    payment, why_not = _payment_of(data.payment_intent, "Refund", data.id, data.charge)
    if payment is None:
        return Outcome.IGNORED, why_not
    return _outcome(apply_refund(payment, data, event=event, locked=True))


def handle_charge_refunded(event: Mapping[str, Any]) -> tuple[str, str]:
    """``charge.refunded``: the Charge says how much is refunded in all. When that is more
    than the refunds stored here (an event lost, or not yet arrived), the PaymentIntent's
    refunds are fetched from Stripe once and each is applied."""
    try:
        charge = ChargeData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable Charge: {exc}"
    payment, why_not = _payment_of(charge.payment_intent, "Charge", charge.id)
    if payment is None:
        return Outcome.IGNORED, why_not
    if charge.currency != payment.currency:
        return Outcome.IGNORED, "not applied: mismatch: the charge is not in the payment's currency"
    if charge.amount_refunded <= refunded_or_open_minor(payment):
        return Outcome.PROCESSED, ""
    refused = [
        result.refused
        for data in get_gateway().list_refunds(payment.stripe_payment_intent)
        if (result := apply_refund(payment, data, event=event, locked=True)).refused
    ]
    return Outcome.PROCESSED, "; ".join(refused)


def handle_dispute(event: Mapping[str, Any]) -> tuple[str, str]:
    """``charge.dispute.created``, ``.updated``, ``.closed``, ``.funds_withdrawn``,
    ``.funds_reinstated``."""
    try:
        data = DisputeData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable Dispute: {exc}"
    payment, why_not = _payment_of(data.payment_intent, "Dispute", data.id, data.charge)
    if payment is None:
        return Outcome.IGNORED, why_not
    return _outcome(apply_dispute(payment, data, event=event, locked=True))


HANDLERS = {
    **{name: handle_refund for name in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")},
    "charge.refunded": handle_charge_refunded,
    **{
        f"charge.dispute.{name}": handle_dispute
        for name in ("created", "updated", "closed", "funds_withdrawn", "funds_reinstated")
    },
}
