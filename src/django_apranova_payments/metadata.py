"""The package's own keys in a PaymentIntent's metadata, and the installation mark.

Every PaymentIntent this installation creates carries, beside the host's metadata:

* ``apranova_user``: the pk of the paying user;
* ``apranova_idempotency_key`` and ``apranova_fingerprint``: the client's Idempotency-Key and
  the digest of its request body, when the request had a key;
* ``apranova_coupon`` and ``apranova_discount``: the coupon's code and what it took off, in
  minor units, when the student applied one;
* ``apranova_tax``: the tax within the amount, in minor units, when Stripe Tax priced it;
* ``apranova_checkout``: on a Stripe Checkout payment (its Session's metadata and its
  PaymentIntent's), the payment's checkout reference, which finds its row before Stripe has
  told us which PaymentIntent the Session made;
* ``apranova_checkout_tax``: on a Stripe Checkout payment made with ``TAX``, the tax
  behaviour (``exclusive`` or ``inclusive``); Stripe computes the tax on its page, so the mark
  covers the line before tax (the Session's ``amount_subtotal``) and the PaymentIntent's
  amount is checked as that plus the Session's tax (``checkout_tax``);
* ``apranova_mark``: an HMAC over all of the above, the host's own metadata, the amount and
  the currency, keyed from Django's ``SECRET_KEY`` (``salted_hmac``), verified against
  ``SECRET_KEY_FALLBACKS`` too (empty keys are never used).

Stripe sends every event of an account to every endpoint, so a PaymentIntent seen in an event
is this installation's only if its row exists or its mark verifies. Another site on the same
Stripe account (or staging beside production) cannot make a mark that verifies here, and
cannot change the user, amount, currency or metadata of a PaymentIntent whose mark it copies.

The functions that read ``SECRET_KEY`` or a fallback are ``sensitive_variables``: Django's
error reports (the debug page, admin e-mails) show stars for the key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.debug import sensitive_variables

#: Stripe's metadata limits: 50 keys, keys up to 40 characters, values up to 500.
MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500

#: Every key the package writes starts with this; hosts may not use it.
RESERVED_PREFIX = "apranova_"
USER = f"{RESERVED_PREFIX}user"
IDEMPOTENCY_KEY = f"{RESERVED_PREFIX}idempotency_key"
FINGERPRINT = f"{RESERVED_PREFIX}fingerprint"
COUPON = f"{RESERVED_PREFIX}coupon"
DISCOUNT = f"{RESERVED_PREFIX}discount"
CHECKOUT = f"{RESERVED_PREFIX}checkout"
TAX = f"{RESERVED_PREFIX}tax"
CHECKOUT_TAX = f"{RESERVED_PREFIX}checkout_tax"
MARK = f"{RESERVED_PREFIX}mark"
#: The keys the mark covers beside the host's metadata.
OWN_KEYS = (USER, IDEMPOTENCY_KEY, FINGERPRINT, COUPON, DISCOUNT, CHECKOUT, TAX, CHECKOUT_TAX)
#: How many metadata keys the package keeps for itself on one PaymentIntent (it uses up to
#: eight today; the rest are room for what it records later without taking keys from hosts
#: again), and what that leaves for the host's own.
RESERVED_KEYS = 10
HOST_MAX_KEYS = MAX_KEYS - RESERVED_KEYS

_SALT = "django_apranova_payments.metadata.mark"


@dataclass(frozen=True)
class Owner:
    """What a verified mark proves: who pays, with which Idempotency-Key, the coupon applied
    with what it took off and the tax within the amount (minor units)."""

    user_pk: str
    idempotency_key: str | None
    fingerprint: str
    coupon: str | None = None
    discount_minor: int = 0
    checkout: str | None = None
    tax_minor: int = 0
    checkout_tax: str | None = None


#: What a mark is made for; a mark made for one kind never verifies as another.
PAYMENT_INTENT = "payment_intent"
REFUND = "refund"
#: A Stripe Customer made for a user; its mark is bound to the mode (``customer_binding``).
CUSTOMER = "customer"
_SALTS = {PAYMENT_INTENT: _SALT, REFUND: f"{_SALT}.refund", CUSTOMER: f"{_SALT}.customer"}


@sensitive_variables()  # reads SECRET_KEY; none of its frame is needed in a report
def own_metadata(
    *,
    user_pk: object,
    amount_minor: int,
    currency: str,
    host: Mapping[str, str],
    idempotency_key: str | None = None,
    fingerprint: str = "",
    kind: str = PAYMENT_INTENT,
    coupon: str | None = None,
    discount_minor: int = 0,
    checkout: str | None = None,
    tax_minor: int = 0,
    checkout_tax: str | None = None,
) -> dict[str, str]:
    """The package's metadata for a new PaymentIntent (or, with ``kind=REFUND``, a refund,
    whose ``host`` names the PaymentIntent refunded) whose own metadata is ``host``, mark
    included. ``user_pk`` is the paying user, or the user who asked for the refund;
    ``coupon`` the code applied and ``discount_minor`` what it took off; ``checkout`` the
    reference of a Stripe Checkout payment; ``tax_minor`` the tax within ``amount_minor``;
    ``checkout_tax`` the ``TAX`` behaviour of a Checkout payment (``amount_minor`` is then the
    line before tax)."""
    own = {USER: str(user_pk)}
    if idempotency_key is not None:
        own[IDEMPOTENCY_KEY] = idempotency_key
        own[FINGERPRINT] = fingerprint
    if coupon is not None:
        own[COUPON] = coupon
        own[DISCOUNT] = str(discount_minor)
    if checkout is not None:
        own[CHECKOUT] = checkout
    if tax_minor:
        own[TAX] = str(tax_minor)
    if checkout_tax is not None:
        own[CHECKOUT_TAX] = checkout_tax
    # Stripe never stores an empty value (it means "unset"): the mark covers what it keeps.
    own = {key: value for key, value in own.items() if value}
    own[MARK] = _mark(own, host, amount_minor, currency, settings.SECRET_KEY, kind)
    return own


def for_stripe(metadata: Mapping[str, str]) -> dict[str, str]:
    """``metadata`` as sent to Stripe; ``ValueError`` for an empty value, which Stripe would
    take as "delete this key" (the mark would then cover a key Stripe does not keep).
    ``charges.clean_metadata`` and ``own_metadata`` leave none out of what they build."""
    empty = sorted(key for key, value in metadata.items() if not value)
    if empty:
        raise ValueError(f"metadata values must not be empty (Stripe would unset them): {', '.join(empty)}")
    return dict(metadata)


def refund_binding(payment_intent: str) -> dict[str, str]:
    """What a refund's mark covers beside its own keys: the PaymentIntent refunded (never
    written into the refund's metadata, so a mark copied to another PaymentIntent's refund
    does not verify)."""
    return {"payment_intent": payment_intent}


def customer_binding(livemode: bool) -> dict[str, str]:
    """What a Customer's mark covers beside its user: the mode it was made in (never written
    into its metadata), so a test Customer's mark never verifies for a live one."""
    return {"livemode": "live" if livemode else "test"}


@sensitive_variables()  # the keys, and every frame they are passed to (Django's salted_hmac)
def verified_owner(
    metadata: Mapping[str, str],
    amount_minor: int,
    currency: str,
    *,
    kind: str = PAYMENT_INTENT,
    bound: Mapping[str, str] | None = None,
) -> Owner | None:
    """The owner named by ``metadata`` when its mark was made here for this amount, currency
    and kind; ``None`` for any other PaymentIntent (or refund). The mark covers the host's
    metadata, or ``bound`` instead when given (a refund's ``refund_binding``)."""
    mark = metadata.get(MARK)
    user_pk = metadata.get(USER)
    if not isinstance(mark, str) or not mark or not user_pk:
        return None
    own = {key: metadata[key] for key in OWN_KEYS if key in metadata}
    host = host_metadata(metadata) if bound is None else bound
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        if not secret:  # an empty fallback ("".split(",")) would let anyone make a mark
            continue
        if constant_time_compare(mark, _mark(own, host, amount_minor, currency, secret, kind)):
            key = own.get(IDEMPOTENCY_KEY) or None
            coupon, discount = _coupon_of(own)
            fingerprint = own.get(FINGERPRINT, "") if key else ""
            tax = own.get(TAX, "")
            return Owner(str(user_pk), key, fingerprint, coupon, discount, own.get(CHECKOUT) or None,
                         int(tax) if tax.isascii() and tax.isdigit() else 0, own.get(CHECKOUT_TAX) or None)
    return None


def _coupon_of(own: Mapping[str, str]) -> tuple[str | None, int]:
    """The coupon and discount a verified mark covers (``None, 0`` without a coupon)."""
    coupon = own.get(COUPON) or None
    discount = own.get(DISCOUNT, "")
    if coupon is None or not discount.isascii() or not discount.isdigit():
        return None, 0
    return coupon, int(discount)


def checkout_reference(metadata: Mapping[str, str]) -> uuid.UUID | None:
    """The checkout reference ``metadata`` names (not verified: that is the mark's job), or
    ``None``."""
    value = metadata.get(CHECKOUT)
    if not isinstance(value, str) or len(value) != 32:
        return None
    try:
        return uuid.UUID(hex=value)
    except ValueError:
        return None


def host_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """``metadata`` without the package's own keys."""
    return {k: v for k, v in metadata.items() if not k.startswith(RESERVED_PREFIX)}


@sensitive_variables()  # the key, and every frame it is passed to (Django's salted_hmac)
def _mark(
    own: Mapping[str, str],
    host: Mapping[str, str],
    amount_minor: int,
    currency: str,
    secret: str | bytes,
    kind: str = PAYMENT_INTENT,
) -> str:
    # Each part is length-prefixed, so no two different inputs share a message; the host's
    # metadata goes in as canonical JSON (sorted keys), so Stripe's ordering does not matter.
    parts = [
        own.get(USER, ""), own.get(IDEMPOTENCY_KEY, "\0"), own.get(FINGERPRINT, ""), str(amount_minor), currency,
        json.dumps(dict(host), sort_keys=True, separators=(",", ":")),
    ]
    if COUPON in own or DISCOUNT in own:  # after the rest, so the marks made before coupons still verify
        parts += [own.get(COUPON, ""), own.get(DISCOUNT, "")]
    if CHECKOUT in own:  # likewise: the marks made before Checkout still verify
        parts += ["checkout", own[CHECKOUT]]
    if TAX in own:  # and those made before tax
        parts += ["tax", own[TAX]]
    if CHECKOUT_TAX in own:  # and those made before Checkout's tax
        parts += ["checkout_tax", own[CHECKOUT_TAX]]
    message = "".join(f"{len(part)}:{part};" for part in parts)
    return salted_hmac(_SALTS[kind], message, secret=secret, algorithm="sha256").hexdigest()
