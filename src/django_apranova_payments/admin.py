"""Admin: payments, their refunds and disputes, and webhook events are read-only records of
what Stripe did.

Nobody adds, edits or deletes a record by hand. The actions ask Stripe again (a payment),
replay what Stripe sent (an event) or refund at Stripe (a payment, through
``services.refund_payment`` after a confirmation page). Asking again and replaying need the
model's change permission; refunding needs ``refund_payment`` ("Can refund payments"), and
staff without it are never offered it. Staff with view permission only may look, not act.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import exceptions, money, services, webhooks
from .admin_analytics import AnalyticsAdminMixin
from .admin_refunds import RefundActionMixin
from .models import Dispute, Payment, Refund, RefundReason, WebhookEvent
from .services import FREE_PREFIX

logger = logging.getLogger(__name__)

SECRET_KEYS = frozenset({"client_secret"})
REMOVED = "[removed]"


def _user_search_fields(prefix: str = "user") -> list[str]:
    user_model = get_user_model()
    names = {user_model.USERNAME_FIELD, getattr(user_model, "EMAIL_FIELD", "email")}
    field_names = {f.name for f in user_model._meta.get_fields()}
    return [f"{prefix}__{name}" for name in sorted(names) if name in field_names]


def without_secrets(value: Any) -> Any:
    """``value`` with every ``client_secret``, at any depth, replaced by ``"[removed]"``."""
    if isinstance(value, dict):
        return {k: REMOVED if k in SECRET_KEYS else without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def _amount(obj: Payment | Refund | Dispute) -> str:
    return money.format_amount(obj.amount, obj.currency)


def _reason(refund: Refund) -> str:
    """Our reasons by their label; Stripe's own as Stripe spells them."""
    labels = dict(RefundReason.choices)
    return str(labels.get(refund.reason, refund.reason or "—"))


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

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any) -> Any:
        # A forged selection ("abc" for an id) is refused here, not a 500 from the database.
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                self.opts.pk.to_python(value)
        except DjangoValidationError:
            self.message_user(request, _("The selection is not valid. Nothing was done."), messages.ERROR)
            return None
        return super().response_action(request, queryset, *args, **kwargs)


# ---------------------------------------------------------------------------------------
# Filters


class RefundedFilter(admin.SimpleListFilter):
    title = _("refunded")
    parameter_name = "refunded"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("none", _("none")), ("partly", _("partly")), ("fully", _("fully"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        conditions = {
            "none": Q(amount_refunded=0),
            "partly": Q(amount_refunded__gt=0, amount_refunded__lt=F("amount")),
            "fully": Q(amount_refunded__gt=0, amount_refunded=F("amount")),
        }
        value = self.value()
        return queryset.filter(conditions[value]) if value in conditions else queryset


class FreeFilter(admin.SimpleListFilter):
    title = _("price")
    parameter_name = "price"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("paid", _("paid")), ("free", _("free"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        free = Q(stripe_payment_intent__startswith=FREE_PREFIX)
        if self.value() == "free":
            return queryset.filter(free)
        if self.value() == "paid":
            return queryset.exclude(free)
        return queryset


class MadeInFilter(admin.SimpleListFilter):
    title = _("made")
    parameter_name = "made"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("here", _("here (API, admin or host code)")), ("stripe", _("in Stripe (no requester)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("here", "stripe"):
            return queryset.filter(requested_by__isnull=self.value() == "stripe")
        return queryset


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


# ---------------------------------------------------------------------------------------
# Refunds and disputes: inline on the payment page, and lists of their own


class RecordInline(admin.TabularInline):
    """Read-only rows on the payment page, rendered without a single input (no formset
    management form, no hidden ids), so the page stays a view page."""

    template = "admin/apranova_payments/readonly_tabular.html"
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("amount"))
    def display_amount(self, obj: Refund | Dispute) -> str:
        return _amount(obj)

    @admin.display(description=_("reason"))
    def display_reason(self, refund: Refund) -> str:
        return _reason(refund)


class RefundInline(RecordInline):
    model = Refund
    fields = readonly_fields = (
        "stripe_refund", "display_amount", "status", "display_reason", "failure_reason", "requested_by", "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("requested_by")


class DisputeInline(RecordInline):
    model = Dispute
    fields = readonly_fields = (
        "stripe_dispute", "display_amount", "status", "reason", "evidence_due_by", "created_at",
    )


class OfPaymentAdmin(RecordAdmin):
    """Refunds and disputes: a column naming the payment, a link to it for staff who may
    view payments."""

    def get_list_display(self, request: HttpRequest) -> Any:
        return self._payment_column(request, super().get_list_display(request))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._payment_column(request, super().get_fields(request, obj))

    def _payment_column(self, request: HttpRequest, names: Sequence[Any]) -> list[Any]:
        if self._may_view(request, Payment):
            return list(names)
        return ["payment_intent" if name == "payment_link" else name for name in names]

    @admin.display(description=_("payment"), ordering="payment__stripe_payment_intent")
    def payment_link(self, obj: Refund | Dispute) -> str:
        url = reverse("admin:apranova_payments_payment_change", args=[obj.payment_id])
        return format_html('<a href="{}">{}</a>', url, obj.payment.stripe_payment_intent)

    @admin.display(description=_("payment"), ordering="payment__stripe_payment_intent")
    def payment_intent(self, obj: Refund | Dispute) -> str:
        return obj.payment.stripe_payment_intent

    @admin.display(description=_("amount"), ordering="amount")
    def display_amount(self, obj: Refund | Dispute) -> str:
        return _amount(obj)


@admin.register(Refund)
class RefundAdmin(OfPaymentAdmin):
    list_display = [
        "stripe_refund", "payment_link", "display_amount", "status", "display_reason", "requester", "created_at",
    ]
    list_filter = ["status", "reason", "currency", MadeInFilter, ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["payment", "requested_by"]
    date_hierarchy = "created_at"
    fields = (
        "stripe_refund", "payment_link", "display_amount", "status", "display_reason", "failure_reason",
        "requester", "metadata", "created_at", "updated_at",
    )
    readonly_fields = (*fields, "payment_intent")

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=stripe_refund", "=payment__stripe_payment_intent", *_user_search_fields("requested_by")]

    @admin.display(description=_("reason"), ordering="reason")
    def display_reason(self, refund: Refund) -> str:
        return _reason(refund)

    @admin.display(description=_("requested by"), ordering="requested_by")
    def requester(self, refund: Refund) -> str:
        return str(refund.requested_by) if refund.requested_by is not None else str(_("— (made in Stripe)"))


@admin.register(Dispute)
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


# ---------------------------------------------------------------------------------------
# Payments, and refunding them from the admin

@admin.register(Payment)
class PaymentAdmin(AnalyticsAdminMixin, RefundActionMixin, RecordAdmin):
    list_display = [
        "stripe_payment_intent", "user", "display_amount", "display_refunded", "status", "livemode", "created_at",
    ]
    list_filter = [
        "status", "currency", RefundedFilter, FreeFilter, "livemode", ("created_at", admin.DateFieldListFilter),
    ]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "user", "stripe_payment_intent", "amount", "currency", "display_refunded", "status", "stripe_status",
        "failure_code", "failure_message", "metadata", "livemode", "created_at", "updated_at",
        "succeeded_at", "webhook_events",
    ]
    exclude = ["amount_refunded"]  # shown with its currency, as display_refunded
    links = {"webhook_events": WebhookEvent}
    inlines = [RefundInline, DisputeInline]
    actions = ["refresh_from_stripe", "refund", "export_csv"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=stripe_payment_intent", *_user_search_fields()]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Payment | None = None,
    ) -> HttpResponse:
        context["may_refund"] = (
            obj is not None and obj.status == Payment.Status.SUCCEEDED and self.has_refund_permission(request)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("amount"), ordering="amount")
    def display_amount(self, payment: Payment) -> str:
        return _amount(payment)

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
        self.message_user(request, _("Refreshed from Stripe: %(changed)d changed, %(unchanged)d unchanged.") % {
            "changed": changed, "unchanged": unchanged})


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

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Task mode's queue above the list: events waiting, the queue lag, counts by outcome.
        queue = {"apranova_queue": WebhookEvent.objects.queue_figures()}
        return super().changelist_view(request, {**queue, **(extra_context or {})})

    @admin.action(description=_("Process selected events again"), permissions=["change"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        outcomes: Counter[str] = Counter()
        for replayed in webhooks.replay(queryset):
            if replayed.error is not None:
                error = f"{type(replayed.error).__name__}: {replayed.error}"
                self.message_user(request, f"{replayed.event.stripe_id}: {error}", messages.ERROR)
            outcomes[replayed.outcome] += 1
        summary = ", ".join(
            f"{count} {str(WebhookEvent.Outcome(name).label).lower()}" for name, count in sorted(outcomes.items())
        )
        self.message_user(request, _("Processed again: %(summary)s.") % {"summary": summary or _("nothing")})

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
