"""``Charge``: what to charge, validated once against the money and metadata rules.

Whatever decides the price (the client's request, a ``PRICE_RESOLVER``, host code calling
``services.create_payment`` directly) ends in ``Charge.of(amount, currency, metadata)``. A
``Charge`` is always chargeable: its amount is exact for its currency, within Stripe's minimum
and maximum, its ``minor_units`` are what Stripe is sent, and its metadata follows Stripe's
limits less the package's own keys. Nothing here depends on DRF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from django.utils.translation import gettext as _

from . import money
from .metadata import HOST_MAX_KEYS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH, RESERVED_PREFIX


class ChargeError(ValueError):
    """A charge that cannot be made; ``field`` is ``"amount"``, ``"currency"`` or
    ``"metadata"``, and the message says what is wrong in words a client may read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Charge:
    """An amount in major units, its currency, the same amount in Stripe's minor units, and
    the host's metadata. Build it with ``Charge.of``."""

    amount: Decimal
    currency: str
    minor_units: int
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, amount: object, currency: object, metadata: object = None) -> Charge:
        """Validate and build; ``ChargeError`` names the first field that is wrong.

        ``amount`` is in major units: a ``Decimal``, an ``int`` or a decimal string, never a
        ``float``. ``currency`` is an ISO 4217 code in any case. ``metadata`` is a mapping of
        string keys to strings or numbers (or ``None``).
        """
        try:
            code = money.normalize_currency(currency)
        except money.MoneyError as exc:
            raise ChargeError("currency", str(exc)) from exc
        if isinstance(amount, (float, bool)) or not isinstance(amount, (Decimal, int, str)):
            raise ChargeError(
                "amount",
                _("amount is %(type)s: a Decimal, an int or a decimal string is required")
                % {"type": type(amount).__name__},
            )
        try:
            minor = money.to_minor_units(money.parse_amount(amount), code)
        except money.MoneyError as exc:
            raise ChargeError("amount", str(exc)) from exc
        return cls(
            amount=money.from_minor_units(minor, code),
            currency=code,
            minor_units=minor,
            metadata=MappingProxyType(clean_metadata({} if metadata is None else metadata)),
        )


    @classmethod
    def free(cls, currency: object, metadata: object = None) -> Charge:
        """A charge of nothing (``ALLOW_FREE``): no one is called, the payment is stored as
        succeeded. The currency and metadata follow the same rules as ``Charge.of``."""
        try:
            code = money.normalize_currency(currency)
        except money.MoneyError as exc:
            raise ChargeError("currency", str(exc)) from exc
        return cls(
            amount=money.from_minor_units(0, code),
            currency=code,
            minor_units=0,
            metadata=MappingProxyType(clean_metadata({} if metadata is None else metadata)),
        )

    @property
    def is_free(self) -> bool:
        return self.minor_units == 0


_PLAIN_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def is_zero_amount(amount: object) -> bool:
    """Whether ``amount`` (as ``Charge.of`` takes it: a ``Decimal``, an ``int`` or a plain
    decimal string, never a float) is exactly zero: ``0``, ``"0.00"``, ``Decimal("0")``."""
    if isinstance(amount, bool):
        return False
    if isinstance(amount, int):
        return amount == 0
    if isinstance(amount, str):
        text = amount.strip()
        if len(text) > 32 or not _PLAIN_DECIMAL.fullmatch(text):
            return False
        amount = Decimal(text)
    return isinstance(amount, Decimal) and amount.is_finite() and amount == 0


def clean_metadata(value: object) -> dict[str, str]:
    """Stripe's metadata rules for the host's keys, values made strings; ``ChargeError``.

    A key whose value is empty is left out: Stripe reads an empty value as "unset this key"
    and never stores it, so the metadata kept here (and covered by the installation mark) is
    exactly what Stripe keeps."""
    if not isinstance(value, Mapping):
        raise ChargeError("metadata", _("Metadata must be a JSON object."))
    if len(value) > HOST_MAX_KEYS:
        raise ChargeError("metadata", _("Metadata can have at most %(count)d keys.") % {"count": HOST_MAX_KEYS})
    cleaned = {_key(key): _value(key, item) for key, item in value.items()}
    return {key: text for key, text in cleaned.items() if text}


def _storable(text: str) -> bool:
    """No NUL and no lone surrogate: what PostgreSQL and Stripe can both keep."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _key(key: object) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise ChargeError(
            "metadata", _("Metadata keys must be 1 to %(length)d characters long.") % {"length": MAX_KEY_LENGTH}
        )
    if not _storable(key):
        raise ChargeError("metadata", _("Metadata keys cannot contain NUL characters or invalid Unicode."))
    if "[" in key or "]" in key:
        raise ChargeError("metadata", _("Metadata keys cannot contain square brackets."))
    if key.startswith(RESERVED_PREFIX):
        raise ChargeError(
            "metadata", _("Metadata keys starting with '%(prefix)s' are reserved.") % {"prefix": RESERVED_PREFIX}
        )
    return key


def _value(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ChargeError("metadata", _("Metadata value for '%(key)s' must be a string or a number.") % {"key": key})
    text = str(value)
    if not _storable(text):
        raise ChargeError(
            "metadata", _("Metadata value for '%(key)s' contains NUL characters or invalid Unicode.") % {"key": key}
        )
    if len(text) > MAX_VALUE_LENGTH:
        raise ChargeError(
            "metadata",
            _("Metadata value for '%(key)s' is longer than %(length)d characters.")
            % {"key": key, "length": MAX_VALUE_LENGTH},
        )
    return text
