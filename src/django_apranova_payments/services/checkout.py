"""Stripe Checkout: the same purchase as ``create_payment``, paid on Stripe's hosted page.

The price, the coupon (redeemed under its lock) and the Idempotency-Key work exactly as for
``create_payment`` (``payments.create_or_replay``); only the step that charges at Stripe
differs: a Checkout Session instead of a PaymentIntent. Stripe makes the PaymentIntent when
the customer pays, so the row is stored with its Session and a checkout reference, which the
PaymentIntent's metadata carries (under the installation mark) so that its events find the
row before Stripe has said which PaymentIntent the Session made.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import IntegrityError
from django.utils.translation import gettext

from .. import coupons, exceptions
from ..charges import Charge
from ..conf import app_settings
from ..gateway import CheckoutRequest, CheckoutSessionData, get_gateway
from ..metadata import own_metadata
from ..models import Payment
from .customers import user_email
from .keys import request_fingerprint, stripe_key
from .payments import Flow, StoredMeanwhile, _create_free, create_or_replay, store_payment

logger = logging.getLogger("django_apranova_payments.services")

#: The metadata key whose value names the Session's line item (what the customer sees on
#: Stripe's page); without it, the line is called "Payment".
PRODUCT_NAME = "product_name"
#: What Stripe replaces with the Session's id in the success URL.
SESSION_ID_TEMPLATE = "{CHECKOUT_SESSION_ID}"


@dataclass(frozen=True)
class CreatedCheckout:
    """A Checkout payment: ``url`` is Stripe's page to send the customer to (``None`` on a
    replay once the Session is no longer open; the success URL for a free payment, which is
    succeeded already)."""

    payment: Payment
    url: str | None
    replayed: bool


@dataclass(frozen=True)
class _Redirects:
    success_url: str
    cancel_url: str


def create_checkout(
    user: Any,
    charge: Charge,
    *,
    success_url: str,
    cancel_url: str,
    coupon: str | None = None,
    coupon_check: coupons.CouponCheck | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> CreatedCheckout:
    """Create a Checkout Session for ``charge`` at Stripe, then its ``pending`` ``Payment``.

    ``success_url`` and ``cancel_url`` must be safe already (``redirects.checked_url``); Stripe
    sends the customer to ``success_url`` with ``?session_id=cs_…`` added. Everything else is
    as ``create_payment``: the coupon, the Idempotency-Key and its ``fingerprint`` (by default
    a digest of the charge, the coupon and both URLs), the package's exceptions.
    """
    if idempotency_key is None:
        fingerprint = ""
    elif fingerprint is None:
        fingerprint = request_fingerprint({
            "amount": str(charge.amount), "currency": charge.currency, "metadata": dict(charge.metadata),
            "coupon": coupon, "successUrl": success_url, "cancelUrl": cancel_url,
        })
    redirects = _Redirects(success_url, cancel_url)
    flow = Flow(partial(_create, redirects), partial(_replay, redirects))
    return create_or_replay(flow, user, charge, coupon, coupon_check, idempotency_key, fingerprint)


def _create(
    redirects: _Redirects,
    user: Any,
    charge: Charge,
    redemption: coupons.Redemption | None,
    idempotency_key: str | None,
    fingerprint: str,
    *,
    savepoint: bool = True,
) -> CreatedCheckout:
    """Charge ``charge``: a free payment (no Session: the customer goes straight to the
    success URL), or a Checkout Session and then its row."""
    if charge.is_free:
        free = _create_free(user, charge, redemption, idempotency_key, fingerprint, savepoint=savepoint)
        return CreatedCheckout(free.payment, redirects.success_url, free.replayed)
    key = stripe_key("apranova-checkout-", idempotency_key, user.pk)
    reference = uuid.uuid5(uuid.NAMESPACE_URL, key)  # the same on a retry: Stripe replays its Session
    session = get_gateway().create_checkout_session(_request(redirects, user, charge, redemption, key, reference,
                                                             idempotency_key, fingerprint))
    # With TAX the Session's total grows by the tax once the customer enters an address; the
    # line before it is what was asked for.
    asked = session.amount_subtotal if app_settings.TAX is not None else session.amount_total
    if asked != charge.minor_units or session.currency != charge.currency:
        logger.error("Checkout Session %s came back as %s %s", session.id, session.amount_total, session.currency)
        raise exceptions.GatewayError()
    try:
        payment = store_payment(
            user=user, intent=session, metadata=charge.metadata, idempotency_key=idempotency_key,
            fingerprint=fingerprint, coupon=None if redemption is None else redemption.coupon,
            discount=Decimal(0) if redemption is None else redemption.discount, savepoint=savepoint,
            checkout_reference=reference,
        )
    except IntegrityError:
        if not savepoint:
            raise StoredMeanwhile(lambda: _stored_meanwhile(user, session, idempotency_key, fingerprint)) from None
        return _stored_meanwhile(user, session, idempotency_key, fingerprint)
    logger.info("Payment %s created for Checkout Session %s", payment.pk, session.id)
    return CreatedCheckout(payment, session.url, replayed=False)


def _request(
    redirects: _Redirects, user: Any, charge: Charge, redemption: coupons.Redemption | None, key: str,
    reference: uuid.UUID, idempotency_key: str | None, fingerprint: str,
) -> CheckoutRequest:
    tax = app_settings.TAX
    metadata = {
        **charge.metadata,
        **own_metadata(
            user_pk=user.pk, amount_minor=charge.minor_units, currency=charge.currency, host=charge.metadata,
            idempotency_key=idempotency_key, fingerprint=fingerprint,
            coupon=None if redemption is None else redemption.coupon.code,
            discount_minor=0 if redemption is None else redemption.discount_minor,
            checkout=reference.hex, checkout_tax=None if tax is None else tax.behavior,
        ),
    }
    return CheckoutRequest(
        amount=charge.minor_units, currency=charge.currency,
        product_name=charge.metadata.get(PRODUCT_NAME) or gettext("Payment"),
        metadata=metadata, success_url=with_session_id(redirects.success_url), cancel_url=redirects.cancel_url,
        client_reference_id=reference.hex, idempotency_key=key, customer_email=user_email(user), tax=tax,
    )


def with_session_id(url: str) -> str:
    """``url`` with ``session_id={CHECKOUT_SESSION_ID}`` added to its query (Stripe fills in
    the Session's id), so the success page can ask which payment it was."""
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}session_id={SESSION_ID_TEMPLATE}"))


def _stored_meanwhile(
    user: Any, session: CheckoutSessionData, idempotency_key: str | None, fingerprint: str
) -> CreatedCheckout:
    """The row a concurrent request with the same Idempotency-Key stored while Stripe
    answered us (Stripe gave both the same Session)."""
    payment = Payment.objects.filter(user=user, stripe_checkout_session=session.id).first()
    if payment is not None:
        return CreatedCheckout(payment, session.url, replayed=False)
    if idempotency_key is None:
        raise exceptions.GatewayError()  # a Session id stored for another user: never ours
    payment = Payment.objects.get(user=user, idempotency_key=idempotency_key)
    if payment.request_fingerprint != fingerprint:
        raise exceptions.IdempotencyConflict()
    return CreatedCheckout(payment, session.url, replayed=True)


def _replay(redirects: _Redirects, payment: Payment, fingerprint: str) -> CreatedCheckout:
    if payment.request_fingerprint != fingerprint:
        raise exceptions.IdempotencyConflict()
    if payment.is_free:
        return CreatedCheckout(payment, redirects.success_url, replayed=True)
    if payment.stripe_checkout_session is None:  # the key was spent on a create-payment
        raise exceptions.IdempotencyConflict()
    session = get_gateway().retrieve_checkout_session(payment.stripe_checkout_session)
    return CreatedCheckout(payment, session.url if session.status == "open" else None, replayed=True)
