"""``WebhookEvent``: every verified Stripe event, once, keyed by Stripe's event id."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import WebhookEventOutcome
from .event_store import WebhookEventQuerySet


class WebhookEvent(models.Model):
    """Every verified Stripe event, once, keyed by Stripe's event id: the audit log and the
    deduplication record of the webhook endpoint."""

    Outcome = WebhookEventOutcome

    stripe_id = models.CharField(_("event id"), max_length=255)
    type = models.CharField(_("type"), max_length=100)
    api_version = models.CharField(_("API version"), max_length=64, blank=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    object_id = models.CharField(
        _("object id"), max_length=255, blank=True,
        help_text=_("The id of data.object, e.g. the PaymentIntent."),
    )
    payload = models.JSONField(_("payload"))
    stripe_created = models.DateTimeField(_("created at Stripe"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=WebhookEventOutcome.choices,
        default=WebhookEventOutcome.RECEIVED,
    )
    error = models.TextField(_("error"), blank=True, help_text=_("Why the last attempt failed."))
    note = models.CharField(
        _("note"), max_length=255, blank=True, help_text=_("Why the event was ignored.")
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        # Every delivery inserts a row, so the table keeps only the indexes its lookups need
        # (docs/explanation/performance.md): the event id, the object id (a payment's events),
        # and the events still waiting or failed (task mode's queue; inline mode never
        # stores a row as received, so that index stays empty there). No pattern-ops
        # copies, no index on type.
        constraints = [models.UniqueConstraint(fields=["stripe_id"], name="apranova_event_stripe_id_uniq")]
        indexes = [
            models.Index(fields=["object_id"], name="apranova_event_object_id_idx"),
            models.Index(
                fields=["outcome", "received_at"], name="apranova_event_waiting_idx",
                condition=Q(outcome__in=[WebhookEventOutcome.RECEIVED, WebhookEventOutcome.FAILED]),
            ),
        ]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.outcome})"
