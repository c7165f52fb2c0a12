"""The REST face: what the API accepts and how a payment looks in JSON (camelCase keys)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from rest_framework import serializers

from .. import money, tax
from ..analytics import INTERVALS, RangeError, ReportRange
from ..charges import Charge, ChargeError, clean_metadata
from ..conf import app_settings
from ..models import Payment, Refund, RefundReason
from ..models.coupons import CODE_MAX_LENGTH
from ..redirects import UnsafeRedirect, checked_url


class AmountField(serializers.Field):
    """An amount in major units, as a decimal string or a JSON number; never a ``float``.

    The API's JSON parser reads numbers as ``Decimal``, so ``19.99`` never passes through
    ``float``. This field checks the shape; ``Charge.of`` checks the value against the
    currency's rules (decimal places, minimum, maximum) once the currency is known.
    """

    default_error_messages = {"invalid": _('A positive decimal amount, such as "999.00", is required.')}

    def to_internal_value(self, data: Any) -> Decimal | int | str:
        if isinstance(data, (float, bool)) or not isinstance(data, (Decimal, int, str)):
            raise serializers.ValidationError(self.error_messages["invalid"], code="invalid")
        return data

    def to_representation(self, value: Decimal) -> str:
        return str(value)


def validate_currency(value: Any) -> str:
    """A currency a client may ask for: one of ``CURRENCIES``."""
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


def field_errors(exc: ChargeError) -> serializers.ValidationError:
    """A ``ChargeError`` as the 400 DRF answers: ``{field: [message]}``."""
    return serializers.ValidationError({exc.field: [exc.message]}, code="invalid")


class PaymentCreateSerializer(serializers.Serializer):
    # The create-payment body. validated_data holds "charge" (a Charge, or None when the
    # client sent no amount), "currency" and "metadata" (cleaned).

    amount = AmountField(required=False, allow_null=True, default=None)
    currency = serializers.CharField(required=False, max_length=10)
    metadata = serializers.JSONField(required=False, default=dict)
    coupon = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, default=None, max_length=CODE_MAX_LENGTH,
        trim_whitespace=True,
    )

    savePaymentMethod = serializers.BooleanField(  # noqa: N815 - the public JSON key
        required=False, default=False,
        help_text="Save the card paid with, for the next purchase (SAVE_PAYMENT_METHODS).",
    )
    paymentMethod = serializers.RegexField(  # noqa: N815
        r"^pm_[A-Za-z0-9_]{1,250}$", required=False, allow_null=True, default=None,
        error_messages={"invalid": _('A saved card\'s id such as "pm_123" is required.')},
        help_text="Pay with this saved card of the caller's (SAVE_PAYMENT_METHODS); the browser confirms it. "
        "A card that is not the caller's answers 400 on paymentMethod, and no PaymentIntent is created.",
    )

    billingAddress = serializers.JSONField(  # noqa: N815
        required=False, allow_null=True, default=None,
        help_text='With TAX set: where the buyer is taxed, {"country", "postalCode", "state", "city", "line1"} '
        "(country an ISO 3166 code, required; a US ZIP code or a Canadian postal code or province where Stripe "
        "needs it). Ignored without TAX.",
    )

    def validate_currency(self, value: str) -> str:
        return validate_currency(value)

    def validate_billingAddress(self, value: Any) -> Any:  # noqa: N802
        """The address as sent (the service reads it in Stripe's keys), once it passes the
        same checks; ``None`` without ``TAX``."""
        if value is None or app_settings.TAX is None:
            return None
        try:
            tax.billing_address(value)
        except serializers.ValidationError as exc:  # raised on billingAddress: this field's own message
            detail: Any = exc.detail
            raise serializers.ValidationError(detail["billingAddress"], code="invalid") from exc
        return value

    def validate_savePaymentMethod(self, value: bool) -> bool:  # noqa: N802
        if value and app_settings.SAVE_PAYMENT_METHODS is not True:
            raise serializers.ValidationError(_("Saving cards is not enabled here."), code="disabled")
        return value

    def validate_paymentMethod(self, value: str | None) -> str | None:  # noqa: N802
        if value is not None and app_settings.SAVE_PAYMENT_METHODS is not True:
            raise serializers.ValidationError(_("Paying with a saved card is not enabled here."), code="disabled")
        return value

    def validate_metadata(self, value: Any) -> dict[str, str]:
        try:
            return clean_metadata(value)
        except ChargeError as exc:
            raise serializers.ValidationError(exc.message, code="invalid") from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "currency" not in attrs:  # not setdefault: the default is only checked when used
            attrs["currency"] = validate_currency(app_settings.DEFAULT_CURRENCY)
        attrs["coupon"] = attrs.get("coupon") or None  # an empty coupon field: none applied
        if attrs.get("savePaymentMethod") and attrs.get("paymentMethod"):
            raise serializers.ValidationError(
                {"savePaymentMethod": [_("A saved card is saved already: send paymentMethod alone.")]}, code="invalid"
            )
        amount = attrs.pop("amount")
        try:
            attrs["charge"] = None if amount is None else Charge.of(amount, attrs["currency"], attrs["metadata"])
        except ChargeError as exc:
            raise field_errors(exc) from exc
        return attrs


def redirect_url(value: str) -> str:
    """A Checkout redirect URL, as it is sent to Stripe (``redirects.checked_url``)."""
    try:
        return checked_url(value)
    except UnsafeRedirect as exc:
        raise serializers.ValidationError(str(exc), code="invalid") from exc


class CheckoutCreateSerializer(PaymentCreateSerializer):
    # The checkout body: create-payment's, plus where Stripe sends the customer back to.

    successUrl = serializers.CharField(trim_whitespace=False)  # noqa: N815
    cancelUrl = serializers.CharField(trim_whitespace=False)  # noqa: N815
    # Saved cards are the Payment Element's: Stripe's page offers the card form itself.
    savePaymentMethod = None  # type: ignore[assignment]  # noqa: N815
    paymentMethod = None  # type: ignore[assignment]  # noqa: N815
    # With TAX, Stripe's page collects the billing address (billing_address_collection=required).
    billingAddress = None  # type: ignore[assignment]  # noqa: N815

    def validate_successUrl(self, value: str) -> str:  # noqa: N802
        return redirect_url(value)

    def validate_cancelUrl(self, value: str) -> str:  # noqa: N802
        return redirect_url(value)


class UpdateStatusSerializer(serializers.Serializer):
    paymentIntent = serializers.RegexField(  # noqa: N815 - the public JSON key
        r"^pi_[A-Za-z0-9_]{1,250}$",
        error_messages={"invalid": _('A PaymentIntent id such as "pi_123" is required.')},
    )


class PaymentSerializer(serializers.ModelSerializer):
    """A payment as the API shows it. The listed keys are a fixed contract; more may follow."""

    paymentIntent = serializers.CharField(  # noqa: N815
        source="stripe_payment_intent", read_only=True,
        help_text="The PaymentIntent's id; null for a Checkout payment until Stripe creates its PaymentIntent.",
    )
    checkoutSession = serializers.CharField(  # noqa: N815
        source="stripe_checkout_session", read_only=True,
        help_text="The Checkout Session's id (cs_…) of a payment made on Stripe's page, else null.",
    )
    amount = serializers.SerializerMethodField()
    failureCode = serializers.SerializerMethodField()  # noqa: N815
    failureMessage = serializers.SerializerMethodField()  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815

    class Meta:
        model = Payment
        fields = [
            "paymentIntent", "amount", "currency", "status", "failureCode", "failureMessage",
            "metadata", "amountRefunded", "coupon", "discount", "amountTax", "checkoutSession", "createdAt",
            "updatedAt", "livemode",
        ]
        read_only_fields = fields

    amountRefunded = serializers.SerializerMethodField(  # noqa: N815
        help_text="The sum of the refunds that succeeded, in major units.",
    )

    def get_amount(self, payment: Payment) -> str:
        """Major units as a decimal string, with the currency's own number of decimals."""
        return str(money.from_minor_units(payment.amount_minor, payment.currency))

    coupon = serializers.SerializerMethodField(help_text="The code of the coupon applied, or null.")
    discount = serializers.SerializerMethodField(
        help_text="What the coupon took off the price, in major units; amount is what is charged after it.",
    )

    amountTax = serializers.SerializerMethodField(  # noqa: N815
        help_text="The tax within amount (Stripe Tax, with TAX set), in major units; 0 without tax.",
    )

    def get_amountTax(self, payment: Payment) -> str:  # noqa: N802
        return money.amount_text(payment.amount_tax, payment.currency)

    def get_amountRefunded(self, payment: Payment) -> str:  # noqa: N802
        return money.amount_text(payment.amount_refunded, payment.currency)

    def get_coupon(self, payment: Payment) -> str | None:
        coupon = payment.coupon
        return None if coupon is None else coupon.code

    def get_discount(self, payment: Payment) -> str:
        return money.amount_text(payment.discount, payment.currency)

    def get_failureCode(self, payment: Payment) -> str | None:  # noqa: N802
        return payment.failure_code or None

    def get_failureMessage(self, payment: Payment) -> str | None:  # noqa: N802
        return payment.failure_message or None


class CreatedPaymentSerializer(PaymentSerializer):
    """The create-payment answer: the payment plus what Stripe.js needs to confirm it."""

    # The client secret comes in the context, CreatedPaymentSerializer(payment,
    # context={"created": services.CreatedPayment}): it is never read from, or written to, the
    # database. Not as the bare string: a serializer's repr shows its context, and an error
    # report shows the serializer of each DRF frame; CreatedPayment's repr leaves it out.

    clientSecret = serializers.SerializerMethodField(  # noqa: N815 - the public JSON key
        help_text="The PaymentIntent's client secret, for the Payment Element. Never log it. "
        "null for a free payment (ALLOW_FREE): it is already succeeded.",
    )
    publishableKey = serializers.SerializerMethodField(  # noqa: N815
        help_text="The Stripe publishable key (pk_test_… or pk_live_…).",
    )

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "clientSecret", "publishableKey"]
        read_only_fields = fields

    @sensitive_variables()  # the secret, and the frames it is passed to
    def get_clientSecret(self, payment: Payment) -> str | None:  # noqa: N802
        secret = self.context["created"].client_secret
        return None if secret is None else str(secret)  # None: a free payment, nothing to confirm

    def get_publishableKey(self, payment: Payment) -> str:  # noqa: N802
        return str(app_settings.STRIPE_PUBLISHABLE_KEY or "")


class RefundCreateSerializer(serializers.Serializer):
    # The refund body: both keys optional. No amount refunds all that is left.

    amount = AmountField(required=False, allow_null=True, default=None)
    reason = serializers.ChoiceField(choices=RefundReason.choices, required=False, allow_blank=True, default="")

    def validate_amount(self, value: Decimal | int | str | None) -> Decimal | None:
        if value is None:
            return None
        try:
            return money.parse_amount(value)
        except money.MoneyError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc


class RefundSerializer(serializers.ModelSerializer):
    """A refund as the API shows it. The listed keys are a fixed contract; more may follow."""

    refund = serializers.CharField(source="stripe_refund", read_only=True)
    paymentIntent = serializers.CharField(source="payment.stripe_payment_intent", read_only=True)  # noqa: N815
    amount = serializers.SerializerMethodField()
    # Plain strings in the schema: Stripe's values, and "status" would collide with the
    # payment's status enum (drf-spectacular names enums by field name).
    status = serializers.CharField(
        read_only=True, help_text="Stripe's: pending, requires_action, succeeded, failed or canceled."
    )
    reason = serializers.CharField(
        read_only=True, help_text="duplicate, fraudulent, requested_by_customer, Stripe's own, or empty."
    )
    failureReason = serializers.SerializerMethodField()  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815

    class Meta:
        model = Refund
        fields = ["refund", "paymentIntent", "amount", "currency", "status", "reason", "failureReason", "createdAt"]
        read_only_fields = fields

    def get_amount(self, refund: Refund) -> str:
        return money.amount_text(refund.amount, refund.currency)

    def get_failureReason(self, refund: Refund) -> str | None:  # noqa: N802
        return refund.failure_reason or None


class AnalyticsQuerySerializer(serializers.Serializer):
    # The analytics query string: from, to (YYYY-MM-DD, local dates, inclusive) and interval.
    # validated_data is {"range": ReportRange}, its defaults filled in.

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword: the fields are named here rather than as attributes.
        return {
            "from": serializers.DateField(required=False, input_formats=["%Y-%m-%d"]),
            "to": serializers.DateField(required=False, input_formats=["%Y-%m-%d"]),
            "interval": serializers.ChoiceField(choices=INTERVALS, required=False),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"range": ReportRange.of(attrs.get("from"), attrs.get("to"), attrs.get("interval"))}
        except RangeError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}, code="invalid") from exc


class PaymentMethodSerializer(serializers.Serializer):
    """A saved card as the API shows it: these keys and nothing more of the card."""

    id = serializers.CharField(read_only=True)
    brand = serializers.CharField(read_only=True, help_text="visa, mastercard, amex, …")
    last4 = serializers.CharField(read_only=True)
    expMonth = serializers.IntegerField(source="exp_month", read_only=True, allow_null=True)  # noqa: N815
    expYear = serializers.IntegerField(source="exp_year", read_only=True, allow_null=True)  # noqa: N815
    expired = serializers.BooleanField(read_only=True, help_text="Whether the card's expiry month has passed.")
