"""Saved cards: each user's Stripe Customer (made once per user and mode, never two), the
PaymentIntent that saves a card or pays with a saved one, the cards a student sees and
removes, and the deletion of a deleted user's Customer at Stripe.

Stripe is called first and the row written after: concurrent first purchases send the same
idempotency key (``customers.customer_idempotency_key``), so Stripe makes one Customer and
answers each of them with it; one row is inserted (the ``(user, livemode)`` constraint) and
the others read it. A Customer Stripe no longer has (the keys changed, or it was deleted in
the Dashboard) is replaced once, and logged; a Customer whose mark does not verify for the
user is never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from .. import exceptions
from ..customers import customer_idempotency_key, customer_metadata, is_own_customer, owns
from ..gateway import PaymentIntentData, PaymentMethodData, get_gateway
from ..models import Customer, PendingCustomerDeletion

logger = logging.getLogger("django_apranova_payments.services")

#: ``create(extra, retry)``: create the PaymentIntent with ``extra`` gateway arguments
#: (``customer``, ``payment_method``, ``setup_future_usage``); ``retry`` is empty, or the
#: Customer that replaced a missing one (a new idempotency key for a new request).
CreateIntent = Callable[[dict[str, Any], str], PaymentIntentData]


@dataclass(frozen=True)
class SavedCard:
    """What create-payment asks of a card: save the one paid with, or pay with ``payment_method``."""

    save: bool = False
    payment_method: str | None = None


def user_email(user: Any) -> str | None:
    """The user's e-mail address, when it is one."""
    field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    email = getattr(user, field, "") or ""
    return email if isinstance(email, str) and "@" in email else None


def customer_for(user: Any) -> Customer:
    """The user's Customer in the gateway's mode, made at Stripe on first use."""
    livemode = get_gateway().livemode
    existing = Customer.objects.filter(user=user, livemode=livemode).first()
    return existing if existing is not None else _create_customer(user, livemode)


def _create_customer(user: Any, livemode: bool, replacing: str = "") -> Customer:
    email = user_email(user)
    customer = get_gateway().create_customer(
        email=email, metadata=customer_metadata(user.pk, livemode),
        idempotency_key=customer_idempotency_key(user.pk, livemode, email, replacing),
    )
    if not is_own_customer(customer, user.pk, livemode):
        logger.error("Stripe answered the creation of user %s's Customer with %s, not marked as made for them "
                     "here: it is not used", user.pk, customer.id)
        raise exceptions.GatewayError()
    try:
        with transaction.atomic():
            row = Customer.objects.create(user=user, stripe_customer=customer.id, livemode=livemode)
    except IntegrityError:  # a concurrent first purchase stored it first (the same Customer)
        return Customer.objects.get(user=user, livemode=livemode)
    logger.info("Stripe Customer %s created for user %s", row.stripe_customer, user.pk)
    return row


def replace_missing(user: Any, stale: Customer) -> Customer:
    """A new Customer for ``user`` in place of ``stale``, which Stripe does not have."""
    logger.warning("Stripe has no Customer %s of user %s (the keys changed, or it was deleted in the Dashboard): "
                   "a new one replaces it", stale.stripe_customer, user.pk)
    Customer.objects.filter(pk=stale.pk).delete()
    return _create_customer(user, stale.livemode, replacing=stale.stripe_customer)


def create_intent(user: Any, card: SavedCard | None, create: CreateIntent) -> PaymentIntentData:
    """Create the PaymentIntent through ``create``, with the user's Customer when ``card``
    asks to save the card (``setup_future_usage=on_session``: the student will be there to
    pay again) or names a saved card of theirs (then the card is attached, the browser
    confirms it: ``off_session`` would forbid the 3-D Secure a bank may ask of a present
    student). A card that is not the user's raises ``NotYourCard`` before Stripe is asked
    for a PaymentIntent."""
    if card is None or not (card.save or card.payment_method):
        return create({}, "")
    if card.payment_method is not None:
        method = owned_payment_method(user, card.payment_method)
        if method is None:
            raise exceptions.NotYourCard()
        return create({"customer": method.customer_id, "payment_method": method.id}, "")
    customer = customer_for(user)
    try:
        return create({"customer": customer.stripe_customer, "setup_future_usage": "on_session"}, "")
    except exceptions.GatewayResourceMissing as exc:
        if exc.param != "customer":
            raise
    fresh = replace_missing(user, customer)  # once: a second refusal is the gateway's error
    return create({"customer": fresh.stripe_customer, "setup_future_usage": "on_session"}, fresh.stripe_customer)


def owned_payment_method(user: Any, payment_method: str) -> PaymentMethodData | None:
    """The PaymentMethod when it is one of the user's saved cards, else ``None``: unknown,
    another user's, another site's or attached to no one all look the same."""
    gateway = get_gateway()
    try:
        method = gateway.retrieve_payment_method(payment_method)
    except exceptions.GatewayRejected:
        return None
    return method if owns(method, user.pk, gateway.livemode) else None


def saved_cards(user: Any) -> list[PaymentMethodData]:
    """The user's saved cards in the gateway's mode, newest first (no Stripe call for a user
    who never saved one). A Customer Stripe no longer has is forgotten, and logged."""
    gateway = get_gateway()
    customer = Customer.objects.filter(user=user, livemode=gateway.livemode).first()
    if customer is None:
        return []
    try:
        methods = gateway.list_payment_methods(customer.stripe_customer)
    except exceptions.GatewayResourceMissing:
        logger.warning("Stripe has no Customer %s of user %s (the keys changed, or it was deleted in the "
                       "Dashboard): forgotten, a new one is made with the next saved card",
                       customer.stripe_customer, user.pk)
        Customer.objects.filter(pk=customer.pk).delete()
        return []
    return sorted((m for m in methods if m.customer_id == customer.stripe_customer), key=lambda m: -m.created)


def forget_card(user: Any, payment_method: str) -> bool:
    """Detach one of the user's saved cards; ``False`` when it is not theirs."""
    method = owned_payment_method(user, payment_method)
    if method is None:
        return False
    get_gateway().detach_payment_method(method.id)
    logger.info("Saved card %s of user %s forgotten", method.id, user.pk)
    return True


def forget_all_cards(customer: Customer) -> int:
    """Detach every card of ``customer`` (the admin's action); how many were."""
    gateway = get_gateway()
    methods = gateway.list_payment_methods(customer.stripe_customer)
    for method in methods:
        gateway.detach_payment_method(method.id)
    logger.info("%d saved card(s) of Customer %s forgotten", len(methods), customer.stripe_customer)
    return len(methods)


def queue_customer_deletion(user: Any) -> None:
    """Queue the deletion at Stripe of the user's Customers, in the transaction that deletes
    the user, and try it as soon as that commits; what fails waits for
    ``apranova_process_events``. Nothing is queued for a user who never saved a card."""
    customers = list(Customer.objects.filter(user=user).values_list("stripe_customer", "livemode"))
    for stripe_customer, livemode in customers:
        PendingCustomerDeletion.objects.get_or_create(stripe_customer=stripe_customer, defaults={"livemode": livemode})
    if customers:
        ids = [stripe_customer for stripe_customer, _ in customers]
        transaction.on_commit(lambda: delete_pending_customers(ids), robust=True)


def delete_pending_customers(only: Iterable[str] | None = None) -> tuple[int, int]:
    """Delete the queued Customers of the gateway's mode at Stripe (``only`` these ids, when
    given): how many were deleted, and how many still wait (Stripe could not be reached)."""
    gateway = get_gateway()
    pending = PendingCustomerDeletion.objects.filter(livemode=gateway.livemode)
    if only is not None:
        pending = pending.filter(stripe_customer__in=list(only))
    deleted = left = 0
    for row in pending:
        try:
            gateway.delete_customer(row.stripe_customer)
        except exceptions.GatewayError:
            PendingCustomerDeletion.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            logger.warning("Stripe Customer %s of a deleted user is not deleted yet: apranova_process_events "
                           "tries again", row.stripe_customer)
            left += 1
            continue
        row.delete()
        logger.info("Stripe Customer %s of a deleted user deleted", row.stripe_customer)
        deleted += 1
    return deleted, left
