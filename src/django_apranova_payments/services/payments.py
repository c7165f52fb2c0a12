"""Create, refresh and cancel payments: what the API, the admin and host code call.

Stripe is called first and the row written after, so a database failure never leaves a
row pointing at nothing; the PaymentIntent carries the user and the idempotency data in
its metadata, so the webhook can rebuild a row lost between the two.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, Generic, TypeVar, cast

from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError

from .. import coupons, exceptions, money, receipts, signals, tax
from ..charges import Charge
from ..conf import app_settings
from ..gateway import CheckoutSessionData, PaymentIntentData, get_gateway
from ..metadata import own_metadata
from ..models import Coupon, Payment
from ..transitions import TransitionResult, apply_intent, apply_session, complete_free
from .customers import SavedCard, create_intent, user_email
from .keys import request_fingerprint, stripe_key

logger = logging.getLogger("django_apranova_payments.services")


@dataclass(frozen=True)
class CreatedPayment:
    payment: Payment
    client_secret: str | None = field(repr=False)  # never in an error report's locals
    replayed: bool


def create_payment(
    user: Any,
    charge: Charge,
    *,
    coupon: str | None = None,
    coupon_check: coupons.CouponCheck | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    save_payment_method: bool = False,
    payment_method: str | None = None,
    billing_address: Mapping[str, str] | None = None,
) -> CreatedPayment:
    """Create the PaymentIntent for ``charge`` at Stripe, then its ``Payment`` row.

    Host code may call this directly, without DRF::

        charge = Charge.of(course.price, "usd", {"course": str(course.pk)})
        created = create_payment(request.user, charge, idempotency_key=f"course-{course.pk}")
        created.client_secret  # for Stripe.js

    ``coupon`` is a code the student typed: ``charge`` is the price, and the coupon's
    discount comes off it (see ``coupons``); ``coupon_check(coupon)`` may refuse it for this
    purchase by raising ``ValidationError`` (the API passes ``COUPON_VALIDATOR``). A coupon
    that does not apply raises ``ValidationError`` on ``coupon`` before Stripe is called.

    With an ``idempotency_key`` (scoped to ``user``) a retry returns the first payment and
    its client secret, and the same key with another ``fingerprint`` (by default, a digest of
    the charge and coupon) raises ``IdempotencyConflict``. Gateway errors are the package's
    own (``exceptions.GatewayError`` and its subclasses).

    ``save_payment_method`` saves the card paid with on the user's Stripe Customer;
    ``payment_method`` pays with one of the user's saved cards, and raises ``NotYourCard``
    (a 400 on ``paymentMethod``) before any PaymentIntent is created when it is not theirs
    (see ``services.customers``).

    With ``TAX`` set, ``billing_address`` (as the API takes it: ``country``, ``postalCode``,
    ``state``, ``city``, ``line1``; checked by ``tax.billing_address``) is where the buyer is
    taxed: Stripe Tax prices the charge after the coupon, the PaymentIntent charges the
    calculation's total, linked to it (see ``tax``). A payment that is not free needs the
    address then (a ``ValidationError`` on ``billingAddress``).
    """
    card = SavedCard(save_payment_method, payment_method) if save_payment_method or payment_method else None
    if idempotency_key is None:
        fingerprint = ""
    elif fingerprint is None:
        body: dict[str, Any] = {
            "amount": str(charge.amount), "currency": charge.currency, "metadata": dict(charge.metadata),
        }
        if coupon is not None:
            body["coupon"] = coupon
        if card is not None:
            body.update(savePaymentMethod=card.save, paymentMethod=card.payment_method)
        if billing_address is not None:
            body["billingAddress"] = dict(billing_address)
        fingerprint = request_fingerprint(body)
    flow = Flow(partial(_create, card=card, billing_address=billing_address), _replay)
    return create_or_replay(flow, user, charge, coupon, coupon_check, idempotency_key, fingerprint)


Created = TypeVar("Created")


@dataclass(frozen=True)
class Flow(Generic[Created]):
    """One way to take a payment (a PaymentIntent here, a Checkout Session in ``checkout``):
    ``create(user, charge, redemption, idempotency_key, fingerprint, savepoint=)`` charges at
    Stripe and stores the row (raising ``StoredMeanwhile`` when ``savepoint=False`` and the
    INSERT conflicts); ``replay(payment, fingerprint)`` answers a retry."""

    create: Callable[..., Created]
    replay: Callable[[Payment, str], Created]


def create_or_replay(
    flow: Flow[Created], user: Any, charge: Charge, coupon: str | None, coupon_check: coupons.CouponCheck | None,
    idempotency_key: str | None, fingerprint: str,
) -> Created:
    """A retry of ``idempotency_key`` replayed, or ``flow.create`` of ``charge`` (less the
    ``coupon``, redeemed under its lock)."""
    if coupon is not None:
        return _create_with_coupon(flow, user, charge, coupon, coupon_check, idempotency_key, fingerprint)
    if idempotency_key is not None:
        existing = Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            return flow.replay(existing, fingerprint)
    return flow.create(user, charge, None, idempotency_key, fingerprint)


class StoredMeanwhile(Exception):  # not an error: a row another path stored meanwhile
    """Raised out of the coupon's transaction (which cannot be used after a failed INSERT)
    so the row stored meanwhile is read after it, by ``recover`` (``None``: a free payment
    stored by a concurrent retry)."""

    def __init__(self, recover: Callable[[], Any] | None) -> None:
        super().__init__()
        self.recover = recover


def _create_with_coupon(
    flow: Flow[Created], user: Any, price: Charge, code: str, check: coupons.CouponCheck | None,
    idempotency_key: str | None, fingerprint: str,
) -> Created:
    """``create_payment`` with a coupon: the coupon is locked first (one statement), then a
    retry is recognised, then the coupon is redeemed. A coupon with a limit keeps its lock
    until the payment row is stored, so its redemptions are never exceeded; one without a
    limit is released before Stripe is called."""
    existing = redemption = None
    try:
        with transaction.atomic():
            coupon = coupons.lock(code)
            if idempotency_key is not None:
                existing = Payment.objects.filter(user=user, idempotency_key=idempotency_key).first()
            if existing is None:
                redemption = coupons.redeem(coupon, user, price, check)
                if redemption.coupon.is_limited:
                    return flow.create(
                        user, redemption.charge, redemption, idempotency_key, fingerprint, savepoint=False
                    )
    except StoredMeanwhile as meanwhile:
        if meanwhile.recover is None:  # a free payment stored by a concurrent retry
            return flow.replay(Payment.objects.get(user=user, idempotency_key=idempotency_key), fingerprint)
        return cast("Created", meanwhile.recover())
    if existing is not None:
        return flow.replay(existing, fingerprint)  # after the commit: a replay may ask Stripe
    assert redemption is not None
    return flow.create(user, redemption.charge, redemption, idempotency_key, fingerprint)


def _create(
    user: Any,
    charge: Charge,
    redemption: coupons.Redemption | None,
    idempotency_key: str | None,
    fingerprint: str,
    *,
    savepoint: bool = True,
    card: SavedCard | None = None,
    billing_address: Mapping[str, str] | None = None,
) -> CreatedPayment:
    """Charge ``charge`` (the price less ``redemption``'s discount): a free payment, or a
    PaymentIntent (saving or paying with ``card``; priced by Stripe Tax with ``TAX`` set) and
    then its row. ``savepoint=False`` inside the coupon's transaction, where a conflicting
    INSERT raises ``StoredMeanwhile`` instead of being recovered here."""
    if charge.is_free:
        return _create_free(user, charge, redemption, idempotency_key, fingerprint, savepoint=savepoint)
    taxed = _taxed(user, charge, billing_address, idempotency_key)
    total = charge.minor_units if taxed is None else taxed.total
    tax_minor = 0 if taxed is None else taxed.calculation.tax_amount
    intent = create_intent(user, card, lambda card_args, retry: get_gateway().create_payment_intent(
        amount=total,
        currency=charge.currency,
        metadata={
            **charge.metadata,
            **own_metadata(
                user_pk=user.pk, amount_minor=total, currency=charge.currency, host=charge.metadata,
                idempotency_key=idempotency_key, fingerprint=fingerprint,
                coupon=None if redemption is None else redemption.coupon.code,
                discount_minor=0 if redemption is None else redemption.discount_minor,
                tax_minor=tax_minor,
            ),
        },
        idempotency_key=stripe_key("apranova-", idempotency_key, user.pk, *([retry] if retry else [])),
        receipt_email=_receipt_email(user),
        tax_calculation=None if taxed is None else taxed.calculation.id,
        **card_args,
    ))
    if intent.amount != total or intent.currency != charge.currency:
        logger.error("PaymentIntent %s came back as %s %s", intent.id, intent.amount, intent.currency)
        raise exceptions.GatewayError()
    try:
        payment = store_payment(
            user=user, intent=intent, metadata=charge.metadata,
            idempotency_key=idempotency_key, fingerprint=fingerprint,
            coupon=None if redemption is None else redemption.coupon,
            discount=Decimal(0) if redemption is None else redemption.discount,
            taxed=taxed,
            savepoint=savepoint,
        )
    except IntegrityError:
        if not savepoint:
            raise StoredMeanwhile(lambda: _stored_meanwhile(user, intent, idempotency_key, fingerprint)) from None
        return _stored_meanwhile(user, intent, idempotency_key, fingerprint)
    logger.info("Payment %s created for PaymentIntent %s", payment.pk, intent.id)
    return CreatedPayment(payment, intent.client_secret, replayed=False)


def _taxed(
    user: Any, charge: Charge, billing_address: Mapping[str, str] | None, idempotency_key: str | None
) -> tax.Taxed | None:
    """Stripe Tax's calculation for ``charge`` with ``TAX`` set (``None`` without it)."""
    tax_settings = app_settings.TAX
    if tax_settings is None:
        return None
    if billing_address is None:
        message = gettext("Required: the buyer's country (and postal code where needed) decides the tax.")
        raise ValidationError({"billingAddress": [message]}, code="required")
    address = tax.billing_address(billing_address)
    return tax.calculate(tax_settings, charge, address, scope=(user.pk,), idempotency_key=idempotency_key)


def _receipt_email(user: Any) -> str | None:
    """The user's e-mail address for Stripe's receipt when ``RECEIPT_EMAIL`` is on, unless the
    package sends its own numbered receipt (``SELLER`` set too): one receipt, never two."""
    if app_settings.RECEIPT_EMAIL is not True or receipts.sends_own_receipts():
        return None
    return user_email(user)


def store_payment(
    *,
    user: Any,
    intent: PaymentIntentData | CheckoutSessionData,
    metadata: Mapping[str, str],
    idempotency_key: str | None = None,
    fingerprint: str = "",
    event: Mapping[str, Any] | None = None,
    coupon: Coupon | None = None,
    discount: Decimal = Decimal(0),
    taxed: tax.Taxed | None = None,
    tax_minor: int = 0,
    savepoint: bool = True,
    checkout_reference: uuid.UUID | None = None,
) -> Payment:
    """Store the ``Payment`` of a PaymentIntent (or Checkout Session, with its
    ``checkout_reference``) this installation created, and send ``payment_created`` (with
    ``event`` when a webhook rebuilt a lost row) in the same savepoint: the one way a payment
    row comes to exist. The amount and currency are the intent's (or session's) own; ``coupon``
    and ``discount`` what the student applied; ``taxed`` Stripe Tax's calculation (or, for a
    row rebuilt from a webhook, ``tax_minor`` as the mark names it). ``IntegrityError`` when a row with the intent,
    or the user's ``idempotency_key``, exists already (with ``savepoint=False``, the enclosing
    transaction cannot be used after it)."""
    if isinstance(intent, CheckoutSessionData):
        assert intent.amount_total is not None, "a Checkout Session is stored once its amount is known"
        ids = {"stripe_checkout_session": intent.id, "stripe_payment_intent": intent.payment_intent,
               "checkout_reference": checkout_reference}
        amount_minor, stripe_status = intent.amount_total, ""
    else:
        ids, amount_minor, stripe_status = {"stripe_payment_intent": intent.id}, intent.amount, intent.status
    with transaction.atomic(savepoint=savepoint):
        payment = Payment.objects.create(
            user=user,
            **ids,
            amount=money.quantize_for_storage(money.from_minor_units(amount_minor, intent.currency)),
            currency=intent.currency,
            stripe_status=stripe_status,
            livemode=intent.livemode,
            metadata=dict(metadata),
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint if idempotency_key is not None else "",
            coupon=coupon,
            discount=money.quantize_for_storage(discount),
            **_tax_fields(intent, taxed, tax_minor),
        )
        signals.payment_created.send(sender=Payment, payment=payment, event=event)
    return payment


def _tax_fields(
    intent: PaymentIntentData | CheckoutSessionData, taxed: tax.Taxed | None, tax_minor: int
) -> dict[str, Any]:
    """The ``Payment`` fields of the tax within ``intent``'s amount (none without tax)."""
    if taxed is not None:
        calculation = taxed.calculation
        return {"amount_tax": money.from_minor_units(calculation.tax_amount, intent.currency),
                "tax_calculation": calculation.id, "tax_breakdown": [dict(row) for row in calculation.breakdown],
                "billing_address": dict(taxed.address)}
    if tax_minor:
        linked = intent.tax_calculation if isinstance(intent, PaymentIntentData) else ""
        return {"amount_tax": money.from_minor_units(tax_minor, intent.currency), "tax_calculation": linked}
    return {}


def _stored_meanwhile(
    user: Any, intent: PaymentIntentData, idempotency_key: str | None, fingerprint: str
) -> CreatedPayment:
    """The row another path stored while Stripe answered us: the PaymentIntent's own
    ``payment_intent.created`` webhook (which rebuilds it from the metadata), or a concurrent
    request with the same Idempotency-Key (Stripe gave both the same PaymentIntent)."""
    payment = Payment.objects.filter(user=user, stripe_payment_intent=intent.id).first()
    if payment is not None:
        return CreatedPayment(payment, intent.client_secret, replayed=False)
    if idempotency_key is None:
        raise exceptions.GatewayError()  # a PaymentIntent id stored for another user: never ours
    payment = Payment.objects.get(user=user, idempotency_key=idempotency_key)
    if payment.request_fingerprint != fingerprint:
        raise exceptions.IdempotencyConflict() from None
    return CreatedPayment(payment, intent.client_secret, replayed=True)


#: The prefix of a free payment's id, where a paid one has Stripe's ``pi_``.
FREE_PREFIX = "free_"


def _create_free(
    user: Any,
    charge: Charge,
    redemption: coupons.Redemption | None,
    idempotency_key: str | None,
    fingerprint: str,
    *,
    savepoint: bool = True,
) -> CreatedPayment:
    """Store a free payment as succeeded (``ALLOW_FREE``: a resolver's price of 0, or a
    coupon that covers the price), calling no one, and send ``payment_created``,
    ``payment_status_changed`` and ``payment_succeeded`` (``event=None``) in the same
    transaction: the host's enrollment receiver needs no second path."""
    try:
        with transaction.atomic(savepoint=savepoint):
            payment = Payment.objects.create(
                user=user,
                stripe_payment_intent=f"{FREE_PREFIX}{uuid.uuid4().hex}",
                amount=money.quantize_for_storage(charge.amount),
                currency=charge.currency,
                status=Payment.Status.PENDING,
                livemode=get_gateway().livemode,
                metadata=dict(charge.metadata),
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint if idempotency_key is not None else "",
                coupon=None if redemption is None else redemption.coupon,
                discount=Decimal(0) if redemption is None else money.quantize_for_storage(redemption.discount),
            )
            signals.payment_created.send(sender=Payment, payment=payment, event=None)
            complete_free(payment)
    except IntegrityError:
        if idempotency_key is None:
            raise
        if not savepoint:
            raise StoredMeanwhile(None) from None
        # a concurrent request with the same Idempotency-Key stored it first
        return _replay(Payment.objects.get(user=user, idempotency_key=idempotency_key), fingerprint)
    logger.info("Free payment %s (%s) stored for user %s", payment.pk, payment.stripe_payment_intent, user.pk)
    return CreatedPayment(payment, None, replayed=False)


def _replay(payment: Payment, fingerprint: str) -> CreatedPayment:
    if payment.request_fingerprint != fingerprint:
        raise exceptions.IdempotencyConflict()
    if payment.is_free:
        return CreatedPayment(payment, None, replayed=True)
    if payment.stripe_payment_intent is None:  # the key was spent on a Stripe Checkout payment
        raise exceptions.IdempotencyConflict()
    intent = get_gateway().retrieve_payment_intent(payment.stripe_payment_intent)
    return CreatedPayment(payment, intent.client_secret, replayed=True)


def refresh_payment(payment: Payment) -> TransitionResult:
    """Ask Stripe for the PaymentIntent (or, before there is one, the Checkout Session) and
    apply its status; the client's word is never used."""
    if payment.stripe_payment_intent is None:
        assert payment.stripe_checkout_session is not None
        return apply_session(payment, get_gateway().retrieve_checkout_session(payment.stripe_checkout_session))
    intent = get_gateway().retrieve_payment_intent(payment.stripe_payment_intent)
    return apply_intent(payment, intent)


def cancel_payment(payment: Payment) -> TransitionResult:
    """Cancel at Stripe when Stripe still allows it, and apply the result.

    An already canceled payment (here or at Stripe) is returned canceled; one that
    succeeded, or whose intent Stripe refuses to cancel (processing, succeeded), raises
    ``PaymentNotCancelable`` after the local row has caught up with Stripe.
    """
    if payment.status == Payment.Status.CANCELED:
        return TransitionResult(payment, payment.status, payment.status)
    if payment.status == Payment.Status.SUCCEEDED:
        raise exceptions.PaymentNotCancelable()
    if payment.stripe_checkout_session is not None:
        result = _expire_session(payment, payment.stripe_checkout_session)
        if payment.stripe_payment_intent is None:
            if result.new_status != Payment.Status.CANCELED:
                raise exceptions.PaymentNotCancelable()
            return result
    assert payment.stripe_payment_intent is not None
    try:
        intent = get_gateway().cancel_payment_intent(payment.stripe_payment_intent, reason="requested_by_customer")
    except exceptions.PaymentNotCancelable:
        result = refresh_payment(payment)
        if result.new_status == Payment.Status.CANCELED:
            return result  # canceled at Stripe already (the Dashboard, another request)
        raise
    return apply_intent(payment, intent)


def _expire_session(payment: Payment, session_id: str) -> TransitionResult:
    """Expire a Checkout payment's Session, so no one pays through it any more (Stripe cancels
    its PaymentIntent, if it made one), and apply what the Session shows; one no longer open
    (completed, or expired already) is applied as Stripe has it."""
    gateway = get_gateway()
    try:
        session = gateway.expire_checkout_session(session_id)
    except exceptions.GatewayRejected:
        session = gateway.retrieve_checkout_session(session_id)
    return apply_session(payment, session)
