"""The statuses and outcomes the tables store, and the groups of them the code asks about."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


TERMINAL_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED})


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Requires action")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


#: Refunds that still hold part of the payment: they may yet succeed.
REFUND_OPEN_STATUSES = (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION)


class RefundReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate")
    FRAUDULENT = "fraudulent", _("Fraudulent")
    REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by customer")


class DisputeStatus(models.TextChoices):
    WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs response")
    WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
    WARNING_CLOSED = "warning_closed", _("Inquiry: closed")
    NEEDS_RESPONSE = "needs_response", _("Needs response")
    UNDER_REVIEW = "under_review", _("Under review")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    PREVENTED = "prevented", _("Prevented")
    APPEAL_NEEDS_RESPONSE = "appeal_needs_response", _("Appeal: needs response")
    APPEAL_UNDER_REVIEW = "appeal_under_review", _("Appeal: under review")


#: Where a dispute ends (until an appeal moves a lost one on). ``prevented``: the chargeback
#: was stopped before it was filed.
DISPUTE_CLOSED_STATUSES = (
    DisputeStatus.WARNING_CLOSED, DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.PREVENTED,
)


class WebhookEventOutcome(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


#: Oldest first, as Stripe created them: the order stored events are processed again in.
REPLAY_ORDER = ("stripe_created", "received_at", "pk")
#: Outcomes after which an event is never processed again by a delivery (only by a replay).
DONE_OUTCOMES = (WebhookEventOutcome.PROCESSED, WebhookEventOutcome.IGNORED)
