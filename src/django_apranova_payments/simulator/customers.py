"""Stripe's Customers and saved cards, simulated: ``SimulatedCustomers`` is the part of
``SimulatorGateway`` that creates and deletes Customers and reads and detaches their cards.

A PaymentIntent created with ``customer`` and ``setup_future_usage`` saves the test card it is
paid with on that Customer once it succeeds (``remember_card``, ``attach_saved_card``); one
created with a saved ``payment_method`` is confirmed by the browser without a card form
(``saved_card``) and does what the test card does: 4242 succeeds in one click, 3155 asks for
3-D Secure again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction

from .. import exceptions
from ..stripe_data import CustomerData, PaymentMethodData
from .cards import Card, saved
from .guard import refuse_without_debug
from .models import SimulatedCustomer, SimulatedPaymentIntent, SimulatedPaymentMethod

logger = logging.getLogger(__name__)


def _missing(param: str) -> exceptions.GatewayResourceMissing:
    return exceptions.GatewayResourceMissing(code="resource_missing", param=param)


class SimulatedCustomers:
    """The saved-card half of the gateway interface, answered from the database."""

    def create_customer(self, *, email: str | None, metadata: Mapping[str, str], idempotency_key: str) -> CustomerData:
        refuse_without_debug()
        params = {"email": email or "", "metadata": dict(metadata)}
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        try:
            with transaction.atomic():
                customer, _ = SimulatedCustomer.objects.get_or_create(
                    idempotency_key=idempotency_key, defaults={**params, "request_fingerprint": fingerprint}
                )
        except IntegrityError:  # the same key, created concurrently
            customer = SimulatedCustomer.objects.get(idempotency_key=idempotency_key)
        if customer.request_fingerprint != fingerprint:
            raise exceptions.IdempotencyConflict()
        return CustomerData.from_dict(customer.to_stripe())

    def delete_customer(self, customer_id: str) -> None:
        refuse_without_debug()
        SimulatedCustomer.objects.filter(customer_id=customer_id).delete()  # its cards are detached

    def retrieve_payment_method(self, payment_method_id: str) -> PaymentMethodData:
        refuse_without_debug()
        method = SimulatedPaymentMethod.objects.select_related("customer").filter(
            payment_method_id=payment_method_id).first()
        if method is None:
            raise _missing("payment_method")
        return PaymentMethodData.from_dict(method.to_stripe(expand_customer=True))

    def list_payment_methods(self, customer_id: str) -> list[PaymentMethodData]:
        refuse_without_debug()
        customer = SimulatedCustomer.objects.filter(customer_id=customer_id).first()
        if customer is None:
            raise _missing("customer")
        return [PaymentMethodData.from_dict(method.to_stripe()) for method in customer.payment_methods.all()[:100]]

    def detach_payment_method(self, payment_method_id: str) -> None:
        refuse_without_debug()
        if not SimulatedPaymentMethod.objects.filter(payment_method_id=payment_method_id).update(customer=None):
            raise _missing("payment_method")

    @staticmethod
    def card_params(customer: str | None, payment_method: str | None, setup_future_usage: str | None) -> dict[str, str]:
        """What a new PaymentIntent stores of its Customer and card; Stripe's 400s for a
        Customer or card it does not have, or a card of another Customer."""
        if customer and not SimulatedCustomer.objects.filter(customer_id=customer).exists():
            raise _missing("customer")
        if payment_method and not SimulatedPaymentMethod.objects.filter(
                payment_method_id=payment_method, customer__customer_id=customer).exists():
            raise _missing("payment_method")
        return {"customer": customer or "", "payment_method": payment_method or "",
                "setup_future_usage": setup_future_usage or ""}


def remember_card(intent: SimulatedPaymentIntent, card: Card) -> None:
    """The card a PaymentIntent that saves cards is paid with, not attached until it succeeds."""
    if intent.customer and intent.setup_future_usage and card.number:
        method = SimulatedPaymentMethod.objects.create(
            number=card.number, brand=card.brand, exp_month=card.exp_month, exp_year=card.exp_year
        )
        intent.payment_method = method.payment_method_id


def attach_saved_card(intent: SimulatedPaymentIntent) -> None:
    """A succeeded PaymentIntent that saves cards attaches its card to its Customer."""
    if intent.customer and intent.setup_future_usage and intent.payment_method:
        customer = SimulatedCustomer.objects.filter(customer_id=intent.customer).first()
        SimulatedPaymentMethod.objects.filter(payment_method_id=intent.payment_method).update(customer=customer)
        logger.info("Simulated card %s saved on %s", intent.payment_method, intent.customer)


def saved_card(intent: SimulatedPaymentIntent) -> Card | None:
    """The saved card a one-click PaymentIntent is paid with (``None`` when it names none)."""
    method = SimulatedPaymentMethod.objects.filter(
        payment_method_id=intent.payment_method, customer__customer_id=intent.customer).first()
    if method is None or intent.setup_future_usage:
        return None
    return saved(method.number, method.exp_month, method.exp_year)
