"""``SimulatorGateway``: the package's gateway interface, answered from the database.

It behaves as Stripe does for a one-time card payment with automatic capture:

* ``create`` returns a ``pi_…`` with a client secret in ``requires_payment_method``, and
  honours the idempotency key (same key and parameters: the same PaymentIntent; other
  parameters: ``IdempotencyConflict``, the translation of Stripe's idempotency error);
* ``confirm`` (the browser's half, through ``views``) applies a test card: it succeeds,
  declines back to ``requires_payment_method`` with a ``last_payment_error`` (a retry on the
  same PaymentIntent is allowed), or asks for authentication (``requires_action``);
* ``authenticate`` completes or fails the 3-D Secure step;
* ``cancel`` refuses ``processing`` and ``succeeded`` (and ``canceled``) with
  ``PaymentNotCancelable``, as the Stripe gateway does.

Every change sends its signed webhook event after the commit (``sender``).

It refuses to run whenever ``settings.DEBUG`` is off, read on every call: each method raises
``GatewayConfigurationError`` (a generic 500 for API clients) and logs why. The system check
``E005`` says the same to ``manage.py``, but checks do not run under gunicorn or uwsgi.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from .. import exceptions
from ..gateway import BaseGateway, PaymentIntentData
from . import sender
from .cards import Card, Outcome
from .models import SimulatedPaymentIntent, SimulatedStatus

logger = logging.getLogger(__name__)

S = SimulatedStatus

AUTHENTICATION_FAILED = {
    "type": "card_error",
    "code": "payment_intent_authentication_failure",
    "message": "We are unable to authenticate your payment method. "
    "Please choose a different payment method and try again.",
}


def refuse_without_debug() -> None:
    """Raise ``GatewayConfigurationError`` unless ``DEBUG`` is on: the simulator takes
    payments without money, so it never runs in production, under any server."""
    if not settings.DEBUG:
        logger.error(
            "The offline payment simulator refused to run because DEBUG is False: set "
            "APRANOVA_PAYMENTS['GATEWAY'] to the Stripe gateway (the default) in production, "
            "or turn DEBUG on for development."
        )
        raise exceptions.GatewayConfigurationError()


class UnexpectedState(exceptions.GatewayRejected):
    """The PaymentIntent's status does not allow the action (Stripe's
    ``payment_intent_unexpected_state``)."""

    default_code = "payment_intent_unexpected_state"


class SimulatorGateway(BaseGateway):
    """Stripe's PaymentIntents, simulated offline. Never moves money."""

    #: Read by the system checks: E005 with ``DEBUG`` off; no Stripe keys needed.
    is_simulator = True
    uses_stripe_keys = False

    @property
    def livemode(self) -> bool:
        return False

    # -- the gateway interface (server side) ---------------------------------------------

    def create_payment_intent(
        self, *, amount: int, currency: str, metadata: Mapping[str, str], idempotency_key: str
    ) -> PaymentIntentData:
        refuse_without_debug()
        params = {"amount": amount, "currency": currency, "metadata": dict(metadata)}
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

    def cancel_payment_intent(self, intent_id: str) -> PaymentIntentData:
        def cancel(intent: SimulatedPaymentIntent) -> str:
            if intent.status in (S.PROCESSING, S.SUCCEEDED, S.CANCELED):
                raise exceptions.PaymentNotCancelable()
            intent.status = S.CANCELED
            intent.cancellation_reason = "requested_by_customer"
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
            test_card = card.card
            if test_card.outcome == Outcome.SUCCEEDS:
                return _succeed(intent)
            if test_card.outcome == Outcome.REQUIRES_AUTHENTICATION:
                intent.status, intent.last_payment_error = S.REQUIRES_ACTION, None
                return "payment_intent.requires_action"
            return _fail(intent, {
                "type": "card_error", "code": "card_declined",
                "decline_code": test_card.decline_code, "message": test_card.message,
            })

        return self._change(intent_id, confirm)

    def authenticate_payment_intent(self, intent_id: str, *, success: bool) -> SimulatedPaymentIntent:
        """Complete (``success``) or fail the 3-D Secure step of a ``requires_action`` intent."""

        def authenticate(intent: SimulatedPaymentIntent) -> str:
            if intent.status != S.REQUIRES_ACTION:
                raise UnexpectedState(f"This PaymentIntent needs no authentication: its status is {intent.status}.")
            return _succeed(intent) if success else _fail(intent, dict(AUTHENTICATION_FAILED))

        return self._change(intent_id, authenticate)

    @staticmethod
    def _change(intent_id: str, change: Callable[[SimulatedPaymentIntent], str]) -> SimulatedPaymentIntent:
        """Apply ``change`` under a row lock, save, and queue the event it names."""
        refuse_without_debug()  # cancel, confirm and authenticate all come through here
        with transaction.atomic():
            intent = SimulatedPaymentIntent.objects.select_for_update().filter(intent_id=intent_id).first()
            if intent is None:
                raise exceptions.GatewayRejected(code="resource_missing")
            event_type = change(intent)
            intent.save()
            sender.send_event(intent, event_type)
        logger.info("Simulated PaymentIntent %s is now %s", intent.intent_id, intent.status)
        return intent


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
