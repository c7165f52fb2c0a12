"""Disputes in the admin: read-only rows on the payment page, and a list of their own
filtered by when the evidence is due."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Dispute
from .records import OfPaymentAdmin, RecordInline


class EvidenceDueFilter(admin.SimpleListFilter):
    title = _("evidence due")
    parameter_name = "evidence_due"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("past", _("past")), ("week", _("in the next 7 days")),
            ("later", _("later")), ("none", _("no date")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        conditions = {
            "past": Q(evidence_due_by__lt=now),
            "week": Q(evidence_due_by__gte=now, evidence_due_by__lt=now + timedelta(days=7)),
            "later": Q(evidence_due_by__gte=now + timedelta(days=7)),
            "none": Q(evidence_due_by__isnull=True),
        }
        value = self.value()
        return queryset.filter(conditions[value]) if value in conditions else queryset


class DisputeInline(RecordInline):
    model = Dispute
    fields = readonly_fields = (
        "stripe_dispute", "display_amount", "status", "reason", "evidence_due_by", "created_at",
    )


class DisputeAdmin(OfPaymentAdmin):
    list_display = [
        "stripe_dispute", "payment_link", "display_amount", "status", "reason", "evidence_due_by", "created_at",
    ]
    list_filter = ["status", EvidenceDueFilter, "reason", "currency"]
    list_select_related = ["payment"]
    date_hierarchy = "created_at"
    search_fields = ["=stripe_dispute", "=payment__stripe_payment_intent"]
    fields = (
        "stripe_dispute", "payment_link", "display_amount", "status", "reason", "is_charge_refundable",
        "evidence_due_by", "created_at", "updated_at",
    )
    readonly_fields = (*fields, "payment_intent")
