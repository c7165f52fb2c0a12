"""Admin: payments and webhook events are read-only records of what Stripe did.

Nobody adds, edits or deletes a record by hand. The two actions ask Stripe again (a payment)
or replay what Stripe sent (an event), and need the model's change permission: staff with
view permission only may look, not act.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import exceptions, money, services, webhooks
from .models import Payment, WebhookEvent

SECRET_KEYS = frozenset({"client_secret"})
REMOVED = "[removed]"


def _user_search_fields() -> list[str]:
    user_model = get_user_model()
    names = {user_model.USERNAME_FIELD, getattr(user_model, "EMAIL_FIELD", "email")}
    field_names = {f.name for f in user_model._meta.get_fields()}
    return [f"user__{name}" for name in sorted(names) if name in field_names]


def without_secrets(value: Any) -> Any:
    """``value`` with every ``client_secret``, at any depth, replaced by ``"[removed]"``."""
    if isinstance(value, dict):
        return {k: REMOVED if k in SECRET_KEYS else without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


class RecordAdmin(admin.ModelAdmin):
    """A record nobody adds, edits or deletes by hand.

    ``has_change_permission`` keeps the user's real answer for the model as a whole (Django asks
    it with ``obj=None`` for the changelist, and for actions marked ``permissions=["change"]``),
    and says no for one record: Django then shows that record's page as a view page, with no
    input and no Save button, and answers a POST to it with 403.
    """

    #: Read-only fields that link to another model's admin, shown only to staff who may view it.
    links: dict[str, type[Model]] = {}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        return [f for f in fields if f not in self.links or self._may_view(request, self.links[f])]

    def _may_view(self, request: HttpRequest, model: type[Model]) -> bool:
        site = self.admin_site
        return site.is_registered(model) and site.get_model_admin(model).has_view_permission(request)


@admin.register(Payment)
class PaymentAdmin(RecordAdmin):
    list_display = ["stripe_payment_intent", "user", "display_amount", "status", "livemode", "created_at"]
    list_filter = ["status", "currency", "livemode", ("created_at", admin.DateFieldListFilter)]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "user", "stripe_payment_intent", "amount", "currency", "status", "stripe_status",
        "failure_code", "failure_message", "metadata", "livemode", "created_at", "updated_at",
        "succeeded_at", "webhook_events",
    ]
    links = {"webhook_events": WebhookEvent}
    actions = ["refresh_from_stripe"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=stripe_payment_intent", *_user_search_fields()]

    @admin.display(description=_("amount"), ordering="amount")
    def display_amount(self, payment: Payment) -> str:
        return money.format_amount(payment.amount, payment.currency)

    @admin.display(description=_("webhook events"))
    def webhook_events(self, payment: Payment) -> str:
        intent = payment.stripe_payment_intent
        if not intent:
            return "—"
        count = WebhookEvent.objects.filter(object_id=intent).count()
        url = reverse("admin:apranova_payments_webhookevent_changelist")
        text = ngettext("%(count)d event", "%(count)d events", count) % {"count": count}
        return format_html('<a href="{}?{}">{}</a>', url, urlencode({"object_id": intent}), text)

    @admin.action(description=_("Refresh selected payments from Stripe"), permissions=["change"])
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
class WebhookEventAdmin(RecordAdmin):
    list_display = ["stripe_id", "type", "outcome", "attempts", "livemode", "received_at", "processed_at"]
    list_filter = ["outcome", "type", "livemode"]
    search_fields = ["=stripe_id", "=object_id"]
    date_hierarchy = "received_at"
    fields = readonly_fields = (
        "stripe_id", "type", "object_id", "payment", "api_version", "livemode", "stripe_created",
        "received_at", "processed_at", "outcome", "note", "attempts", "error", "pretty_payload",
    )
    links = {"payment": Payment}
    actions = ["process_again"]

    @admin.action(description=_("Process selected events again"), permissions=["change"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        outcomes: Counter[str] = Counter()
        for replayed in webhooks.replay(queryset):
            if replayed.error is not None:
                error = f"{type(replayed.error).__name__}: {replayed.error}"
                self.message_user(request, f"{replayed.event.stripe_id}: {error}", messages.ERROR)
            outcomes[replayed.outcome] += 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        self.message_user(request, f"Processed again: {summary or 'nothing'}.")

    @admin.display(description=_("payment"))
    def payment(self, event: WebhookEvent) -> str:
        found = Payment.objects.filter(stripe_payment_intent=event.object_id).first() if event.object_id else None
        if found is None:
            return "—"
        url = reverse("admin:apranova_payments_payment_change", args=[found.pk])
        return format_html('<a href="{}">{}</a>', url, str(found))

    @admin.display(description=_("payload"))
    def pretty_payload(self, event: WebhookEvent) -> str:
        # Storage strips client_secret already; this keeps it off the page for older rows too.
        payload = json.dumps(without_secrets(event.payload), indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", payload)
