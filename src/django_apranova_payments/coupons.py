"""Coupons: which one applies to a purchase, what it takes off, and whether a redemption is
left, decided under the coupon's row lock.

The price is decided first (the client's amount or ``PRICE_RESOLVER``), then the coupon:
``percent_off`` takes that percentage off, rounded half up to the currency's smallest
chargeable unit; ``amount_off`` takes its amount off a price in its own currency. Every
refusal is DRF's ``ValidationError`` on ``coupon``, in words a student understands, raised
before Stripe is called.

A redemption is held by every payment with the coupon that is not canceled, so cancelling
(by the student, ``apranova_cancel_abandoned`` or Stripe) gives it back without any write
here. ``redeem`` counts them under ``SELECT … FOR UPDATE`` on the coupon; a coupon with a
limit keeps that lock until the payment row is stored (``services.create_payment``), so two
students never take the last redemption at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from . import money
from .charges import Charge, ChargeError
from .conf import app_settings
from .models import Coupon, Payment, holding_redemption, normalize_code

logger = logging.getLogger(__name__)

#: The request's key, and the field every refusal is reported on.
FIELD = "coupon"

#: ``callable(coupon)`` that may refuse it for this purchase by raising ``ValidationError``.
CouponCheck = Callable[[Coupon], object]


def refusal(message: str, code: str) -> ValidationError:
    """A 400 on ``coupon``; ``code`` tells tests and hosts which refusal it is."""
    return ValidationError({FIELD: [message]}, code=code)


def unknown() -> ValidationError:
    return refusal(_("This coupon code is not valid."), "coupon_unknown")


@dataclass(frozen=True)
class Redemption:
    """A coupon applied to a price: ``charge`` is what the student is charged (``price``
    less ``discount``), free when the coupon covers it all."""

    coupon: Coupon
    price: Charge
    charge: Charge

    @property
    def discount_minor(self) -> int:
        return self.price.minor_units - self.charge.minor_units

    @property
    def discount(self) -> Decimal:
        """What the coupon took off, in major units."""
        return money.from_minor_units(self.discount_minor, self.price.currency)


def lock(code: object) -> Coupon | None:
    """The coupon of ``code`` (any case), locked for the rest of the transaction, or
    ``None``: one statement."""
    normalized = normalize_code(code)
    if normalized is None:
        return None
    return Coupon.objects.select_for_update().filter(code=normalized).first()


def redeem(coupon: Coupon | None, user: Any, price: Charge, check: CouponCheck | None = None) -> Redemption:
    """Apply the locked ``coupon`` (from ``lock``) to ``price`` for ``user``: the checks in
    the order a student meets them, ``check`` (``COUPON_VALIDATOR``), then the redemptions
    left (one statement, only for a coupon with a limit). ``ValidationError`` on
    ``coupon`` when it does not apply."""
    if coupon is None:
        raise unknown()
    check_applies(coupon, price.currency)
    if price.is_free:  # a free course: a redemption would be spent on nothing
        raise refusal(_("This purchase is free already: no coupon is needed."), "coupon_not_needed")
    if check is not None:
        _run_check(check, coupon)
    if coupon.is_limited:
        check_redemptions_left(coupon, user)
    discount = discount_of(coupon, price)
    return Redemption(coupon, price, _discounted(price, discount))


def check_applies(coupon: Coupon, currency: str) -> None:
    """Active, within its dates, and in the price's currency (an amount off)."""
    if not coupon.active:
        raise refusal(_("This coupon is no longer active."), "coupon_inactive")
    now = timezone.now()
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise refusal(
            _("This coupon can be used from %(date)s.") % {"date": _shown(coupon.valid_from)}, "coupon_not_yet_valid"
        )
    if coupon.valid_until is not None and now >= coupon.valid_until:
        raise refusal(_("This coupon expired on %(date)s.") % {"date": _shown(coupon.valid_until)}, "coupon_expired")
    if coupon.amount_off is not None and coupon.currency != currency:
        raise refusal(
            _("This coupon applies to prices in %(currency)s only.") % {"currency": coupon.currency.upper()},
            "coupon_currency",
        )


def _shown(moment: Any) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _run_check(check: CouponCheck, coupon: Coupon) -> None:
    """``COUPON_VALIDATOR``'s refusal (DRF's ``ValidationError``, or Django's), reported on
    ``coupon`` whatever field it named."""
    try:
        check(coupon)
    except (ValidationError, DjangoValidationError) as exc:
        detail = exc.detail if isinstance(exc, ValidationError) else exc.messages
        messages = _messages(detail) or [_("This coupon cannot be used for this purchase.")]
        raise refusal(" ".join(messages), "coupon_refused") from None


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [text for value in detail.values() for text in _messages(value)]
    if isinstance(detail, list):
        return [text for value in detail for text in _messages(value)]
    return [str(detail)] if detail else []


def check_redemptions_left(coupon: Coupon, user: Any) -> None:
    """Refuse when the payments holding a redemption (every one with the coupon that is not
    canceled) reach ``max_redemptions``, or this user's reach ``max_redemptions_per_user``.
    Call it with the coupon locked."""
    held = Payment.objects.filter(holding_redemption(), coupon=coupon).aggregate(
        total=Count("pk"), mine=Count("pk", filter=Q(user_id=user.pk))
    )
    if coupon.max_redemptions is not None and held["total"] >= coupon.max_redemptions:
        raise refusal(_("This coupon has been used up."), "coupon_used_up")
    if coupon.max_redemptions_per_user is not None and held["mine"] >= coupon.max_redemptions_per_user:
        raise refusal(_("You have already used this coupon."), "coupon_already_used")


def discount_of(coupon: Coupon, price: Charge) -> int:
    """What ``coupon`` takes off ``price``, in minor units: a percentage rounded half up to
    the currency's smallest chargeable unit, or the amount off (never more than the price)."""
    if coupon.percent_off is not None:
        return percent_of(price.minor_units, coupon.percent_off, price.currency)
    assert coupon.amount_off is not None  # the model's constraint: one of the two
    try:
        minor = money.refund_minor_units(coupon.amount_off, price.currency)
    except money.MoneyError:  # saved around the admin's checks: JPY 10.50, say
        logger.error("Coupon %s: amount off %s is not an amount of %s", coupon.pk, coupon.amount_off, price.currency)
        raise refusal(_("This coupon cannot be used for this purchase."), "coupon_refused") from None
    return min(minor, price.minor_units)


def percent_of(minor: int, percent: Decimal, currency: str) -> int:
    """``percent`` of ``minor`` units of ``currency``, rounded half up to a whole multiple
    of the currency's smallest chargeable unit (1, or 10 for three-decimal currencies, whose
    amounts Stripe wants ending in 0)."""
    step = money.minor_step(currency)
    steps = (Decimal(minor) * percent / (100 * step)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return min(int(steps) * step, minor)


def _discounted(price: Charge, discount_minor: int) -> Charge:
    """``price`` less ``discount_minor``: free when nothing is left (``ALLOW_FREE``), else a
    chargeable amount; each other case is a refusal on ``coupon``."""
    if discount_minor == 0:
        return price
    left = price.minor_units - discount_minor
    if left == 0:
        if app_settings.ALLOW_FREE is not True:
            raise refusal(
                _("This coupon covers the whole price, and free purchases are not accepted here."), "coupon_free"
            )
        return Charge.free(price.currency, price.metadata)
    try:
        return Charge.of(money.from_minor_units(left, price.currency), price.currency, price.metadata)
    except ChargeError as exc:
        shown = money.format_amount(money.from_minor_units(left, price.currency), price.currency)
        raise refusal(
            _("With this coupon the price would be %(amount)s, which cannot be charged: %(reason)s")
            % {"amount": shown, "reason": exc.message},
            "coupon_below_minimum",
        ) from None
