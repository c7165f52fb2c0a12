"""Admin: payments are read-only records of what Stripe did; actions ask Stripe again."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import exceptions, money, services, webhooks
from .models import Payment, WebhookEvent


def _user_search_fields() -> list[str]:
    user_model = get_user_model()
    names = {user_model.USERNAME_FIELD, getattr(user_model, "EMAIL_FIELD", "email")}
    field_names = {f.name for f in user_model._meta.get_fields()}
    return [f"user__{name}" for name in sorted(names) if name in field_names]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["stripe_payment_intent", "user", "display_amount", "status", "livemode", "created_at"]
    list_filter = ["status", "currency", "livemode", ("created_at", admin.DateFieldListFilter)]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "user", "stripe_payment_intent", "amount", "currency", "status", "stripe_status",
        "failure_code", "failure_message", "metadata", "livemode", "created_at", "updated_at",
        "succeeded_at",
    ]
    actions = ["refresh_from_stripe"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=stripe_payment_intent", *_user_search_fields()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # payments are created through Stripe, never by hand

    @admin.display(description=_("amount"), ordering="amount")
    def display_amount(self, payment: Payment) -> str:
        return money.format_amount(payment.amount, payment.currency)

    @admin.action(description=_("Refresh selected payments from Stripe"))
    def refresh_from_stripe(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        changed = unchanged = 0
        for payment in queryset:
            try:
                result = services.refresh_payment(payment)
            except exceptions.PaymentsError as exc:
                self.message_user(
                    request, f"{payment.stripe_payment_intent}: {exc}", level=messages.ERROR
                )
                continue
            changed += result.changed
            unchanged += not result.changed
        self.message_user(request, f"Refreshed from Stripe: {changed} changed, {unchanged} unchanged.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ["stripe_id", "type", "outcome", "attempts", "livemode", "received_at", "processed_at"]
    list_filter = ["outcome", "type", "livemode"]
    search_fields = ["=stripe_id", "=object_id"]
    date_hierarchy = "received_at"
    fields = readonly_fields = (
        "stripe_id", "type", "object_id", "api_version", "livemode", "stripe_created",
        "received_at", "processed_at", "outcome", "note", "attempts", "error", "pretty_payload",
    )
    actions = ["process_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Process selected events again"))
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        outcomes: dict[str, int] = {}
        for stored in queryset.order_by("stripe_created", "received_at", "pk"):
            try:
                outcome = webhooks.process_event(stored.payload, force=True)
            except Exception as exc:  # recorded on the event row by process_event
                outcome = "failed"
                self.message_user(request, f"{stored.stripe_id}: {type(exc).__name__}: {exc}", messages.ERROR)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        self.message_user(request, f"Processed again: {summary or 'nothing'}.")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("payload"))
    def pretty_payload(self, event: WebhookEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.payload, indent=2, sort_keys=True))
