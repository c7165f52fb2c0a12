"""The simulator's PaymentIntents, refunds and disputes, stored in the host's database.

A row is what Stripe keeps for a PaymentIntent: amount in minor units, currency, status,
metadata, the last payment error and the client secret. It lives in the database, not in
memory, so the state survives a restart and every process of a server sees the same one.
``SimulatedCustomer`` and ``SimulatedPaymentMethod`` are Stripe's Customers and the cards
saved on them. ``SimulatedRefund`` and ``SimulatedDispute`` are Stripe's Refunds and Disputes of a
simulated PaymentIntent's charge (the charge itself is not stored: ``SimulatedCharge``
renders it from the PaymentIntent and its refunds).

The table belongs to the simulator's own app (``apranova_simulator``): importing this module
without ``"django_apranova_payments.simulator"`` in ``INSTALLED_APPS`` raises
``ImproperlyConfigured`` saying so, rather than failing later on a missing table.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

APP_NAME = "django_apranova_payments.simulator"
APP_LABEL = "apranova_simulator"


def require_installed() -> None:
    """``ImproperlyConfigured`` unless the simulator app is in ``INSTALLED_APPS``."""
    if not apps.is_installed(APP_NAME):
        raise ImproperlyConfigured(
            f"The offline payment simulator is used, but {APP_NAME!r} is not in "
            f"INSTALLED_APPS. Add it there (development only) and run migrate, or set "
            f"APRANOVA_PAYMENTS['GATEWAY'] back to the Stripe gateway."
        )


require_installed()


def new_intent_id() -> str:
    return f"pi_sim{secrets.token_hex(12)}"


class SimulatedStatus(models.TextChoices):
    """Stripe's PaymentIntent statuses the simulator reaches (cards never go ``processing``,
    but a row may be put there to test what Stripe refuses while processing)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class SimulatedPaymentIntent(models.Model):
    """A PaymentIntent of the offline simulator gateway."""

    Status = SimulatedStatus

    intent_id = models.CharField(_("PaymentIntent id"), max_length=64, unique=True, default=new_intent_id)
    client_secret = models.CharField(_("client secret"), max_length=128, editable=False)
    amount = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=32, choices=SimulatedStatus.choices,
        default=SimulatedStatus.REQUIRES_PAYMENT_METHOD,
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    last_payment_error = models.JSONField(_("last payment error"), null=True, blank=True)
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card last 4"), max_length=4, blank=True)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=40, blank=True)
    # Saved cards: the Customer, the card paid with (pm_…, saved or to be saved) and Stripe's
    # setup_future_usage, as the server created the PaymentIntent.
    customer = models.CharField(_("customer"), max_length=64, blank=True)
    payment_method = models.CharField(max_length=64, blank=True)
    setup_future_usage = models.CharField(max_length=20, blank=True)
    tax_calculation = models.CharField(_("tax calculation"), max_length=64, blank=True)
    idempotency_key = models.CharField(  # NULL: no key, outside the unique index
        max_length=255, null=True, blank=True, unique=True, editable=False
    )
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at"]
        verbose_name = _("simulated PaymentIntent")
        verbose_name_plural = _("simulated PaymentIntents")

    def __str__(self) -> str:
        return f"{self.intent_id} {self.amount} {self.currency} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.client_secret:
            self.client_secret = f"{self.intent_id}_secret_{secrets.token_hex(16)}"
        super().save(*args, **kwargs)

    @property
    def charge_id(self) -> str:
        """The id of the PaymentIntent's charge (``ch_sim…``), once it has succeeded."""
        return f"ch_{self.intent_id.removeprefix('pi_')}"

    @sensitive_variables("intent")  # with include_secret, it holds the client secret
    def to_stripe(self, *, include_secret: bool = False, next_action_url: str | None = None) -> dict[str, Any]:
        """The PaymentIntent as Stripe's API renders it (``client_secret`` only for the
        API's answers to the browser, never in webhook events)."""
        succeeded = self.status == SimulatedStatus.SUCCEEDED
        intent: dict[str, Any] = {
            "id": self.intent_id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_received": self.amount if succeeded else 0,
            "automatic_payment_methods": {"enabled": True},
            "cancellation_reason": self.cancellation_reason or None,
            "capture_method": "automatic",
            "created": int(self.created_at.timestamp()),
            "currency": self.currency,
            "last_payment_error": self.last_payment_error,
            "livemode": False,
            "latest_charge": self.charge_id if succeeded else None,
            "metadata": dict(self.metadata),
            "next_action": None,
            "payment_method": self.payment_method or (
                f"pm_sim_{self.card_brand}_{self.card_last4}" if self.card_last4 else None),
            "customer": self.customer or None,
            "setup_future_usage": self.setup_future_usage or None,
            "status": self.status,
            "hooks": {"inputs": {"tax": {"calculation": self.tax_calculation}}} if self.tax_calculation else None,
        }
        if self.status == SimulatedStatus.REQUIRES_ACTION and next_action_url:
            intent["next_action"] = {
                "type": "redirect_to_url",
                "redirect_to_url": {"url": next_action_url, "return_url": None},
            }
        if include_secret:
            intent["client_secret"] = self.client_secret
        return intent


def new_refund_id() -> str:
    return f"re_sim{secrets.token_hex(12)}"


def new_dispute_id() -> str:
    return f"dp_sim{secrets.token_hex(12)}"


class SimulatedRefundStatus(models.TextChoices):
    """Stripe's Refund statuses (card refunds use ``pending``, ``succeeded`` and ``failed``)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


#: Refunds that hold part of the charge: Stripe counts them against what is left.
REFUND_HOLDING_STATUSES = (
    SimulatedRefundStatus.PENDING, SimulatedRefundStatus.REQUIRES_ACTION, SimulatedRefundStatus.SUCCEEDED,
)


class SimulatedRefund(models.Model):
    """A Refund of a simulated PaymentIntent's charge."""

    Status = SimulatedRefundStatus

    refund_id = models.CharField(_("Refund id"), max_length=64, unique=True, default=new_refund_id)
    intent = models.ForeignKey(
        SimulatedPaymentIntent, on_delete=models.CASCADE, related_name="refunds", verbose_name=_("PaymentIntent")
    )
    amount = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=32, choices=SimulatedRefundStatus.choices, default=SimulatedRefundStatus.SUCCEEDED
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=40, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    idempotency_key = models.CharField(  # NULL: no key, outside the unique index
        max_length=255, null=True, blank=True, unique=True, editable=False
    )
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at", "-pk"]
        verbose_name = _("simulated refund")
        verbose_name_plural = _("simulated refunds")

    def __str__(self) -> str:
        return f"{self.refund_id} {self.amount} {self.currency} ({self.status})"

    def to_stripe(self) -> dict[str, Any]:
        """The Refund as Stripe's API renders it."""
        return {
            "id": self.refund_id,
            "object": "refund",
            "amount": self.amount,
            "balance_transaction": None,
            "charge": self.intent.charge_id,
            "created": int(self.created_at.timestamp()),
            "currency": self.currency,
            "failure_reason": self.failure_reason or None,
            "metadata": dict(self.metadata),
            "payment_intent": self.intent.intent_id,
            "reason": self.reason or None,
            "receipt_number": None,
            "status": self.status,
        }


class SimulatedDisputeStatus(models.TextChoices):
    """Stripe's Dispute statuses (the simulator opens chargebacks: ``needs_response``)."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


#: Disputes that are over.
DISPUTE_CLOSED = (SimulatedDisputeStatus.WARNING_CLOSED, SimulatedDisputeStatus.WON, SimulatedDisputeStatus.LOST)


class SimulatedDispute(models.Model):
    """A Dispute (chargeback) of a simulated PaymentIntent's charge."""

    Status = SimulatedDisputeStatus

    dispute_id = models.CharField(_("Dispute id"), max_length=64, unique=True, default=new_dispute_id)
    intent = models.ForeignKey(
        SimulatedPaymentIntent, on_delete=models.CASCADE, related_name="disputes", verbose_name=_("PaymentIntent")
    )
    amount = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=40, default="fraudulent")
    status = models.CharField(
        _("status"), max_length=32, choices=SimulatedDisputeStatus.choices,
        default=SimulatedDisputeStatus.NEEDS_RESPONSE,
    )
    is_charge_refundable = models.BooleanField(_("charge refundable"), default=False)
    evidence_due_by = models.DateTimeField(_("evidence due by"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at", "-pk"]
        verbose_name = _("simulated dispute")
        verbose_name_plural = _("simulated disputes")

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.amount} {self.currency} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status not in DISPUTE_CLOSED

    def to_stripe(self) -> dict[str, Any]:
        """The Dispute as Stripe's API renders it."""
        due_by = int(self.evidence_due_by.timestamp()) if self.evidence_due_by else None
        return {
            "id": self.dispute_id,
            "object": "dispute",
            "amount": self.amount,
            "charge": self.intent.charge_id,
            "created": int(self.created_at.timestamp()),
            "currency": self.currency,
            "evidence_details": {
                "due_by": due_by, "has_evidence": False, "past_due": False, "submission_count": 0,
            },
            "is_charge_refundable": self.is_charge_refundable,
            "livemode": False,
            "metadata": {},
            "payment_intent": self.intent.intent_id,
            "reason": self.reason,
            "status": self.status,
        }


@dataclass(frozen=True)
class SimulatedCharge:
    """The charge of a succeeded simulated PaymentIntent, as a ``charge.*`` event carries it:
    ``amount_refunded`` counts its refunds that succeeded or may still succeed."""

    intent: SimulatedPaymentIntent

    @property
    def charge_id(self) -> str:
        return self.intent.charge_id

    def to_stripe(self) -> dict[str, Any]:
        intent = self.intent
        refunded = sum(intent.refunds.filter(status__in=REFUND_HOLDING_STATUSES).values_list("amount", flat=True))
        return {
            "id": intent.charge_id,
            "object": "charge",
            "amount": intent.amount,
            "amount_captured": intent.amount,
            "amount_refunded": refunded,
            "captured": True,
            "created": int(intent.created_at.timestamp()),
            "currency": intent.currency,
            "disputed": intent.disputes.exists(),
            "livemode": False,
            "metadata": dict(intent.metadata),
            "paid": True,
            "payment_intent": intent.intent_id,
            "refunded": refunded == intent.amount,
            "status": "succeeded",
        }


def new_customer_id() -> str:
    return f"cus_sim{secrets.token_hex(8)}"


def new_payment_method_id() -> str:
    return f"pm_sim{secrets.token_hex(12)}"


class SimulatedCustomer(models.Model):
    """A Stripe Customer of the simulator: the metadata (the installation's mark) it was made with."""

    customer_id = models.CharField(max_length=64, unique=True, default=new_customer_id)
    email = models.CharField(max_length=254, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.customer_id

    def to_stripe(self) -> dict[str, Any]:
        return {"id": self.customer_id, "object": "customer", "livemode": False, "email": self.email or None,
                "metadata": dict(self.metadata), "created": int(self.created_at.timestamp())}


class SimulatedPaymentMethod(models.Model):
    """A test card paid with; saved when attached to a Customer (``customer``)."""

    payment_method_id = models.CharField(max_length=64, unique=True, default=new_payment_method_id)
    customer = models.ForeignKey(SimulatedCustomer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="payment_methods")
    number = models.CharField(max_length=19)  # a test card's number: the simulator takes no other
    brand = models.CharField(_("card brand"), max_length=20)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.payment_method_id

    def to_stripe(self, *, expand_customer: bool = False) -> dict[str, Any]:
        customer = self.customer
        return {
            "id": self.payment_method_id, "object": "payment_method", "type": "card", "livemode": False,
            "created": int(self.created_at.timestamp()),
            "customer": (customer.to_stripe() if expand_customer else customer.customer_id) if customer else None,
            "card": {"brand": self.brand, "last4": self.number[-4:], "exp_month": self.exp_month,
                     "exp_year": self.exp_year},
        }


from .checkout_models import SimulatedCheckoutSession  # noqa: E402, F401  (its own module, registered with these)
from .tax_models import SimulatedTaxCalculation, SimulatedTaxTransaction  # noqa: E402, F401  (likewise)
