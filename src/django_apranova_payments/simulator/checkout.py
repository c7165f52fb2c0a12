"""Stripe Checkout, simulated: the gateway's Checkout Sessions (``CheckoutSimulation``, a base
of ``SimulatorGateway``) and what Stripe's hosted page does when the customer pays.

As at Stripe, a Session makes its PaymentIntent when the customer pays (with the metadata the
Session was given for it), with the same test cards, 3-D Secure and declines as the Payment
Element; a decline leaves the Session open for another card. Paying sends the PaymentIntent's
events, then ``checkout.session.completed``; expiring sends ``checkout.session.expired`` (and
cancels the PaymentIntent, if there is one).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping

from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse

from .. import exceptions
from ..gateway import CheckoutRequest, CheckoutSessionData
from ..stripe_data import ADDRESS_KEYS
from ..testing import stripe_tax
from . import sender
from .cards import Card
from .checkout_models import SimulatedCheckoutSession
from .guard import refuse_without_debug
from .models import SimulatedPaymentIntent, SimulatedStatus

logger = logging.getLogger(__name__)

#: What Stripe replaces with the Session's id in the success URL.
SESSION_ID_TEMPLATE = "{CHECKOUT_SESSION_ID}"


class UnexpectedSessionState(exceptions.GatewayRejected):
    """The Session is no longer open (Stripe's ``checkout_session_unexpected_state``)."""

    default_code = "checkout_session_unexpected_state"


def page_url(session: SimulatedCheckoutSession) -> str | None:
    """The hosted page of ``session`` (where the simulator's URLs are included), else ``None``."""
    try:
        return reverse("apranova_payments_simulator:checkout", args=[session.session_id])
    except NoReverseMatch:
        return None


def session_data(session: SimulatedCheckoutSession) -> CheckoutSessionData:
    """The Session as the gateway answers it (with its tax breakdown: the Stripe gateway
    retrieves it expanded)."""
    return CheckoutSessionData.from_dict(session.to_stripe(page_url(session), expand_breakdown=True))


def success_redirect(session: SimulatedCheckoutSession) -> str:
    """The success URL, its ``{CHECKOUT_SESSION_ID}`` filled in, as Stripe redirects to it."""
    return session.success_url.replace(SESSION_ID_TEMPLATE, session.session_id)


class CheckoutSimulation:
    """The Checkout half of ``SimulatorGateway``: the gateway interface, and the hosted
    page's actions."""

    # SimulatorGateway's own, which paying and 3-D Secure go through.
    confirm_payment_intent: Callable[[str, Card], SimulatedPaymentIntent]
    authenticate_payment_intent: Callable[..., SimulatedPaymentIntent]

    def create_checkout_session(self, checkout: CheckoutRequest) -> CheckoutSessionData:
        refuse_without_debug()
        params = checkout.params()
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        key = checkout.idempotency_key
        existing = SimulatedCheckoutSession.objects.filter(idempotency_key=key).first()
        if existing is None:
            try:
                existing = SimulatedCheckoutSession.objects.create(
                    amount=checkout.amount, currency=checkout.currency, product_name=checkout.product_name,
                    metadata=dict(params["metadata"]), intent_metadata=dict(params["payment_intent_data"]["metadata"]),
                    success_url=checkout.success_url, cancel_url=checkout.cancel_url,
                    client_reference_id=checkout.client_reference_id, customer_email=checkout.customer_email or "",
                    idempotency_key=key, request_fingerprint=fingerprint,
                    tax_behavior=checkout.tax.behavior if checkout.tax else "",
                    tax_code=checkout.tax.tax_code if checkout.tax else "",
                )
                logger.info("Simulated Checkout Session %s created", existing.session_id)
            except IntegrityError:  # the same key, created concurrently
                existing = SimulatedCheckoutSession.objects.get(idempotency_key=key)
        if existing.request_fingerprint != fingerprint:
            raise exceptions.IdempotencyConflict()
        return session_data(existing)

    def retrieve_checkout_session(self, session_id: str) -> CheckoutSessionData:
        return session_data(self.checkout_session(session_id))

    def expire_checkout_session(self, session_id: str) -> CheckoutSessionData:
        def expire(session: SimulatedCheckoutSession) -> str:
            intent = session.intent
            if intent is not None and intent.status not in (SimulatedStatus.SUCCEEDED, SimulatedStatus.CANCELED):
                intent.status, intent.cancellation_reason = SimulatedStatus.CANCELED, "abandoned"
                intent.save(update_fields=["status", "cancellation_reason", "updated_at"])
                sender.send_event(intent, "payment_intent.canceled")
            session.status = "expired"
            return "checkout.session.expired"

        return session_data(_change(session_id, expire))

    # -- the hosted page ------------------------------------------------------------------

    def checkout_session(self, session_id: str) -> SimulatedCheckoutSession:
        """The stored Session, or ``GatewayRejected`` as Stripe's 404 becomes."""
        refuse_without_debug()
        session = SimulatedCheckoutSession.objects.select_related("intent").filter(session_id=session_id).first()
        if session is None:
            raise exceptions.GatewayRejected(code="resource_missing")
        return session

    def pay_checkout_session(
        self, session_id: str, card: Card, address: Mapping[str, str] | None = None,
    ) -> SimulatedCheckoutSession:
        """Pay an open Session with ``card``: its PaymentIntent (made now, the first time) is
        confirmed; when it succeeds the Session completes. A decline or 3-D Secure leaves it
        open (``session.intent`` says which). A Session with tax needs the billing
        ``address`` (``country``, ``postal_code``): its tax comes from the test kit's table
        (``TaxLocationInvalid`` for one Stripe could not place) and the PaymentIntent is for
        the total."""
        with transaction.atomic():
            session = _locked(session_id)
            if session.automatic_tax:
                _tax(session, address)
            if session.intent is None:
                session.intent = SimulatedPaymentIntent.objects.create(
                    amount=session.amount_total, currency=session.currency, metadata=dict(session.intent_metadata),
                )
                session.save(update_fields=["intent", "updated_at"])
                sender.send_event(session.intent, "payment_intent.created")
            self.confirm_payment_intent(session.intent.intent_id, card)
            return _complete_if_paid(session)

    def authenticate_checkout_session(self, session_id: str, *, success: bool) -> SimulatedCheckoutSession:
        """The 3-D Secure step of the Session's PaymentIntent; it completes when that succeeds."""
        with transaction.atomic():
            session = _locked(session_id)
            if session.intent is None:
                raise UnexpectedSessionState("This Checkout Session has no payment to authenticate.")
            self.authenticate_payment_intent(session.intent.intent_id, success=success)
            return _complete_if_paid(session)


def _locked(session_id: str) -> SimulatedCheckoutSession:
    refuse_without_debug()
    session = SimulatedCheckoutSession.objects.select_for_update().filter(session_id=session_id).first()
    if session is None:
        raise exceptions.GatewayRejected(code="resource_missing")
    if session.status != "open":
        raise UnexpectedSessionState(f"This Checkout Session is {session.status}.")
    return session


def _tax(session: SimulatedCheckoutSession, address: Mapping[str, str] | None) -> None:
    """Tax ``session`` for ``address`` (kept from an earlier attempt when none is given), as
    Stripe's page does when the customer enters it; a PaymentIntent made before (a declined
    card) follows the new total."""
    if not address or not address.get("country"):
        if session.billing_address:
            return
        raise stripe_tax.TaxLocationInvalid("Enter the country of your billing address.")
    kept = {key: value.strip() for key, value in address.items() if key in ADDRESS_KEYS and value and value.strip()}
    kept["country"] = kept["country"].upper()
    session.amount_tax, session.tax_breakdown = stripe_tax.checkout_tax(
        amount=session.amount, address=kept, behavior=session.tax_behavior,
    )
    session.billing_address = kept
    session.save(update_fields=["amount_tax", "tax_breakdown", "billing_address", "updated_at"])
    intent = session.intent
    if intent is not None and intent.amount != session.amount_total:
        intent.amount = session.amount_total
        intent.save(update_fields=["amount", "updated_at"])


def _complete_if_paid(session: SimulatedCheckoutSession) -> SimulatedCheckoutSession:
    assert session.intent is not None
    session.intent.refresh_from_db()
    if session.intent.status == SimulatedStatus.SUCCEEDED:
        session.status, session.payment_status = "complete", "paid"
        session.save(update_fields=["status", "payment_status", "updated_at"])
        sender.send_event(session, "checkout.session.completed")
        logger.info("Simulated Checkout Session %s completed", session.session_id)
    return session


def _change(session_id: str, change: Callable[[SimulatedCheckoutSession], str]) -> SimulatedCheckoutSession:
    with transaction.atomic():
        session = _locked(session_id)
        event_type = change(session)
        session.save()
        sender.send_event(session, event_type)
    return session
