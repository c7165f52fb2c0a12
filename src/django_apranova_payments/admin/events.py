"""Webhook events in the admin: what Stripe sent, the task queue above the list, the events
of one payment (``?payment=<pk>``, the link on a payment's page), and the "Process selected
events again" action."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import webhooks
from ..models import Dispute, Payment, Refund, WebhookEvent
from .records import RecordAdmin

SECRET_KEYS = frozenset({"client_secret"})
REMOVED = "[removed]"


def without_secrets(value: Any) -> Any:
    """``value`` with every ``client_secret``, at any depth, replaced by ``"[removed]"``."""
    if isinstance(value, dict):
        return {k: REMOVED if k in SECRET_KEYS else without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def events_of_payment(payment_pk: Any) -> Q:
    """The events of every object of a payment: its PaymentIntent, its Checkout Session
    (``cs_…``), its refunds (``re_…``), its disputes (``dp_…``) and its charge (``ch_…``:
    ``charge.refunded`` and the like). The charge is not stored on the payment; it is the
    ``latest_charge`` of the PaymentIntent's events, or the ``charge`` of its refunds' and
    disputes' events. One statement with subqueries, each on an indexed column (``object_id``,
    the payment's key)."""
    payment = Payment.objects.filter(pk=payment_pk)
    own_ids = (
        Q(object_id__in=payment.exclude(stripe_payment_intent="").values("stripe_payment_intent"))
        | Q(object_id__in=payment.filter(stripe_checkout_session__isnull=False).values("stripe_checkout_session"))
        | Q(object_id__in=Refund.objects.filter(payment_id=payment_pk).values("stripe_refund"))
        | Q(object_id__in=Dispute.objects.filter(payment_id=payment_pk).values("stripe_dispute"))
    )
    charges = (
        WebhookEvent.objects.filter(own_ids)
        .annotate(charge=Coalesce(KT("payload__data__object__latest_charge"), KT("payload__data__object__charge")))
        .filter(charge__startswith="ch_")
        .values("charge")
    )
    return own_ids | Q(object_id__in=charges)


def payment_of(event: WebhookEvent) -> Payment | None:
    """The payment an event is about: the one whose PaymentIntent, Checkout Session, refund or
    dispute is the event's object, or (a charge's event) whose PaymentIntent the object names."""
    if not event.object_id:
        return None
    which = (Q(stripe_payment_intent=event.object_id) | Q(stripe_checkout_session=event.object_id)
             | Q(refunds__stripe_refund=event.object_id) | Q(disputes__stripe_dispute=event.object_id))
    data = event.payload.get("data") if isinstance(event.payload, dict) else None
    named = data.get("object", {}).get("payment_intent") if isinstance(data, dict) else None
    if isinstance(named, str) and named:
        which |= Q(stripe_payment_intent=named)
    return Payment.objects.filter(which).order_by("pk").first()


class PaymentEventsFilter(admin.SimpleListFilter):
    """``?payment=<pk>``: the events of every object of that payment (``events_of_payment``)."""

    title = _("payment")
    parameter_name = "payment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        value = self.value()
        if not value:  # offered only as the payment page's link sets it
            return []
        intent = Payment.objects.filter(pk=self._pk(value)).values_list("stripe_payment_intent", flat=True).first()
        return [(value, intent or value)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(events_of_payment(self._pk(value))) if value else queryset

    @staticmethod
    def _pk(value: str) -> Any:
        try:
            return Payment._meta.pk.to_python(value)
        except ValidationError as exc:  # a forged value: the admin answers with its ?e=1 page
            raise IncorrectLookupParameters(str(exc)) from exc


class WebhookEventAdmin(RecordAdmin):
    list_display = ["stripe_id", "type", "outcome", "attempts", "livemode", "received_at", "processed_at"]
    list_filter = ["outcome", "type", "livemode", PaymentEventsFilter]
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
        found = payment_of(event)
        if found is None:
            return "—"
        url = reverse("admin:apranova_payments_payment_change", args=[found.pk])
        return format_html('<a href="{}">{}</a>', url, str(found))

    @admin.display(description=_("payload"))
    def pretty_payload(self, event: WebhookEvent) -> str:
        # Storage strips client_secret already; this keeps it off the page for older rows too.
        payload = json.dumps(without_secrets(event.payload), indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", payload)
