"""The simulator's Stripe Checkout Sessions (its ``models`` imports this module, so Django
finds the model where it finds the others; the PaymentIntent is named by its label, so this
module needs nothing of ``models``)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .apps import SimulatorConfig

APP_LABEL = SimulatorConfig.label


def new_session_id() -> str:
    return f"cs_sim{secrets.token_hex(16)}"


class SimulatedCheckoutSession(models.Model):
    """A Stripe Checkout Session of the offline simulator (``mode=payment``, one line): its
    hosted page (``checkout_views``) makes its PaymentIntent when the customer pays."""

    session_id = models.CharField(_("Checkout Session id"), max_length=64, unique=True, default=new_session_id)
    intent = models.OneToOneField(
        f"{APP_LABEL}.SimulatedPaymentIntent", on_delete=models.PROTECT, null=True, blank=True,
        related_name="checkout_session",
        verbose_name=_("PaymentIntent"),
    )
    amount = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    product_name = models.CharField(_("product name"), max_length=250)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    intent_metadata = models.JSONField(_("PaymentIntent metadata"), default=dict, blank=True)
    success_url = models.TextField(_("success URL"))
    cancel_url = models.TextField(_("cancel URL"), blank=True)
    client_reference_id = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    # Stripe Tax (``automatic_tax``, with TAX set): the price's tax behaviour ("" without
    # tax) and code; the tax, breakdown and address once the customer entered one.
    tax_behavior = models.CharField(_("tax behavior"), max_length=20, blank=True)
    tax_code = models.CharField(_("tax code"), max_length=40, blank=True)
    amount_tax = models.PositiveBigIntegerField(_("tax (minor units)"), default=0)
    tax_breakdown = models.JSONField(_("tax breakdown"), default=list, blank=True)
    billing_address = models.JSONField(_("billing address"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, default="open")
    payment_status = models.CharField(_("payment status"), max_length=20, default="unpaid")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at"]
        verbose_name = _("simulated Checkout Session")
        verbose_name_plural = _("simulated Checkout Sessions")

    def __str__(self) -> str:
        return f"{self.session_id} {self.amount} {self.currency} ({self.status})"

    @property
    def automatic_tax(self) -> bool:
        return bool(self.tax_behavior)

    @property
    def amount_total(self) -> int:
        """The line, plus its tax when the tax is exclusive (minor units)."""
        return self.amount + (self.amount_tax if self.tax_behavior == "exclusive" else 0)

    def to_stripe(self, page_url: str | None = None, *, expand_breakdown: bool = False) -> dict[str, Any]:
        """The Session as Stripe's API renders it; ``url`` (its hosted page) while open;
        ``total_details.breakdown`` only when expanded, as at Stripe."""
        totals: dict[str, Any] = {"amount_discount": 0, "amount_shipping": 0, "amount_tax": self.amount_tax}
        if expand_breakdown:
            totals["breakdown"] = {"discounts": [], "taxes": list(self.tax_breakdown)}
        return {
            "id": self.session_id, "object": "checkout.session", "mode": "payment",
            "amount_subtotal": self.amount, "amount_total": self.amount_total, "currency": self.currency,
            "total_details": totals,
            "automatic_tax": {"enabled": self.automatic_tax, "liability": {"type": "self"} if self.automatic_tax
                              else None, "provider": "stripe" if self.automatic_tax else None,
                              "status": ("complete" if self.billing_address else "requires_location_inputs")
                              if self.automatic_tax else None},
            "billing_address_collection": "required" if self.automatic_tax else None,
            "customer_details": {"address": dict(self.billing_address), "email": self.customer_email or None}
            if self.billing_address else None,
            "status": self.status, "payment_status": self.payment_status,
            "payment_intent": self.intent.intent_id if self.intent else None,
            "url": page_url if self.status == "open" else None, "livemode": False, "metadata": dict(self.metadata),
            "success_url": self.success_url, "cancel_url": self.cancel_url or None,
            "client_reference_id": self.client_reference_id or None, "customer_email": self.customer_email or None,
            "created": int(self.created_at.timestamp()),
        }
