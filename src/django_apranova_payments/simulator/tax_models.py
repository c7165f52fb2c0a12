"""The simulator's Stripe Tax: the calculations it made, and the tax transactions and
reversals it recorded for them (what Stripe's Tax reports would list), from the test kit's
deterministic rate table (``testing.stripe_tax``: 19 % DE, 18 % IN, 0 % US …)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import APP_LABEL, SimulatedPaymentIntent, SimulatedRefund


def new_calculation_id() -> str:
    return f"taxcalc_sim{secrets.token_hex(12)}"


def new_transaction_id() -> str:
    return f"tax_sim{secrets.token_hex(12)}"


class SimulatedTaxCalculation(models.Model):
    """A ``tax.calculation``: one line of ``amount`` minor units sold to ``address``."""

    calculation_id = models.CharField(_("calculation id"), max_length=64, unique=True, default=new_calculation_id)
    currency = models.CharField(_("currency"), max_length=3)
    amount = models.PositiveBigIntegerField(_("line amount (minor units)"))
    amount_total = models.PositiveBigIntegerField(_("total (minor units)"))
    tax_amount = models.PositiveBigIntegerField(_("tax (minor units)"))
    behavior = models.CharField(_("tax behaviour"), max_length=10)
    tax_code = models.CharField(_("tax code"), max_length=40)
    address = models.JSONField(_("address"), default=dict)
    stripe_object = models.JSONField(default=dict, editable=False)  # the whole calculation, as Stripe renders it
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, unique=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at"]
        verbose_name = _("simulated tax calculation")
        verbose_name_plural = _("simulated tax calculations")

    def __str__(self) -> str:
        return f"{self.calculation_id} {self.tax_amount}/{self.amount_total} {self.currency}"


class SimulatedTaxTransaction(models.Model):
    """A ``tax.transaction``: recorded when a linked PaymentIntent succeeds (``transaction``),
    and for each of its refunds (``reversal``, the refund's share of the tax, negative)."""

    class Kind(models.TextChoices):
        TRANSACTION = "transaction", _("transaction")
        REVERSAL = "reversal", _("reversal")

    transaction_id = models.CharField(_("transaction id"), max_length=64, unique=True, default=new_transaction_id)
    kind = models.CharField(_("type"), max_length=12, choices=Kind.choices)
    calculation = models.ForeignKey(SimulatedTaxCalculation, on_delete=models.PROTECT, related_name="transactions")
    intent = models.ForeignKey(SimulatedPaymentIntent, on_delete=models.CASCADE, related_name="tax_transactions")
    refund = models.OneToOneField(SimulatedRefund, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="tax_reversal")
    amount = models.BigIntegerField(_("amount (minor units)"))
    amount_tax = models.BigIntegerField(_("tax (minor units)"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        app_label = APP_LABEL
        ordering = ["-created_at"]
        verbose_name = _("simulated tax transaction")
        verbose_name_plural = _("simulated tax transactions")
        constraints = [
            models.UniqueConstraint(fields=["calculation"], condition=models.Q(kind="transaction"),
                                    name="apranova_sim_one_tax_transaction_per_calculation"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.kind} {self.amount_tax}"

    def to_stripe(self) -> dict[str, Any]:
        return {"id": self.transaction_id, "object": "tax.transaction", "type": self.kind,
                "reference": self.refund.refund_id if self.refund else self.intent.intent_id,
                "currency": self.calculation.currency, "amount": self.amount, "amount_tax": self.amount_tax}
