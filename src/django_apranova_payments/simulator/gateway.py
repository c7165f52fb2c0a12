"""``SimulatorGateway``: the package's gateway interface, answered from the database. It
behaves as Stripe does for a one-time card payment with automatic capture:

* ``create`` returns a ``pi_…`` with a client secret in ``requires_payment_method``, and
  honours the idempotency key (same key and parameters: the same PaymentIntent; other
  parameters: ``IdempotencyConflict``, the translation of Stripe's idempotency error);
* ``confirm`` (the browser's half, through ``views``) applies a test card: it succeeds,
  declines back to ``requires_payment_method`` with a ``last_payment_error`` (a retry on the
  same PaymentIntent is allowed), or asks for authentication (``requires_action``);
* ``authenticate`` completes or fails the 3-D Secure step;
* ``cancel`` refuses ``processing`` and ``succeeded`` (and ``canceled``) with
  ``PaymentNotCancelable``, as the Stripe gateway does;
* ``create_refund`` refunds a ``succeeded`` PaymentIntent's charge, at once
  (``succeeded``), never for more than is left (the amount less the refunds that succeeded
  or may still succeed), never while a chargeback is open or after one was lost
  (``ChargeDisputed``; a dispute won no longer stops refunds), with
  the idempotency key honoured as for PaymentIntents; ``list_refunds``, ``retrieve_refund``
  and ``retrieve_dispute`` answer from the database;
* Stripe's dispute card, ``4000 0000 0000 0259``, succeeds, then opens a fraudulent
  chargeback (``needs_response``); staff close it as won or lost (``close_dispute``), fail
  a refund as a closed card would (``fail_refund``), or refund as Stripe's Dashboard does
  (``dashboard_refund``), from the simulator's admin.

Every change sends its signed webhook events after the commit (``sender``): a refund
``refund.created`` and ``charge.refunded``, a failed one ``refund.updated`` and ``refund.failed``,
a dispute ``charge.dispute.created`` and ``charge.dispute.closed``. Checkout: ``checkout``.

It refuses to run whenever ``settings.DEBUG`` is off, read on every call: each method raises
``GatewayConfigurationError`` (a generic 500 for API clients) and logs why. The system check
``E005`` says the same to ``manage.py``, but checks do not run under gunicorn or uwsgi.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from .. import exceptions
from ..gateway import BaseGateway, CancellationReason, ChargeData, DisputeData, PaymentIntentData, RefundData
from ..stripe_data import PaymentMethodData, SetupFutureUsage
from . import sender
from .cards import Card, Outcome
from .checkout import CheckoutSimulation
from .customers import SimulatedCustomers, attach_saved_card, remember_card
from .guard import refuse_without_debug
from .models import (
    DISPUTE_CLOSED,
    REFUND_HOLDING_STATUSES,
    SimulatedCharge,
    SimulatedDispute,
    SimulatedDisputeStatus,
    SimulatedPaymentIntent,
    SimulatedRefund,
    SimulatedRefundStatus,
    SimulatedStatus,
)
from .tax import SimulatedTax, linked_calculation, record_transaction, reverse_for

logger = logging.getLogger(__name__)

S = SimulatedStatus
RS = SimulatedRefundStatus
DS = SimulatedDisputeStatus

#: Stripe's refund reasons a request may give.
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
#: Days Stripe gives to answer a chargeback in the simulator (Stripe's vary by network).
EVIDENCE_DAYS = 7

AUTHENTICATION_FAILED = {
    "type": "card_error",
    "code": "payment_intent_authentication_failure",
    "message": "We are unable to authenticate your payment method. "
    "Please choose a different payment method and try again.",
}


class UnexpectedState(exceptions.GatewayRejected):
    """The PaymentIntent's status does not allow the action (Stripe's
    ``payment_intent_unexpected_state``)."""

    default_code = "payment_intent_unexpected_state"


class UnexpectedRefundState(exceptions.GatewayRejected):
    """The refund's status does not allow the change."""

    default_code = "refund_unexpected_state"


class UnexpectedDisputeState(exceptions.GatewayRejected):
    """The dispute is closed already."""

    default_code = "dispute_unexpected_state"


class SimulatorGateway(CheckoutSimulation, SimulatedCustomers, SimulatedTax, BaseGateway):
    """Stripe's PaymentIntents, simulated offline (Checkout Sessions: ``checkout``). No money moves."""

    #: Read by the system checks: E005 with ``DEBUG`` off; no Stripe keys needed.
    is_simulator = True
    uses_stripe_keys = False

    @property
    def livemode(self) -> bool:
        return False

    # -- the gateway interface (server side) ---------------------------------------------

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        metadata: Mapping[str, str],
        idempotency_key: str,
        receipt_email: str | None = None,  # the simulator sends no e-mail
        customer: str | None = None,
        payment_method: str | None = None,
        setup_future_usage: SetupFutureUsage | None = None,
        tax_calculation: str | None = None,
    ) -> PaymentIntentData:
        refuse_without_debug()
        card = self.card_params(customer, payment_method, setup_future_usage)
        params = {"amount": amount, "currency": currency, "metadata": dict(metadata), **card}
        if tax_calculation:
            params["tax_calculation"] = linked_calculation(tax_calculation, currency)
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        existing = SimulatedPaymentIntent.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    existing = SimulatedPaymentIntent.objects.create(
                        **params, idempotency_key=idempotency_key, request_fingerprint=fingerprint
                    )
                    sender.send_event(existing, "payment_intent.created")
                logger.info("Simulated PaymentIntent %s created", existing.intent_id)
                return _data(existing)
            except IntegrityError:  # the same key, created concurrently
                existing = SimulatedPaymentIntent.objects.get(idempotency_key=idempotency_key)
        if existing.request_fingerprint != fingerprint:
            raise exceptions.IdempotencyConflict()
        return _data(existing)

    def retrieve_payment_intent(self, intent_id: str) -> PaymentIntentData:
        refuse_without_debug()
        return _data(self.get(intent_id))

    def payment_card(self, intent_id: str) -> PaymentMethodData | None:
        intent = self.get(intent_id)
        if not intent.card_last4:
            return None
        return PaymentMethodData(id=intent.payment_method or f"pm_sim_{intent.card_brand}_{intent.card_last4}",
                                 created=int(intent.created_at.timestamp()), livemode=False, customer=None,
                                 brand=intent.card_brand, last4=intent.card_last4)

    def cancel_payment_intent(self, intent_id: str, *, reason: CancellationReason) -> PaymentIntentData:
        def cancel(intent: SimulatedPaymentIntent) -> str:
            if intent.status in (S.PROCESSING, S.SUCCEEDED, S.CANCELED):
                raise exceptions.PaymentNotCancelable()
            intent.status = S.CANCELED
            intent.cancellation_reason = reason
            return "payment_intent.canceled"

        return _data(self._change(intent_id, cancel))

    # -- the browser's side (Stripe.js and the 3-D Secure page) --------------------------

    def get(self, intent_id: str) -> SimulatedPaymentIntent:
        """The stored PaymentIntent, or ``GatewayRejected`` as Stripe's 404 becomes."""
        refuse_without_debug()
        intent = SimulatedPaymentIntent.objects.filter(intent_id=intent_id).first()
        if intent is None:
            raise exceptions.GatewayRejected(code="resource_missing")
        return intent

    def confirm_payment_intent(self, intent_id: str, card: Card) -> SimulatedPaymentIntent:
        """Pay with ``card``: succeeded, declined (retry allowed) or ``requires_action``."""

        def confirm(intent: SimulatedPaymentIntent) -> str:
            if intent.status != S.REQUIRES_PAYMENT_METHOD:
                raise UnexpectedState(f"This PaymentIntent cannot be confirmed: its status is {intent.status}.")
            intent.card_brand, intent.card_last4 = card.brand, card.last4
            remember_card(intent, card)
            test_card = card.card
            if test_card.outcome in (Outcome.SUCCEEDS, Outcome.DISPUTED):
                return _succeed(intent)
            if test_card.outcome == Outcome.REQUIRES_AUTHENTICATION:
                intent.status, intent.last_payment_error = S.REQUIRES_ACTION, None
                return "payment_intent.requires_action"
            return _fail(intent, {
                "type": "card_error", "code": "card_declined",
                "decline_code": test_card.decline_code, "message": test_card.message,
            })

        return self._change(intent_id, confirm, then=_open_dispute if card.card.outcome == Outcome.DISPUTED else None)

    def authenticate_payment_intent(self, intent_id: str, *, success: bool) -> SimulatedPaymentIntent:
        """Complete (``success``) or fail the 3-D Secure step of a ``requires_action`` intent."""

        def authenticate(intent: SimulatedPaymentIntent) -> str:
            if intent.status != S.REQUIRES_ACTION:
                raise UnexpectedState(f"This PaymentIntent needs no authentication: its status is {intent.status}.")
            return _succeed(intent) if success else _fail(intent, dict(AUTHENTICATION_FAILED))

        return self._change(intent_id, authenticate)

    @staticmethod
    def _change(
        intent_id: str,
        change: Callable[[SimulatedPaymentIntent], str],
        then: Callable[[SimulatedPaymentIntent], None] | None = None,
    ) -> SimulatedPaymentIntent:
        """Apply ``change`` under a row lock, save, and queue the event it names; then, once
        the PaymentIntent has succeeded, ``then`` (in the same transaction, its events after)."""
        refuse_without_debug()  # cancel, confirm and authenticate all come through here
        with transaction.atomic():
            intent = SimulatedPaymentIntent.objects.select_for_update().filter(intent_id=intent_id).first()
            if intent is None:
                raise exceptions.GatewayRejected(code="resource_missing")
            event_type = change(intent)
            intent.save()
            if intent.status == S.SUCCEEDED:
                attach_saved_card(intent)
                record_transaction(intent)
            sender.send_event(intent, event_type)
            if then is not None and intent.status == S.SUCCEEDED:
                then(intent)
        logger.info("Simulated PaymentIntent %s is now %s", intent.intent_id, intent.status)
        return intent

    # -- refunds and disputes ---------------------------------------------------------------

    def create_refund(
        self, *, payment_intent: str, amount: int, reason: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> RefundData:
        refuse_without_debug()
        params = {"payment_intent": payment_intent, "amount": amount, "reason": reason or "",
                  "metadata": dict(metadata)}
        fingerprint = _fingerprint(params)
        existing = SimulatedRefund.objects.select_related("intent").filter(idempotency_key=idempotency_key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    refund = _refund(payment_intent, amount, reason or "", dict(metadata), idempotency_key,
                                     fingerprint)
                return _refund_data(refund)
            except IntegrityError:  # the same key, refunded concurrently
                existing = SimulatedRefund.objects.select_related("intent").get(idempotency_key=idempotency_key)
        if existing.request_fingerprint != fingerprint:
            raise exceptions.IdempotencyConflict()
        return _refund_data(existing)

    def list_refunds(self, payment_intent: str) -> list[RefundData]:
        intent = self.get(payment_intent)
        return [_refund_data(refund) for refund in intent.refunds.all()]

    def retrieve_refund(self, refund_id: str) -> RefundData:
        refuse_without_debug()
        refund = SimulatedRefund.objects.select_related("intent").filter(refund_id=refund_id).first()
        if refund is None:
            raise exceptions.GatewayRejected(code="resource_missing")
        return _refund_data(refund)

    def retrieve_dispute(self, dispute_id: str) -> DisputeData:
        refuse_without_debug()
        dispute = SimulatedDispute.objects.select_related("intent").filter(dispute_id=dispute_id).first()
        if dispute is None:
            raise exceptions.GatewayRejected(code="resource_missing")
        return DisputeData.from_dict(dispute.to_stripe())

    def retrieve_charge(self, charge_id: str) -> ChargeData:
        refuse_without_debug()
        intent = SimulatedPaymentIntent.objects.filter(
            intent_id=f"pi_{charge_id.removeprefix('ch_')}", status=S.SUCCEEDED).first()
        if intent is None:
            raise exceptions.GatewayRejected(code="resource_missing")
        return ChargeData.from_dict(SimulatedCharge(intent).to_stripe())

    # -- what staff do in Stripe's Dashboard (the simulator's admin) -------------------------

    def dashboard_refund(
        self, intent_id: str, amount: int | None = None, reason: str = "requested_by_customer"
    ) -> RefundData:
        """Refund as Stripe's Dashboard does: no metadata of the package's (so the refund is
        recorded with nobody as its requester), ``amount`` minor units or all that is left."""
        refuse_without_debug()
        if amount is None:
            amount = _left(self.get(intent_id))  # nothing left, or not succeeded: refused as Stripe does
        return self.create_refund(payment_intent=intent_id, amount=amount, reason=reason, metadata={},
                                  idempotency_key=f"dashboard-{uuid.uuid4()}")

    def fail_refund(self, refund_id: str, failure_reason: str = "expired_or_canceled_card") -> SimulatedRefund:
        """A refund that fails, even after it succeeded (the card was closed): the funds
        return to the balance, and ``refund.updated`` and ``refund.failed`` are sent."""
        refuse_without_debug()
        with transaction.atomic():
            refund = SimulatedRefund.objects.select_for_update().select_related("intent").filter(
                refund_id=refund_id).first()
            if refund is None:
                raise exceptions.GatewayRejected(code="resource_missing")
            if refund.status not in (RS.PENDING, RS.SUCCEEDED):
                raise UnexpectedRefundState(f"This refund cannot fail: its status is {refund.status}.")
            refund.status, refund.failure_reason = RS.FAILED, failure_reason
            refund.save(update_fields=["status", "failure_reason", "updated_at"])
            sender.send_event(refund, "refund.updated")
            sender.send_event(refund, "refund.failed")
        logger.info("Simulated refund %s failed (%s)", refund.refund_id, failure_reason)
        return refund

    def close_dispute(self, dispute_id: str, *, won: bool) -> SimulatedDispute:
        """Close an open dispute as ``won`` or ``lost``; ``charge.dispute.closed`` is sent."""
        refuse_without_debug()
        with transaction.atomic():
            dispute = SimulatedDispute.objects.select_for_update().select_related("intent").filter(
                dispute_id=dispute_id).first()
            if dispute is None:
                raise exceptions.GatewayRejected(code="resource_missing")
            if not dispute.is_open:
                raise UnexpectedDisputeState(f"This dispute is closed already: its status is {dispute.status}.")
            dispute.status = DS.WON if won else DS.LOST
            dispute.save(update_fields=["status", "updated_at"])
            sender.send_event(dispute, "charge.dispute.closed")
        logger.info("Simulated dispute %s closed: %s", dispute.dispute_id, dispute.status)
        return dispute


def _succeed(intent: SimulatedPaymentIntent) -> str:
    intent.status, intent.last_payment_error = S.SUCCEEDED, None
    return "payment_intent.succeeded"


def _fail(intent: SimulatedPaymentIntent, error: dict[str, Any]) -> str:
    """Stripe's decline: back to ``requires_payment_method``, the error kept for display."""
    intent.status = S.REQUIRES_PAYMENT_METHOD
    intent.last_payment_error = {**error, "payment_method": {"card": {"last4": intent.card_last4}}}
    return "payment_intent.payment_failed"


def _data(intent: SimulatedPaymentIntent) -> PaymentIntentData:
    return PaymentIntentData.from_dict(intent.to_stripe(include_secret=True))


def _fingerprint(params: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()


def _left(intent: SimulatedPaymentIntent) -> int:
    """What a new refund may take: the amount less every refund that succeeded or may still."""
    held = intent.refunds.filter(status__in=REFUND_HOLDING_STATUSES).aggregate(total=Sum("amount"))["total"]
    return intent.amount - (held or 0)


def _refund(
    intent_id: str, amount: int, reason: str, metadata: dict[str, Any], idempotency_key: str, fingerprint: str
) -> SimulatedRefund:
    """Stripe's rules for ``POST /v1/refunds``, under the PaymentIntent's row lock (in the
    caller's transaction), then the refund, succeeded at once, and its events."""
    intent = SimulatedPaymentIntent.objects.select_for_update().filter(intent_id=intent_id).first()
    if intent is None:
        raise exceptions.GatewayRejected(code="resource_missing")
    if intent.status != S.SUCCEEDED:
        logger.warning("Simulated refund refused: PaymentIntent %s is %s, not succeeded", intent_id, intent.status)
        raise exceptions.PaymentNotRefundable()
    if intent.disputes.filter(Q(status=DS.LOST) | (Q(is_charge_refundable=False) & ~Q(status__in=DISPUTE_CLOSED))):
        logger.warning("Simulated refund refused: PaymentIntent %s's charge is disputed (charge_disputed)", intent_id)
        raise exceptions.ChargeDisputed()
    left = _left(intent)
    if left <= 0:
        logger.warning("Simulated refund refused: PaymentIntent %s is refunded already", intent_id)
        raise exceptions.PaymentNotRefundable(exceptions.PaymentNotRefundable.nothing_left)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= left:
        logger.warning("Simulated refund refused: refund amount (%s) is greater than unrefunded amount on charge "
                       "(%s) or not positive", amount, left)
        raise exceptions.GatewayRejected()
    if reason and reason not in REFUND_REASONS:
        logger.warning("Simulated refund refused: invalid reason %r", reason[:40])
        raise exceptions.GatewayRejected()
    refund = SimulatedRefund.objects.create(
        intent=intent, amount=amount, currency=intent.currency, status=RS.SUCCEEDED, reason=reason,
        metadata=metadata, idempotency_key=idempotency_key, request_fingerprint=fingerprint,
    )
    reverse_for(refund)
    sender.send_event(refund, "refund.created")
    sender.send_event(SimulatedCharge(intent), "charge.refunded")
    logger.info("Simulated refund %s of %s: %s %s", refund.refund_id, intent_id, amount, intent.currency)
    return refund


def _refund_data(refund: SimulatedRefund) -> RefundData:
    return RefundData.from_dict(refund.to_stripe())


def _open_dispute(intent: SimulatedPaymentIntent) -> None:
    """The dispute card's chargeback: fraudulent, needs a response, refunds refused."""
    dispute = SimulatedDispute.objects.create(
        intent=intent, amount=intent.amount, currency=intent.currency, reason="fraudulent",
        status=DS.NEEDS_RESPONSE, is_charge_refundable=False,
        evidence_due_by=timezone.now() + timedelta(days=EVIDENCE_DAYS),
    )
    sender.send_event(dispute, "charge.dispute.created")
    logger.info("Simulated dispute %s opened on %s", dispute.dispute_id, intent.intent_id)
