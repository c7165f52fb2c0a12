"""The REST face: what the API accepts and how a payment looks in JSON (camelCase keys)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from . import money
from .conf import app_settings
from .metadata import HOST_MAX_KEYS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH, RESERVED_PREFIX
from .models import Payment


class AmountField(serializers.Field):
    """A positive, finite amount in major units, from a decimal string or a JSON number.

    The API's JSON parser reads numbers as ``Decimal``, so ``19.99`` never passes through
    ``float``. Currency rules (decimal places, minimum, maximum) are checked later, once the
    currency is known.
    """

    default_error_messages = {"invalid": "A positive decimal amount, such as \"999.00\", is required."}

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float):
            raise serializers.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return money.parse_amount(data)
        except money.MoneyError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc
        except TypeError as exc:
            raise serializers.ValidationError(self.error_messages["invalid"], code="invalid") from exc

    def to_representation(self, value: Decimal) -> str:
        return str(value)


def validate_currency(value: Any) -> str:
    try:
        code = money.normalize_currency(value)
    except money.MoneyError as exc:
        raise serializers.ValidationError(str(exc), code="invalid") from exc
    allowed = [c.lower() for c in app_settings.CURRENCIES]
    if code not in allowed:
        raise serializers.ValidationError(
            f"'{code}' is not accepted here. Choose one of: {', '.join(allowed)}.", code="invalid"
        )
    return code


def validate_metadata(value: Any) -> dict[str, str]:
    """Stripe's metadata rules, applied before Stripe sees the request."""
    if not isinstance(value, Mapping):
        raise serializers.ValidationError("Metadata must be a JSON object.", code="invalid")
    if len(value) > HOST_MAX_KEYS:
        raise serializers.ValidationError(
            f"Metadata can have at most {HOST_MAX_KEYS} keys.", code="too_many_keys"
        )
    return {_metadata_key(key): _metadata_value(key, item) for key, item in value.items()}


def _metadata_key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise serializers.ValidationError(
            f"Metadata keys must be 1 to {MAX_KEY_LENGTH} characters long.", code="invalid_key"
        )
    if "[" in key or "]" in key:
        raise serializers.ValidationError("Metadata keys cannot contain square brackets.", code="invalid_key")
    if key.startswith(RESERVED_PREFIX):
        raise serializers.ValidationError(
            f"Metadata keys starting with '{RESERVED_PREFIX}' are reserved.", code="reserved_key"
        )
    return key


def _metadata_value(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise serializers.ValidationError(
            f"Metadata value for '{key}' must be a string or a number.", code="invalid_value"
        )
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise serializers.ValidationError(
            f"Metadata value for '{key}' is longer than {MAX_VALUE_LENGTH} characters.",
            code="invalid_value",
        )
    return text


class PaymentCreateSerializer(serializers.Serializer):
    amount = AmountField(required=False, allow_null=True, default=None)
    currency = serializers.CharField(required=False, max_length=10)
    metadata = serializers.JSONField(required=False, default=dict)

    def validate_currency(self, value: str) -> str:
        return validate_currency(value)

    def validate_metadata(self, value: Any) -> dict[str, str]:
        return validate_metadata(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "currency" not in attrs:  # not setdefault: the default is only checked when used
            attrs["currency"] = validate_currency(app_settings.DEFAULT_CURRENCY)
        if attrs.get("amount") is not None:  # the currency's rules, now that it is known
            try:
                money.to_minor_units(attrs["amount"], attrs["currency"])
            except money.MoneyError as exc:
                raise serializers.ValidationError({"amount": [str(exc)]}, code="invalid") from exc
        return attrs


class UnusableCharge(ValueError):
    """What a ``PRICE_RESOLVER`` returned cannot be charged; the message says why, for the
    server's log (never for the client: it is the host's bug, not the request's)."""


def validate_charge(data: object) -> tuple[Decimal, str, dict[str, str], int]:
    """Check the charge a ``PRICE_RESOLVER`` returned against the same money rules as a
    request. Returns ``(amount, currency, metadata, minor_units)``, or raises
    ``UnusableCharge`` saying what is wrong."""
    if not isinstance(data, Mapping):
        raise UnusableCharge(f"it returned {type(data).__name__}, not a mapping")
    currency = _resolved_currency(data.get("currency"))
    amount = data.get("amount")
    if isinstance(amount, (float, bool)) or not isinstance(amount, (Decimal, int, str)):
        raise UnusableCharge(
            f"amount is {type(amount).__name__}; return a Decimal (or an int or a decimal string)"
        )
    try:
        minor = money.to_minor_units(money.parse_amount(amount), currency)
    except money.MoneyError as exc:
        raise UnusableCharge(f"amount {amount!r} {currency}: {exc}") from exc
    metadata = data.get("metadata")
    try:
        clean = validate_metadata({} if metadata is None else metadata)
    except serializers.ValidationError as exc:
        raise UnusableCharge(f"metadata: {' '.join(map(str, exc.detail))}") from exc
    return money.from_minor_units(minor, currency), currency, clean, minor


def _resolved_currency(value: Any) -> str:
    try:
        return money.normalize_currency(value)
    except money.MoneyError as exc:
        raise UnusableCharge(f"currency {value!r}: {exc}") from exc


class UpdateStatusSerializer(serializers.Serializer):
    paymentIntent = serializers.RegexField(  # noqa: N815 - the public JSON key
        r"^pi_[A-Za-z0-9_]{1,250}$",
        error_messages={"invalid": "A PaymentIntent id such as \"pi_123\" is required."},
    )


class PaymentSerializer(serializers.ModelSerializer):
    """A payment as the API shows it. The listed keys are a fixed contract; more may follow."""

    paymentIntent = serializers.CharField(source="stripe_payment_intent", read_only=True)  # noqa: N815
    amount = serializers.SerializerMethodField()
    failureCode = serializers.SerializerMethodField()  # noqa: N815
    failureMessage = serializers.SerializerMethodField()  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815

    class Meta:
        model = Payment
        fields = [
            "paymentIntent", "amount", "currency", "status", "failureCode", "failureMessage",
            "metadata", "createdAt", "updatedAt", "livemode",
        ]
        read_only_fields = fields

    def get_amount(self, payment: Payment) -> str:
        """Major units as a decimal string, with the currency's own number of decimals."""
        return str(money.from_minor_units(payment.amount_minor, payment.currency))

    def get_failureCode(self, payment: Payment) -> str | None:  # noqa: N802
        return payment.failure_code or None

    def get_failureMessage(self, payment: Payment) -> str | None:  # noqa: N802
        return payment.failure_message or None
