"""Stripe's rules beyond parameter types: metadata limits and empty values, currencies, and
the amounts a charge and a refund may have.

Messages are Stripe's own where they are published (in Stripe's answers quoted in its SDKs'
issue trackers); the others are written in Stripe's style and say so below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import money
from .stripe_params import StripeRequestError

__all__ = [
    "METADATA_KEYS",
    "METADATA_KEY_LENGTH",
    "METADATA_VALUE_LENGTH",
    "check_charge_amount",
    "check_currency",
    "check_metadata",
    "check_refund_amount",
    "stored_metadata",
]

#: docs.stripe.com/api/metadata: up to 50 keys, keys up to 40 characters, values up to 500.
METADATA_KEYS = 50
METADATA_KEY_LENGTH = 40
METADATA_VALUE_LENGTH = 500


def stored_metadata(current: Mapping[str, str], sent: Any) -> dict[str, str]:
    """What Stripe stores after a request sends ``metadata``: "Individual keys can be unset
    by posting an empty value to them. All keys can be unset by posting an empty value to
    ``metadata``." An empty value is never stored, on create too."""
    if sent is None:
        return dict(current)
    if sent == "":
        return {}
    stored = dict(current)
    for key, value in sent.items():
        if value == "":
            stored.pop(key, None)
        else:
            stored[key] = value
    return stored


def check_metadata(current: Mapping[str, str], sent: Any) -> None:
    """Refuse ``metadata`` beyond Stripe's limits, counting the keys that would be stored."""
    if not isinstance(sent, Mapping):
        return
    for key, value in sent.items():
        if len(key) > METADATA_KEY_LENGTH:
            raise StripeRequestError(
                "metadata", None, f"Invalid key: {key} must be a string under {METADATA_KEY_LENGTH} characters"
            )
        if len(value) > METADATA_VALUE_LENGTH:
            raise StripeRequestError(
                "metadata", None, f"Invalid val: {value} must be a string under {METADATA_VALUE_LENGTH} characters"
            )
    count = len(stored_metadata(current, sent))
    if count > METADATA_KEYS:
        raise StripeRequestError(
            "metadata", None,
            f"Metadata can have up to {METADATA_KEYS} keys, but you've set {count}. "
            "Email us at support+metadata@stripe.com for more information.",
        )


def check_currency(currency: str) -> str:
    """Stripe's lowercase code for ``currency``, or Stripe's refusal listing what it supports."""
    code = currency.lower()
    if code not in money.STRIPE_CURRENCIES:
        supported = ", ".join(["usd", *sorted(money.STRIPE_CURRENCIES - {"usd"})])
        raise StripeRequestError(
            "currency", None, f"Invalid currency: {code}. Stripe currently supports these currencies: {supported}"
        )
    return code


def _at_least_one(amount: int) -> None:
    if amount < 1:
        raise StripeRequestError("amount", None, "This value must be greater than or equal to 1.")


def check_charge_amount(amount: int, currency: str) -> None:
    """A PaymentIntent's ``amount`` (minor units) in a supported ``currency``: at least 1, at
    least the currency's published minimum charge (``amount_too_small``), at most its digits
    (``amount_too_large``; the message is in Stripe's style)."""
    _at_least_one(amount)
    minimum = money.MINIMUM_CHARGE.get(currency)
    if minimum is not None and money.from_minor_units(amount, currency) < minimum:
        raise StripeRequestError(
            "amount", "amount_too_small", f"Amount must be at least {money.format_amount(minimum, currency)}"
        )
    largest = money.max_minor_units(currency)
    if amount > largest:
        shown = money.format_amount(money.from_minor_units(largest, currency), currency)
        raise StripeRequestError("amount", "amount_too_large", f"Amount must be no more than {shown}")


def check_refund_amount(amount: int) -> None:
    """A refund's ``amount``: at least 1 (what is left to refund is the mock's business)."""
    _at_least_one(amount)
