"""Payments in the admin: the list with its filters, the coupon and discount of each, the
refunds and disputes of each on its page, and the actions: refresh from Stripe (change
permission), refund (``refunds``), the Analytics page and CSV export (``analytics``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import exceptions, receipts, services
from ..models import Coupon, Payment, PaymentStatus, WebhookEvent
from ..money_display import format_money
from ..services import FREE_PREFIX
from .analytics import AnalyticsAdminMixin
from .disputes import DisputeInline
from .events import events_of_payment
from .records import RecordAdmin, shown_amount, user_search_fields
from .refunds import RefundActionMixin, RefundInline, refusal


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


class CouponFilter(admin.SimpleListFilter):
    title = _("coupon")
    parameter_name = "with_coupon"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("with a coupon")), ("no", _("without a coupon"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(coupon__isnull=self.value() == "no")
        return queryset


def _cut(text: str) -> str:
    """``text`` in a list cell that payments.css cuts with an ellipsis when long; whole in its
    tooltip."""
    return format_html('<span class="apranova-cut" title="{}">{}</span>', text, text)


def has_live(request: HttpRequest) -> bool:
    """Whether any payment was made in live mode: asked once a request (the list's column and
    filter both ask), so the list's statement count stays what it was, plus this one."""
    if not hasattr(request, "_apranova_has_live"):
        request._apranova_has_live = Payment.objects.filter(livemode=True).exists()  # type: ignore[attr-defined]
    return bool(request._apranova_has_live)  # type: ignore[attr-defined]


class PaymentAdmin(AnalyticsAdminMixin, RefundActionMixin, RecordAdmin):
    # Compact enough for 1280 px with the sidebar open (payments.css): the amount and its
    # currency in one unbroken column, the date without the time, live mode only where it tells.
    list_display = [
        "display_intent", "display_user", "display_amount", "list_refunded", "display_coupon", "status", "livemode",
        "display_created",
    ]
    list_filter = [
        "status", "currency", RefundedFilter, FreeFilter, CouponFilter, "livemode",
        ("created_at", admin.DateFieldListFilter),
    ]
    date_hierarchy = "created_at"
    list_select_related = ["user", "coupon"]
    raw_id_fields = ["user"]
    readonly_fields = [
        "user", "stripe_payment_intent", "stripe_checkout_session", "amount", "currency", "coupon_link",
        "coupon_code", "display_discount", "display_tax", "tax_calculation", "display_billing_address",
        "display_refunded", "status", "stripe_status", "failure_code",
        "failure_message", "metadata", "livemode", "created_at", "updated_at", "succeeded_at", "display_receipt",
        "webhook_events",
    ]
    # Shown as display_refunded, coupon_link (or coupon_code), display_discount and display_tax.
    exclude = ["amount_refunded", "coupon", "discount", "amount_tax"]
    links = {"webhook_events": WebhookEvent, "coupon_link": Coupon}
    inlines = [RefundInline, DisputeInline]
    actions = ["refresh_from_stripe", "refund", "export_csv"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        """Ids (PaymentIntent, Checkout Session) and the user's username and e-mail by their
        start, case-insensitively: "pi_sim" finds every simulator payment, "ann@" Ann's."""
        ids = ("stripe_payment_intent", "stripe_checkout_session")
        return [f"^{name}" for name in (*ids, *user_search_fields())]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return [name for name in super().get_list_display(request) if name != "livemode" or has_live(request)]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [name for name in super().get_list_filter(request) if name != "livemode" or has_live(request)]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Payment | None = None,
    ) -> HttpResponse:
        # No "Refund…" for a payment with nothing to refund: failed, free, disputed or refunded in full.
        context["may_refund"] = obj is not None and not refusal(obj) and self.has_refund_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("amount"), ordering="amount")
    def display_amount(self, payment: Payment) -> str:
        return shown_amount(payment)

    @admin.display(description=_("id"), ordering="stripe_payment_intent")
    def display_intent(self, payment: Payment) -> str:
        """The PaymentIntent id (a Checkout payment's Session id until Stripe has made its
        PaymentIntent) under a short header; a long one is cut (payments.css), whole in its
        tooltip."""
        return _cut(payment.stripe_id)

    @admin.display(description=_("user"), ordering="user")
    def display_user(self, payment: Payment) -> str:
        return _cut(str(payment.user))

    @admin.display(description=_("coupon"), ordering="coupon__code")
    def display_coupon(self, payment: Payment) -> str:
        return _cut(payment.coupon.code) if payment.coupon is not None else "-"

    @admin.display(description=_("refunded"), ordering="amount_refunded")
    def list_refunded(self, payment: Payment) -> str:
        """The list's narrow column: the amount refunded, or "all"."""
        if not payment.amount_refunded:
            return "—"
        return str(_("all")) if payment.is_fully_refunded else format_money(payment.amount_refunded, payment.currency)

    @admin.display(description=_("created"), ordering="created_at")
    def display_created(self, payment: Payment) -> str:
        """The day, short; the time in its tooltip (and on the payment's page)."""
        created = timezone.localtime(payment.created_at)
        return format_html('<span title="{}">{}</span>', formats.date_format(created, "DATETIME_FORMAT"),
                           formats.date_format(created, "SHORT_DATE_FORMAT"))

    def get_fields(self, request: HttpRequest, obj: Payment | None = None) -> Any:
        """The coupon linked to its page for staff who may view coupons (``links``), its code
        for others."""
        fields = super().get_fields(request, obj)
        return [name for name in fields if name != "coupon_code" or "coupon_link" not in fields]

    @admin.display(description=_("coupon"))
    def coupon_link(self, payment: Payment) -> str:
        if payment.coupon is None:
            return "—"
        url = reverse("admin:apranova_payments_coupon_change", args=[payment.coupon_id])
        return format_html('<a href="{}">{}</a>', url, payment.coupon.code)

    @admin.display(description=_("coupon"))
    def coupon_code(self, payment: Payment) -> str:
        return payment.coupon.code if payment.coupon is not None else "—"

    @admin.display(description=_("discount"), ordering="discount")
    def display_discount(self, payment: Payment) -> str:
        return format_money(payment.discount, payment.currency) if payment.coupon_id else "—"

    @admin.display(description=_("tax"), ordering="amount_tax")
    def display_tax(self, payment: Payment) -> str:
        """The tax within the amount, with each rate and where it applies (``19.0% vat DE``)."""
        if not payment.amount_tax and not payment.tax_calculation:
            return "—"
        rates = ", ".join(
            f"{row.get('percentage', '')}% {row.get('tax_type', '')} {row.get('country', '')}".strip()
            for row in payment.tax_breakdown if isinstance(row, dict)
        )
        amount = format_money(payment.amount_tax, payment.currency)
        return f"{amount} ({rates})" if rates else amount

    @admin.display(description=_("billing address"))
    def display_billing_address(self, payment: Payment) -> str:
        address = payment.billing_address if isinstance(payment.billing_address, dict) else {}
        parts = [address.get(key) for key in ("line1", "city", "state", "postal_code", "country")]
        return ", ".join(str(part) for part in parts if part) or "—"
    @admin.display(description=_("receipt"))
    def display_receipt(self, payment: Payment) -> str:
        """The receipt number and a link to the receipt (numbered on first view when the
        payment succeeded before ``SELLER`` was set); "—" while receipts are off or the
        payment has not succeeded."""
        if payment.status != PaymentStatus.SUCCEEDED or receipts.seller() is None:
            return "—"
        try:
            url = reverse("apranova_payments:payment-receipt", args=[payment.stripe_id])
        except NoReverseMatch:  # the host has not included the package's URLs
            url = ""
        number = receipts.number_text(payment.receipt_number) if payment.receipt_number is not None else ""
        if not url:
            return number or "—"
        return format_html('{} <a href="{}" target="_blank" rel="noopener">{}</a>', number, url, _("View receipt"))

    @admin.display(description=_("webhook events"))
    def webhook_events(self, payment: Payment) -> str:
        """The events of the payment's PaymentIntent, refunds, disputes and charge, counted in
        one statement, linked to the event list filtered by the payment."""
        count = WebhookEvent.objects.filter(events_of_payment(payment.pk)).count()
        url = reverse("admin:apranova_payments_webhookevent_changelist")
        text = ngettext("%(count)d event", "%(count)d events", count) % {"count": count}
        return format_html('<a href="{}?{}">{}</a>', url, urlencode({"payment": payment.pk}), text)

    @admin.action(description=_("Refresh selected payments from Stripe"), permissions=["change"])
    def refresh_from_stripe(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        changed = unchanged = 0
        for payment in queryset:
            try:
                result = services.refresh_payment(payment)
            except exceptions.PaymentsError as exc:
                self.message_user(
                    request, f"{payment.stripe_id}: {exc}", level=messages.ERROR
                )
                continue
            changed += result.changed
            unchanged += not result.changed
        self.message_user(request, _("Refreshed from Stripe: %(changed)d changed, %(unchanged)d unchanged.") % {
            "changed": changed, "unchanged": unchanged})

