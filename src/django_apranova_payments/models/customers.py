"""``Customer``: the Stripe Customer a user's saved cards hang on, one per user and mode; and
``PendingCustomerDeletion``, a deleted user's Customer that Stripe has yet to delete."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    """The user's Stripe Customer in one mode (test or live, from the secret key). Only its
    id is stored: the cards are read from Stripe when they are shown, never kept here."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    stripe_customer = models.CharField(_("Customer id"), max_length=255, unique=True)
    livemode = models.BooleanField(_("live mode"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            # Two first purchases at once insert one row; the other reads it (services.customers).
            models.UniqueConstraint(fields=["user", "livemode"], name="apranova_customer_user_mode_uniq"),
        ]
        permissions = [("forget_payment_methods", _("Can forget a customer's saved cards"))]

    def __str__(self) -> str:
        return self.stripe_customer


class PendingCustomerDeletion(models.Model):
    """A deleted user's Customer, queued with the user's deletion and deleted at Stripe right
    after it commits; what Stripe could not take then, ``apranova_process_events`` retries."""

    stripe_customer = models.CharField(_("Customer id"), max_length=255, unique=True)
    livemode = models.BooleanField(_("live mode"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("pending customer deletion")
        verbose_name_plural = _("pending customer deletions")

    def __str__(self) -> str:
        return self.stripe_customer
