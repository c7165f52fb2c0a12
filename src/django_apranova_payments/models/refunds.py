"""``Refund``: one Stripe Refund of a payment, whoever made it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .. import money
from .choices import RefundReason, RefundStatus
from .payments import Payment


class Refund(models.Model):
    """One Stripe Refund of a payment, whoever made it (the API, the admin, host code or
    Stripe's Dashboard). Amounts are major units in the payment's currency."""

    Status = RefundStatus
    Reason = RefundReason

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    stripe_refund = models.CharField(_("Refund id"), max_length=255, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices)
    reason = models.CharField(
        _("reason"), max_length=40, blank=True,
        help_text=_("duplicate, fraudulent, requested_by_customer, or Stripe's own."),
    )
    failure_reason = models.CharField(_("failure reason"), max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("requested by"),
        help_text=_("Who asked through the API or the admin; empty for refunds made elsewhere."),
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    idempotency_key = models.CharField(  # noqa: DJ001 - NULL: no key, outside the unique constraint
        _("Idempotency-Key"), max_length=255, null=True, blank=True, editable=False
    )
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    last_event_created = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        indexes = [
            # The analytics' refunded: a range of created_at of the succeeded refunds.
            models.Index(fields=["status", "created_at", "payment", "amount"], name="apranova_ref_created_figs_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="apranova_refund_user_idem_key_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_refund} {money.format_amount(self.amount, self.currency)} ({self.status})"
