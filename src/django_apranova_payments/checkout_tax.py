"""Stripe Tax in Stripe Checkout: a payment takes its Session's tax, once.

With ``TAX`` set, a Checkout Session has ``automatic_tax`` on and collects the billing
address; Stripe computes the tax when the customer enters it. With ``exclusive`` tax the
PaymentIntent Stripe then makes is for ``amount_total`` (the line plus the tax), with
``inclusive`` tax for the line itself. The payment is stored at the line before tax, which is
what the installation mark covers (the Session's and PaymentIntent's metadata say the
behaviour, ``apranova_checkout_tax``, under the mark), and takes the Session's amount, tax,
breakdown and billing address under its row lock from whichever comes first:

* a ``checkout.session.*`` event (or a Session retrieved from Stripe), through
  ``transitions.apply_session`` (``session_fit``);
* a PaymentIntent of the Session whose amount is not the payment's: the Session is then
  retrieved from Stripe (``take_from_session``) before ``transitions.apply_intent`` checks
  the PaymentIntent.

Nothing else changes a payment's amount. It grows only by exactly the Session's
``total_details.amount_tax``, in the payment's currency, for a Checkout payment whose Session
was made with ``TAX``, and only when the Session's ``amount_subtotal`` is the line the payment
was stored with; the PaymentIntent must then be for that total, or the usual mismatch guard
refuses it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import money
from .conf import TAX_BEHAVIORS
from .gateway import CheckoutSessionData, PaymentIntentData, get_gateway
from .metadata import CHECKOUT_TAX
from .models import Payment

logger = logging.getLogger(__name__)

#: How a refusal's note begins (``transitions.MISMATCH``: the amounts do not fit).
MISMATCH = "mismatch"


def behavior(metadata: Mapping[str, str]) -> str | None:
    """The ``TAX`` behaviour a Session (or its PaymentIntent) was made with, from its
    metadata, or ``None`` when it was made without ``TAX``."""
    value = metadata.get(CHECKOUT_TAX)
    return value if value in TAX_BEHAVIORS else None


def tax_minor(payment: Payment) -> int:
    """The tax recorded on ``payment``, in minor units."""
    return money.to_minor_units(payment.amount_tax, payment.currency) if payment.amount_tax else 0


def is_recorded(payment: Payment) -> bool:
    """Whether ``payment`` has taken its Session's tax already (its billing address is
    always stored with it; the tax may be 0)."""
    return bool(payment.billing_address) or payment.amount_tax > 0


def subtotal_minor(payment: Payment, tax_behavior: str | None) -> int:
    """The line before tax of a Checkout payment made with ``tax_behavior``: what its mark
    covers (the amount less an exclusive tax recorded)."""
    if tax_behavior == "exclusive":
        return payment.amount_minor - tax_minor(payment)
    return payment.amount_minor


def marked_amount(payment: Payment, intent: PaymentIntentData) -> int:
    """The amount the mark of ``intent`` (the PaymentIntent a Checkout payment's Session made)
    must cover: the payment's line before tax when it was made with ``TAX``, else the
    PaymentIntent's own amount."""
    tax_behavior = behavior(intent.metadata)
    if tax_behavior is None or payment.stripe_checkout_session is None:
        return intent.amount
    return subtotal_minor(payment, tax_behavior)


@dataclass(frozen=True)
class Fit:
    """How a Session made with ``TAX`` fits its payment: the fields its tax sets (none until
    it is complete), or why it does not fit (``refused``, beginning with ``MISMATCH``)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    refused: str = ""


def session_fit(payment: Payment, session: CheckoutSessionData) -> Fit | None:
    """``None`` for a Session made without ``TAX`` (its total is checked as it is); else how
    it fits ``payment``. A Session not yet complete (open, expired) only has to be for the
    payment's line; a complete one's total must be that line with its tax, which is recorded
    (a tax recorded already must be the same)."""
    tax_behavior = behavior(session.metadata)
    if tax_behavior is None or not session.automatic_tax:
        return None
    subtotal = subtotal_minor(payment, tax_behavior)
    if session.currency != payment.currency or session.amount_subtotal != subtotal:
        return Fit(refused=f"{MISMATCH}: the Checkout Session's line is {session.amount_subtotal} "
                           f"{session.currency} (minor units), the payment's {subtotal} {payment.currency}")
    if session.status != "complete":
        return Fit()
    tax, total = session.amount_tax, session.amount_total
    if tax is None or total is None or tax < 0 or total != subtotal + (tax if tax_behavior == "exclusive" else 0) \
            or tax > total:
        return Fit(refused=f"{MISMATCH}: the Checkout Session's total {total} is not its line {subtotal} with "
                           f"its {tax_behavior} tax {tax} (minor units)")
    if is_recorded(payment) and tax != tax_minor(payment):
        return Fit(refused=f"{MISMATCH}: the payment's tax is {tax_minor(payment)}, the Checkout Session's {tax}")
    values: dict[str, Any] = {
        "amount": _major(total, payment.currency), "amount_tax": _major(tax, payment.currency),
        "billing_address": dict(session.address or payment.billing_address),
    }
    if session.tax_breakdown is not None:
        values["tax_breakdown"] = [dict(line) for line in session.tax_breakdown]
    return Fit(values)


def _major(minor: int, currency: str) -> Decimal:
    return money.quantize_for_storage(money.from_minor_units(minor, currency))


def with_breakdown(payment: Payment, session: CheckoutSessionData) -> CheckoutSessionData:
    """``session`` (from an event, which never carries expanded fields) with its tax
    breakdown, retrieved from Stripe once: when it is a complete Session made with ``TAX``
    whose tax ``payment`` has not recorded yet."""
    if (behavior(session.metadata) is None or not session.automatic_tax or session.status != "complete"
            or session.tax_breakdown is not None or is_recorded(payment)):
        return session
    retrieved = get_gateway().retrieve_checkout_session(session.id)
    if (retrieved.amount_tax, retrieved.amount_total) != (session.amount_tax, session.amount_total):
        logger.error("Checkout Session %s: Stripe's tax differs from the event's; breakdown not taken", session.id)
        return session
    return dataclasses.replace(session, tax_breakdown=retrieved.tax_breakdown, address=session.address or
                               retrieved.address)


def take_from_session(payment: Payment, intent: PaymentIntentData) -> str:
    """Before ``intent`` is checked against ``payment`` (locked by the caller): when it is the
    PaymentIntent of a Checkout payment made with ``TAX`` that has not taken its Session's tax
    yet, and its amount is not the payment's, retrieve the Session and record its tax. Returns
    why it was not recorded ("" when it was, or nothing was needed); the mismatch guard then
    judges ``intent`` against the amount as it is."""
    if (behavior(intent.metadata) is None or payment.stripe_checkout_session is None or is_recorded(payment)
            or intent.amount == payment.amount_minor or intent.currency != payment.currency):
        return ""
    session = get_gateway().retrieve_checkout_session(payment.stripe_checkout_session)
    if session.payment_intent != intent.id:
        return f"{MISMATCH}: the Checkout Session did not make PaymentIntent {intent.id}"
    fit = session_fit(payment, session)
    if fit is None or fit.refused or not fit.values:
        why = ("the Checkout Session has no tax" if fit is None
               else fit.refused or "the Checkout Session is not complete")
        logger.error("Payment %s: tax not taken from Checkout Session %s: %s", payment.pk, session.id, why)
        return why
    record(payment, fit.values)
    return ""


def record(payment: Payment, values: Mapping[str, Any]) -> list[str]:
    """Set ``values`` on ``payment`` and save the fields that changed (under the caller's
    lock); returns their names."""
    changed = [name for name, value in values.items() if getattr(payment, name) != value]
    for name in changed:
        setattr(payment, name, values[name])
    if changed:
        payment.save(update_fields=[*changed, "updated_at"])
        logger.info("Payment %s took the tax of Checkout Session %s: %s %s, tax %s", payment.pk,
                    payment.stripe_checkout_session, payment.amount, payment.currency, payment.amount_tax)
    return changed
