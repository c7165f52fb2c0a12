"""What each verified event does, and the one registry of them.

Every handler has one contract, ``handler(event, claimed) -> (outcome, note)``, and runs
inside the transaction that claimed the event (``processing``). ``claimed`` is the claim:
for a handler registered with ``locks_payment``, the claim has also locked the payment of the
event's ``data.object.id`` (a PaymentIntent) and carries it; ``None`` on a forced replay of
an event already done, when nothing was claimed or locked.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError

from .. import checkout_tax, exceptions, money, services
from ..gateway import ChargeData, CheckoutSessionData, DisputeData, PaymentIntentData, RefundData, get_gateway
from ..metadata import CHECKOUT, Owner, checkout_reference, host_metadata, verified_owner
from ..models import Claimed, Coupon, Payment, WebhookEvent
from ..models.payments import by_stripe_id
from ..refunds import Applied, apply_dispute, apply_refund, refunded_or_open_minor
from ..transitions import apply_intent, apply_session

logger = logging.getLogger(__package__)  # "django_apranova_payments.webhooks", as hosts configure it

Outcome = WebhookEvent.Outcome


@dataclass(frozen=True)
class Handler:
    """A handler and what its claim must do: ``locks_payment``, lock the payment of the
    event's ``data.object.id`` (a PaymentIntent or a Checkout Session) in the claiming
    statement."""

    handle: Callable[[Mapping[str, Any], Claimed | None], tuple[str, str]]
    locks_payment: bool = False


# ---------------------------------------------------------------------------------------
# PaymentIntents


def handle_payment_intent(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
    """``payment_intent.*``: apply the PaymentIntent's status to its payment (rebuilt first
    when it is ours but lost). The claim locked the payment already (``locks_payment``);
    on a forced replay of an event already done (``claimed`` is ``None``) it is locked here."""
    try:
        intent = PaymentIntentData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable PaymentIntent: {exc}"
    if claimed is None or not claimed.locked:
        payment, why_not = _locked_payment(intent, event)
    elif claimed.payment is None:
        payment, why_not = _recreate_payment(intent, event)
    else:
        payment, why_not = _joined(claimed.payment, intent)
    if payment is None:
        logger.info("Event %s: PaymentIntent %s ignored: %s", event["id"], intent.id, why_not)
        return Outcome.IGNORED, why_not
    if event["type"] == "payment_intent.created":
        return Outcome.PROCESSED, ""  # creation never moves a status; the row exists now
    result = apply_intent(payment, intent, event=event, locked=True)
    if not result.applied:
        return Outcome.IGNORED, f"not applied: {result.refused}"
    return Outcome.PROCESSED, ""


def _locked_payment(intent: PaymentIntentData, event: Mapping[str, Any]) -> tuple[Payment | None, str]:
    """The intent's payment, locked for this transaction (rebuilt first when it is ours but
    lost), or ``None`` and why."""
    payment = Payment.objects.locked(intent.id, checkout_reference(intent.metadata))
    return _joined(payment, intent) if payment is not None else _recreate_payment(intent, event)


#: The note of an event for a PaymentIntent this installation did not create.
NOT_OURS = "PaymentIntent not created by this installation (no valid installation mark)"


def _recreate_payment(
    intent: PaymentIntentData | CheckoutSessionData, event: Mapping[str, Any]
) -> tuple[Payment | None, str]:
    """Rebuild the row of a PaymentIntent (or Checkout Session) this installation created but
    never stored (the process died between Stripe's answer and the INSERT). Only one whose
    installation mark verifies is rebuilt; its metadata names the user. A Checkout payment is
    rebuilt from its Session's events only: its PaymentIntent's do not name the Session."""
    if isinstance(intent, CheckoutSessionData) and checkout_tax.behavior(intent.metadata) is not None:
        # Made with TAX: the mark covers the line before tax, which the row is stored with;
        # apply_session then records the Session's tax as for any Checkout payment.
        intent = dataclasses.replace(intent, amount_total=intent.amount_subtotal)
    amount = intent.amount if isinstance(intent, PaymentIntentData) else intent.amount_total
    owner = None if amount is None else verified_owner(intent.metadata, amount, intent.currency)
    if owner is None or amount is None:
        return None, NOT_OURS
    if owner.checkout is not None and isinstance(intent, PaymentIntentData):
        logger.warning("PaymentIntent %s names checkout reference %s, which no payment here has", intent.id,
                       owner.checkout)
        return None, "PaymentIntent of a Checkout payment that is not stored here"
    try:
        user = get_user_model()._default_manager.filter(pk=owner.user_pk).first()
        money.to_minor_units(money.from_minor_units(amount, intent.currency), intent.currency)
    except (ValueError, TypeError, DjangoValidationError):  # MoneyError is a ValueError
        logger.warning("%s has an unusable user or amount; not recreated", intent.id)
        return None, "PaymentIntent has an unusable user or amount; not recreated"
    if user is None:
        logger.warning("%s names user %s, who does not exist", intent.id, owner.user_pk)
        return None, "PaymentIntent names a user who does not exist; not recreated"
    payment = _store_recreated(intent, user, owner, event)
    if payment is None:  # a concurrent first event (or the creating request) stored it
        return Payment.objects.locked(intent.id), ""
    logger.warning("Payment %s recreated from event %s for %s", payment.pk, event["id"], intent.id)
    return payment, ""


def _joined(payment: Payment, intent: PaymentIntentData) -> tuple[Payment | None, str]:
    """``payment`` when it is the intent's; a Checkout payment still waiting for its
    PaymentIntent (found by the checkout reference the intent's metadata names, with the
    claim) only when the intent's mark verifies and names this payment and its user, before
    a ``checkout.session.*`` event has told us which PaymentIntent its Session made: never a
    second row."""
    if payment.stripe_payment_intent == intent.id:
        return payment, ""
    owner = verified_owner(intent.metadata, checkout_tax.marked_amount(payment, intent), intent.currency)
    reference = payment.checkout_reference
    if owner is None or reference is None or owner.checkout != reference.hex or owner.user_pk != str(payment.user_id):
        logger.warning("PaymentIntent %s names the checkout reference of payment %s without a valid mark; ignored",
                       intent.id, payment.pk)
        return None, NOT_OURS
    return payment, ""


def _store_recreated(
    intent: PaymentIntentData | CheckoutSessionData, user: Any, owner: Owner, event: Mapping[str, Any]
) -> Payment | None:
    """The rebuilt row, or ``None`` when a row for this PaymentIntent (or Session) exists by
    now, with the coupon and discount the mark covers (the coupon's redemption was decided
    when the PaymentIntent was created: honoured even past a limit reached since). The
    Idempotency-Key is kept unless another payment of the user holds it already (then the
    money is still recorded, without the key)."""
    coupon = None if owner.coupon is None else Coupon.objects.filter(code=owner.coupon).first()
    discount = money.from_minor_units(owner.discount_minor, intent.currency) if owner.coupon else Decimal(0)
    reference = None if owner.checkout is None else checkout_reference({CHECKOUT: owner.checkout})
    for idempotency_key in dict.fromkeys([owner.idempotency_key, None]):
        try:
            return services.store_payment(
                user=user, intent=intent, metadata=host_metadata(intent.metadata),
                idempotency_key=idempotency_key, fingerprint=owner.fingerprint, event=event,
                coupon=coupon, discount=discount, checkout_reference=reference, tax_minor=owner.tax_minor,
            )
        except IntegrityError:
            if Payment.objects.filter(by_stripe_id(intent.id)).exists():
                return None
            logger.warning(
                "%s: user %s has another payment with its Idempotency-Key; recreated without the key",
                intent.id, owner.user_pk,
            )
    raise AssertionError("unreachable: a row without an Idempotency-Key only conflicts on its PaymentIntent")


# ---------------------------------------------------------------------------------------
# Stripe Checkout

#: The note of an event for a Checkout Session this installation did not create.
NOT_OUR_SESSION = "Checkout Session not created by this installation (no payment here)"


def handle_checkout_session(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
    """``checkout.session.*``: apply the Session to its payment, through the same status
    machine as the PaymentIntent's own events, whichever arrives first. The claim locked the
    payment of the Session's id (``locks_payment``); a Session with no payment here (another
    installation's, or one never stored) changes nothing."""
    try:
        session = CheckoutSessionData.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable Checkout Session: {exc}"
    if claimed is None or not claimed.locked:
        payment = Payment.objects.locked(session.id)
    else:
        payment = claimed.payment
    if payment is None:  # never stored (the process died after Stripe's answer), or not ours
        payment, _ = _recreate_payment(session, event)
    if payment is None:
        logger.info("Event %s: Checkout Session %s ignored: no payment here", event["id"], session.id)
        return Outcome.IGNORED, NOT_OUR_SESSION
    session = checkout_tax.with_breakdown(payment, session)
    result = apply_session(payment, session, event=event, locked=True)
    if not result.applied:
        return Outcome.IGNORED, f"not applied: {result.refused}"
    return Outcome.PROCESSED, ""


# ---------------------------------------------------------------------------------------
# Refunds, charges and disputes


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
    payment = Payment.objects.locked(payment_intent)
    if payment is None:
        logger.info("%s %s of PaymentIntent %s: no payment here; ignored", what, object_id, payment_intent)
        return None, f"{what} of a PaymentIntent with no payment here"
    return payment, ""


def _outcome(result: Applied) -> tuple[str, str]:
    if result.refused:
        return Outcome.IGNORED, f"not applied: {result.refused}"
    return Outcome.PROCESSED, ""


def _handle_refund_or_dispute(
    event: Mapping[str, Any], kind: type[RefundData] | type[DisputeData], what: str, apply: Callable[..., Applied]
) -> tuple[str, str]:
    """Read the event's Refund or Dispute, find and lock its payment, and apply it."""
    try:
        data = kind.from_dict(event["data"]["object"])
    except ValueError as exc:
        return Outcome.IGNORED, f"data.object is not a usable {what}: {exc}"
    payment, why_not = _payment_of(data.payment_intent, what, data.id, data.charge)
    if payment is None:
        return Outcome.IGNORED, why_not
    return _outcome(apply(payment, data, event=event, locked=True))


def handle_refund(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
    """``refund.created``, ``refund.updated``, ``refund.failed``, ``charge.refund.updated``."""
    return _handle_refund_or_dispute(event, RefundData, "Refund", apply_refund)


def handle_charge_refunded(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
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
    assert payment.stripe_payment_intent is not None  # found by it
    refused = [
        result.refused
        for data in get_gateway().list_refunds(payment.stripe_payment_intent)
        if (result := apply_refund(payment, data, event=event, locked=True)).refused
    ]
    return Outcome.PROCESSED, "; ".join(refused)


def handle_dispute(event: Mapping[str, Any], claimed: Claimed | None) -> tuple[str, str]:
    """``charge.dispute.created``, ``.updated``, ``.closed``, ``.funds_withdrawn``,
    ``.funds_reinstated``."""
    return _handle_refund_or_dispute(event, DisputeData, "Dispute", apply_dispute)


# ---------------------------------------------------------------------------------------
# The registry

#: Event types this package acts on, and how; every other verified event is stored and ignored.
HANDLERS: dict[str, Handler] = {
    **{f"payment_intent.{name}": Handler(handle_payment_intent, locks_payment=True)
       for name in ("created", "processing", "requires_action", "succeeded", "payment_failed", "canceled")},
    **{f"checkout.session.{name}": Handler(handle_checkout_session, locks_payment=True)
       for name in ("completed", "async_payment_succeeded", "async_payment_failed", "expired")},
    **{name: Handler(handle_refund)
       for name in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")},
    "charge.refunded": Handler(handle_charge_refunded),
    **{f"charge.dispute.{name}": Handler(handle_dispute)
       for name in ("created", "updated", "closed", "funds_withdrawn", "funds_reinstated")},
}
#: The event types whose claim locks the payment of their PaymentIntent or Checkout Session
#: (``Handler.locks_payment``).
PAYMENT_INTENT_TYPES = frozenset(name for name, handler in HANDLERS.items() if handler.locks_payment)
