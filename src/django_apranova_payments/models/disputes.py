"""``Dispute``: a chargeback, or an inquiry that may become one, of a payment."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .. import money
from .choices import DisputeStatus
from .payments import Payment


class Dispute(models.Model):
    """A Stripe Dispute (a chargeback, or an inquiry that may become one) of a payment."""

    Status = DisputeStatus

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("payment")
    )
    stripe_dispute = models.CharField(_("Dispute id"), max_length=255, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=DisputeStatus.choices)
    is_charge_refundable = models.BooleanField(
        _("charge refundable"), default=False,
        help_text=_("Stripe's word on whether the payment may still be refunded."),
    )
    evidence_due_by = models.DateTimeField(_("evidence due by"), null=True, blank=True)
    last_event_created = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self) -> str:
        return f"{self.stripe_dispute} {money.format_amount(self.amount, self.currency)} ({self.status})"
