"""The simulator's admin: what staff do in Stripe's Dashboard, offline.

Simulated PaymentIntents, refunds and disputes are read-only lists, with the Dashboard's
actions:

* on a PaymentIntent, "Refund in full, as in Stripe's Dashboard": a refund without the
  package's metadata, which the package records from its events with nobody as requester;
* on a refund, "Fail it (the card was closed)": ``refund.updated`` and ``refund.failed``;
* on a dispute, "Close as won" and "Close as lost": ``charge.dispute.closed``.

Stripe Tax's calculations, transactions and reversals are listed too (read-only).

Like the rest of the simulator, it is there only with ``DEBUG`` on and the simulator as the
configured gateway: otherwise staff see no simulator section, its pages answer 403, and the
gateway refuses every action. The actions need the model's change permission.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import exceptions
from ..gateway import get_gateway
from .gateway import SimulatorGateway
from .models import SimulatedDispute, SimulatedPaymentIntent, SimulatedRefund
from .tax_models import SimulatedTaxCalculation, SimulatedTaxTransaction


def running_simulator() -> SimulatorGateway | None:
    """The simulator gateway when it runs (``DEBUG`` on and it is the configured gateway)."""
    if not settings.DEBUG:
        return None
    try:
        gateway = get_gateway()
    except ImproperlyConfigured:
        return None
    return gateway if isinstance(gateway, SimulatorGateway) else None


class SimulatorAdmin(admin.ModelAdmin):
    """Read-only, visible only while the simulator runs; ``simulate`` actions need the
    model's change permission."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return running_simulator() is not None and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return running_simulator() is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_simulate_permission(self, request: HttpRequest) -> bool:
        return running_simulator() is not None and super().has_change_permission(request)

    def run(self, request: HttpRequest, queryset: QuerySet[Any], action: Callable[[SimulatorGateway, Any], object],
            done: Callable[[int], str]) -> None:
        """``action`` on each selected row, reporting what was done and every refusal."""
        gateway = running_simulator()
        if gateway is None:
            self.message_user(request, _("The payment simulator is not running."), messages.ERROR)
            return
        count = 0
        for obj in queryset:
            try:
                action(gateway, obj)
            except exceptions.PaymentsAPIError as exc:
                self.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done(count) % {"count": count}, messages.SUCCESS)


@admin.register(SimulatedPaymentIntent)
class SimulatedPaymentIntentAdmin(SimulatorAdmin):
    list_display = ["intent_id", "amount", "currency", "status", "card_brand", "card_last4", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["intent_id"]
    actions = ["dashboard_refund"]

    @admin.action(description=_("Refund in full, as in Stripe's Dashboard"), permissions=["simulate"])
    def dashboard_refund(self, request: HttpRequest, queryset: QuerySet[SimulatedPaymentIntent]) -> None:
        self.run(request, queryset, lambda gateway, intent: gateway.dashboard_refund(intent.intent_id),
                 lambda n: ngettext("%(count)d PaymentIntent refunded.", "%(count)d PaymentIntents refunded.", n))


@admin.register(SimulatedRefund)
class SimulatedRefundAdmin(SimulatorAdmin):
    list_display = ["refund_id", "intent", "amount", "currency", "status", "reason", "failure_reason", "created_at"]
    list_filter = ["status", "reason"]
    list_select_related = ["intent"]
    search_fields = ["refund_id", "intent__intent_id"]
    actions = ["fail_refund"]

    @admin.action(description=_("Fail it (the card was closed)"), permissions=["simulate"])
    def fail_refund(self, request: HttpRequest, queryset: QuerySet[SimulatedRefund]) -> None:
        self.run(request, queryset, lambda gateway, refund: gateway.fail_refund(refund.refund_id),
                 lambda n: ngettext("%(count)d refund failed.", "%(count)d refunds failed.", n))


@admin.register(SimulatedDispute)
class SimulatedDisputeAdmin(SimulatorAdmin):
    list_display = ["dispute_id", "intent", "amount", "currency", "reason", "status", "evidence_due_by", "created_at"]
    list_filter = ["status"]
    list_select_related = ["intent"]
    search_fields = ["dispute_id", "intent__intent_id"]
    actions = ["close_won", "close_lost"]

    @admin.action(description=_("Close as won"), permissions=["simulate"])
    def close_won(self, request: HttpRequest, queryset: QuerySet[SimulatedDispute]) -> None:
        self.run(request, queryset, lambda gateway, dispute: gateway.close_dispute(dispute.dispute_id, won=True),
                 lambda n: ngettext("%(count)d dispute closed as won.", "%(count)d disputes closed as won.", n))

    @admin.action(description=_("Close as lost"), permissions=["simulate"])
    def close_lost(self, request: HttpRequest, queryset: QuerySet[SimulatedDispute]) -> None:
        self.run(request, queryset, lambda gateway, dispute: gateway.close_dispute(dispute.dispute_id, won=False),
                 lambda n: ngettext("%(count)d dispute closed as lost.", "%(count)d disputes closed as lost.", n))


@admin.register(SimulatedTaxCalculation)
class SimulatedTaxCalculationAdmin(SimulatorAdmin):
    list_display = ["calculation_id", "amount", "tax_amount", "amount_total", "currency", "behavior", "country",
                    "created_at"]
    list_filter = ["currency", "behavior"]
    search_fields = ["calculation_id"]

    @admin.display(description=_("country"))
    def country(self, calculation: SimulatedTaxCalculation) -> str:
        return str(calculation.address.get("country", ""))


@admin.register(SimulatedTaxTransaction)
class SimulatedTaxTransactionAdmin(SimulatorAdmin):
    list_display = ["transaction_id", "kind", "intent", "refund", "amount", "amount_tax", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["intent", "refund"]
    search_fields = ["transaction_id", "intent__intent_id", "calculation__calculation_id"]
