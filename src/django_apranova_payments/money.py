"""Exact money handling for Stripe: currency codes, decimal amounts and minor units.

Amounts reach us as decimal strings or JSON numbers in *major* units ("19.99") and leave
for Stripe as integers in the currency's *minor* unit (1999). The conversion is done with
``Decimal`` and integer arithmetic only; ``float`` is never used, because
``int(float("19.99") * 100)`` is 1998 and users would be undercharged.

Stripe's rules (https://docs.stripe.com/currencies), as applied here:

* Currency codes are sent as lowercase ISO 4217 codes, and must be a currency Stripe
  presents charges in (:data:`STRIPE_CURRENCIES`).
* Most currencies have two decimals: 19.99 USD is sent as ``1999``.
* Zero-decimal currencies (:data:`ZERO_DECIMAL`, e.g. JPY) are sent as-is: 500 JPY is ``500``.
* Three-decimal currencies (:data:`THREE_DECIMAL`, e.g. KWD) are multiplied by 1000 and the
  last digit must be 0: 5.12 KWD is ``5120``, and 5.125 KWD cannot be charged.
* ISK and UGX are charged in whole units but, for backwards compatibility, sent with two
  decimals: 5 ISK is ``500``. (UGX is also listed as zero-decimal; the two-decimal rule wins.)
* HUF and TWD are zero-decimal for payouts only; charges may have two decimals.
* Each settlement currency has a published minimum charge (:data:`MINIMUM_CHARGE`).
* ``amount`` may have at most 8 digits (:data:`MAX_MINOR_UNITS`); IDR allows 12.

Amounts with more precision than the currency allows are rejected, never rounded: rounding
would silently change what the customer pays. Every problem raises :class:`MoneyError` with a
message that can be shown to the user as-is.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from .currencies import (
    MAX_MINOR_UNITS,
    MAX_MINOR_UNITS_IDR,
    MINIMUM_CHARGE,
    STRIPE_CURRENCIES,
    THREE_DECIMAL,
    WHOLE_UNITS_SENT_AS_CENTS,
    ZERO_DECIMAL,
)

__all__ = [
    "MAX_MINOR_UNITS",
    "MAX_MINOR_UNITS_IDR",
    "MINIMUM_CHARGE",
    "STRIPE_CURRENCIES",
    "THREE_DECIMAL",
    "WHOLE_UNITS_SENT_AS_CENTS",
    "ZERO_DECIMAL",
    "MoneyError",
    "amount_text",
    "decimal_places",
    "format_amount",
    "from_minor_units",
    "max_minor_units",
    "minor_unit_exponent",
    "normalize_currency",
    "parse_amount",
    "quantize_for_storage",
    "refund_minor_units",
    "to_minor_units",
]


class MoneyError(ValueError):
    """An amount or currency Stripe would refuse.

    The message is meant for the user and names the problem, e.g.
    ``"Amount must be at least 0.50 USD."``; it never names the field, so the caller can
    attach it to whichever field it came from.
    """


# Larger amounts are refused before any arithmetic, so a hostile "1e999999999" costs nothing.
# The largest valid amount (IDR, 10 integer digits) is far below this.
_MAX_ADJUSTED_EXPONENT = 15
_MAX_AMOUNT_CHARS = 32
_MAX_AMOUNT_DIGITS = 32
_AMOUNT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NON_FINITE_WORDS = frozenset({"nan", "snan", "inf", "infinity"})
_CURRENCY_RE = re.compile(r"[a-zA-Z]{3}", re.ASCII)
_STORAGE_PLACES = 2
_STORAGE_MAX_DIGITS = 14


# --- currencies -------------------------------------------------------------------------


def normalize_currency(code: object) -> str:
    """Return ``code`` as the lowercase code Stripe expects, or raise :class:`MoneyError`."""
    if not isinstance(code, str) or not _CURRENCY_RE.fullmatch(code.strip()):
        raise MoneyError(_("Currency must be a three-letter ISO 4217 code, such as 'usd'."))
    normalized = code.strip().lower()
    if normalized not in STRIPE_CURRENCIES:
        raise MoneyError(_("'%(code)s' is not a currency Stripe supports.") % {"code": normalized})
    return normalized


def decimal_places(currency: str) -> int:
    """How many fraction digits a customer-facing amount in ``currency`` may have."""
    code = normalize_currency(currency)
    if code in ZERO_DECIMAL or code in WHOLE_UNITS_SENT_AS_CENTS:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def minor_unit_exponent(currency: str) -> int:
    """The power of ten Stripe multiplies a major-unit amount by for ``currency``."""
    code = normalize_currency(currency)
    if code in WHOLE_UNITS_SENT_AS_CENTS:
        return 2
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def max_minor_units(currency: str) -> int:
    """The largest ``amount`` Stripe accepts for ``currency`` (by digit count)."""
    return MAX_MINOR_UNITS_IDR if normalize_currency(currency) == "idr" else MAX_MINOR_UNITS


def minor_step(currency: str) -> int:
    """The smallest chargeable increment of ``currency`` in minor units: 1, 10 for the
    three-decimal currencies (whose amounts Stripe wants ending in 0), 100 for those charged
    in whole units but sent in cents (ISK, HUF, …)."""
    return _minor_step(normalize_currency(currency))


def _minor_step(code: str) -> int:
    """The smallest chargeable increment in minor units (1, 10 or 100)."""
    if code in THREE_DECIMAL:
        return 10
    return _pow10(minor_unit_exponent(code) - decimal_places(code))


def _pow10(n: int) -> int:
    """``10**n`` for ``n >= 0`` (typeshed types a variable power of an int as ``Any``)."""
    result: int = 10**n
    return result


# --- amounts ----------------------------------------------------------------------------


def parse_amount(value: object) -> Decimal:
    """Parse a major-unit amount from a request into a finite, positive ``Decimal``.

    Accepts ``str`` (surrounding whitespace ignored), ``int`` and ``Decimal``; the value is
    returned exactly as given, never rounded. A ``float`` is a programming error (JSON numbers
    must be parsed as ``Decimal``) and raises ``TypeError``.
    """
    if isinstance(value, float):
        raise TypeError("parse_amount() refuses float; parse JSON numbers as Decimal")
    if value is None:
        raise MoneyError(_("Amount is required."))
    if isinstance(value, bool):
        raise MoneyError(_("Amount must be a number, not true or false."))
    if isinstance(value, int):
        amount = _decimal_from_int(value)
    elif isinstance(value, str):
        amount = _decimal_from_str(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise MoneyError(_("Amount must be a number, such as 19.99."))
    _check_amount(amount)
    return amount


def _decimal_from_int(value: int) -> Decimal:
    # Compare before converting: turning a gigantic int into a Decimal is the costly part.
    # Mutation: a looser bound on either line is equivalent, _check_amount refuses the rest with the same message.
    if value <= 0:  # pragma: no mutate (equivalent when looser, see above)
        raise MoneyError(_("Amount must be greater than zero."))
    if value >= 10 ** (_MAX_ADJUSTED_EXPONENT + 1):  # pragma: no mutate (equivalent when looser, see above)
        raise MoneyError(_("Amount is too large."))
    return Decimal(value)


def _decimal_from_str(value: str) -> Decimal:
    text = value.strip()
    if not text:
        raise MoneyError(_("Amount must not be blank."))
    if len(text) > _MAX_AMOUNT_CHARS:
        raise MoneyError(_("Amount has too many characters."))
    if text.lstrip("+-").lower() in _NON_FINITE_WORDS:
        raise MoneyError(_("Amount must be a finite number."))
    if not _AMOUNT_RE.fullmatch(text):
        raise MoneyError(_("Amount must be a number, such as 19.99."))
    try:
        return Decimal(text)
    except InvalidOperation:  # exponents beyond what decimal can represent
        raise MoneyError(_("Amount is out of range.")) from None


def _check_amount(amount: Decimal) -> None:
    """Refuse non-finite, non-positive, oversized or over-long amounts."""
    if not amount.is_finite():
        raise MoneyError(_("Amount must be a finite number."))
    if amount <= 0:
        raise MoneyError(_("Amount must be greater than zero."))
    if amount.adjusted() > _MAX_ADJUSTED_EXPONENT:
        raise MoneyError(_("Amount is too large."))
    if len(amount.as_tuple().digits) > _MAX_AMOUNT_DIGITS:
        raise MoneyError(_("Amount has too many digits."))


def _scaled_integer(amount: Decimal, places: int) -> int | None:
    """``amount * 10**places`` as an exact ``int``, or ``None`` if that would need rounding.

    Works on the digits directly, so it never depends on the decimal context's precision and
    treats trailing zeros by value: ``Decimal("19.990")`` has two decimal places, not three.
    """
    if not amount.is_finite() or amount.adjusted() > _MAX_ADJUSTED_EXPONENT:
        raise MoneyError(_("Amount is too large."))
    if not amount:
        return 0
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    end = len(digits)
    while digits[end - 1] == 0:  # the coefficient is non-zero, so this stops
        end -= 1
    shift = exponent + (len(digits) - end) + places
    if shift < 0:
        return None
    magnitude = int("".join(map(str, digits[:end]))) * _pow10(shift)
    return -magnitude if sign else magnitude


def to_minor_units(amount: Decimal, currency: str, *, minimum: bool = True) -> int:
    """Convert a major-unit ``amount`` to Stripe's integer ``amount`` for ``currency``.

    Validates everything Stripe would (precision, three-decimal rounding, minimum, maximum)
    and raises :class:`MoneyError` instead of rounding: 19.99 USD -> 1999, 1000 JPY -> 1000,
    5.12 KWD -> 5120, 5 ISK -> 500. ``minimum=False`` leaves out Stripe's minimum charge (a
    refund may be one minor unit); the precision rules and the maximum still apply.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"to_minor_units() needs a Decimal, not {type(amount).__name__}")
    code = normalize_currency(currency)
    if not amount.is_finite():
        raise MoneyError(_("Amount must be a finite number."))
    if amount <= 0:
        raise MoneyError(_("Amount must be greater than zero."))
    # Mutation: >= is equivalent, an amount of adjusted() 15 (1e15 or more) is above every
    # currency's maximum, refused with the same message below (tests/money/test_conversion.py).
    if amount.adjusted() > _MAX_ADJUSTED_EXPONENT:  # pragma: no mutate (equivalent: see above)
        raise _above_maximum(code)
    minor = _exact_minor_units(amount, code)
    if minimum:
        _check_limits(minor, code)
    elif minor > max_minor_units(code):
        raise _above_maximum(code)
    return minor


def refund_minor_units(amount: Decimal, currency: str) -> int:
    """A refund's major-unit ``amount`` in Stripe's minor units: ``to_minor_units`` without
    the minimum charge."""
    return to_minor_units(amount, currency, minimum=False)


def _exact_minor_units(amount: Decimal, code: str) -> int:
    places = decimal_places(code)
    scaled = _scaled_integer(amount, places)
    if scaled is None:
        if places == 0:
            raise MoneyError(_("%(currency)s amounts cannot have a fractional part.") % {"currency": code.upper()})
        raise MoneyError(
            _("%(currency)s amounts can have at most %(places)d decimal places.")
            % {"currency": code.upper(), "places": places}
        )
    minor = scaled * _pow10(minor_unit_exponent(code) - places)
    if minor % _minor_step(code):  # only three-decimal currencies get here
        step = from_minor_units(_minor_step(code), code)
        raise MoneyError(
            _("%(currency)s amounts must be a multiple of %(step)s.") % {"currency": code.upper(), "step": step}
        )
    return minor


def _check_limits(minor: int, code: str) -> None:
    minimum = MINIMUM_CHARGE.get(code)
    smallest = _minor_step(code) if minimum is None else _exact_minor_units(minimum, code)
    if minor < smallest:
        shown = format_amount(from_minor_units(smallest, code), code)
        raise MoneyError(_("Amount must be at least %(amount)s.") % {"amount": shown})
    if minor > max_minor_units(code):
        raise _above_maximum(code)


def _above_maximum(code: str) -> MoneyError:
    step = _minor_step(code)
    largest = max_minor_units(code) // step * step
    shown = format_amount(from_minor_units(largest, code), code)
    return MoneyError(_("Amount must be at most %(amount)s.") % {"amount": shown})


def from_minor_units(minor: int, currency: str) -> Decimal:
    """The exact major-unit ``Decimal`` for Stripe's integer ``minor`` amount.

    The result has :func:`decimal_places` places (1999 USD -> ``19.99``, 1000 JPY -> ``1000``,
    5120 KWD -> ``5.120``, 500 ISK -> ``5``). A value that cannot be written with that many
    places (550 ISK) keeps the places it needs instead of being rounded.
    """
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"from_minor_units() needs an int, not {type(minor).__name__}")
    exponent = minor_unit_exponent(currency)
    places = decimal_places(currency)
    drop = _pow10(exponent - places)
    if minor % drop == 0:
        return Decimal(f"{minor // drop}E-{places}")
    return Decimal(f"{minor}E-{exponent}")


# --- display and storage ----------------------------------------------------------------


def format_amount(amount: Decimal, currency: str) -> str:
    """``'19.99 USD'``: the amount with its currency's decimal places, for messages and admin.

    Never raises for stored data: an unknown currency is shown with two places, and an
    amount with more precision than its currency allows is shown exactly, not rounded.
    """
    # Mutation: .upper() for .lower() is equivalent, amount_text lower-cases the code again and
    # the code is shown upper-cased (the pragma below).
    code = currency.strip().lower() if isinstance(currency, str) else str(currency)  # pragma: no mutate (equivalent)
    return f"{amount_text(amount, code)} {code.upper()}"


def amount_text(amount: Decimal, currency: str) -> str:
    """``'19.99'``: the number alone, as :func:`format_amount` writes it (any size: a total
    of many payments is not held to Stripe's maximum charge)."""
    code = currency.strip().lower() if isinstance(currency, str) else str(currency)
    places = decimal_places(code) if code in STRIPE_CURRENCIES else 2
    exact = amount.is_finite() and _fits_places(amount, places)
    # Mutation: "F" for "f" is equivalent, Decimal spells Infinity and NaN alike in both.
    return format(amount, f".{places}f") if exact else format(amount, "f")  # pragma: no mutate (equivalent: see above)


def _fits_places(amount: Decimal, places: int) -> bool:
    try:
        return _scaled_integer(amount, places) is not None
    except MoneyError:  # too large to check cheaply; formatting "f" shows it exactly
        return False


def quantize_for_storage(amount: Decimal) -> Decimal:
    """``amount`` with exactly two places, for ``DecimalField(max_digits=14, decimal_places=2)``.

    Every valid amount fits (three-decimal amounts end in 0); anything that would have to be
    rounded, or is too large for the column, raises :class:`MoneyError`.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"quantize_for_storage() needs a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise MoneyError(_("Amount must be a finite number."))
    cents = _scaled_integer(amount, _STORAGE_PLACES)
    if cents is None:
        raise MoneyError(_("Amount cannot be stored with %(places)d decimal places.") % {"places": _STORAGE_PLACES})
    if abs(cents) >= 10**_STORAGE_MAX_DIGITS:
        raise MoneyError(_("Amount is too large."))
    return Decimal(f"{cents}E-{_STORAGE_PLACES}")
