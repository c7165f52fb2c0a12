"""Coupons in the admin: the list with the redemptions each holds (counted in the list's own
statement), its filters, the actions that activate and deactivate, each coupon's page with
its redemptions, and batches of single-use codes (``coupon_batch``).

Unlike the records of what Stripe did, coupons are staff's own: Django's model permissions
decide who may view, add, change or delete one. A coupon that payments name cannot be deleted
(``PROTECT``); Django's delete page lists those payments instead of deleting anything.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..models import Coupon, CouponQuerySet, Payment, PaymentStatus
from ..money_display import format_money
from .coupon_batch import CouponBatchMixin, warn_if_refused_as_free
from .records import ValidSelectionMixin, may_view, shown_amount

#: The newest redemptions listed on a coupon's page; the payments list shows them all.
REDEMPTIONS_SHOWN = 100


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("percent", _("percent off")), ("amount", _("amount off"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "percent":
            return queryset.filter(percent_off__isnull=False)
        if self.value() == "amount":
            return queryset.filter(amount_off__isnull=False)
        return queryset


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies of the amounts off (a percent off has none)."""

    title = _("currency")
    parameter_name = "currency"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        codes = Coupon.objects.exclude(currency="").order_by("currency").values_list("currency", flat=True).distinct()
        return [(code, code.upper()) for code in codes]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(currency=self.value()) if self.value() else queryset


class ValidityFilter(admin.SimpleListFilter):
    title = _("validity")
    parameter_name = "validity"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("current", _("current")), ("scheduled", _("scheduled")), ("expired", _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        conditions = {
            "current": (Q(valid_from__isnull=True) | Q(valid_from__lte=now))
            & (Q(valid_until__isnull=True) | Q(valid_until__gt=now)),
            "scheduled": Q(valid_from__gt=now),
            "expired": Q(valid_until__lte=now),
        }
        value = self.value()
        return queryset.filter(conditions[value]) if value in conditions else queryset


class UsedUpFilter(admin.SimpleListFilter):
    """Coupons whose redemptions held reach ``max_redemptions`` (the list's annotation)."""

    title = _("used up")
    parameter_name = "used_up"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        used_up = Q(max_redemptions__isnull=False, redemptions_held__gte=F("max_redemptions"))
        if self.value() == "yes":
            return queryset.filter(used_up)
        if self.value() == "no":
            return queryset.filter(Q(max_redemptions__isnull=True) | Q(redemptions_held__lt=F("max_redemptions")))
        return queryset


class CouponAdmin(CouponBatchMixin, ValidSelectionMixin, admin.ModelAdmin):
    list_display = ["code", "description", "discount", "active", "validity", "redemptions", "created_at"]
    list_filter = ["active", KindFilter, CurrencyFilter, ValidityFilter, UsedUpFilter]
    search_fields = ["code", "description"]
    readonly_fields = ["redemptions", "created_at"]
    actions = ["activate", "deactivate"]
    change_form_template = "admin/apranova_payments/coupon/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Coupon]:
        return cast(CouponQuerySet, super().get_queryset(request)).with_redemptions_held()

    def get_fieldsets(self, request: HttpRequest, obj: Coupon | None = None) -> Any:
        limits = ["max_redemptions", "max_redemptions_per_user"]
        return [
            (None, {"fields": ["code", "description", "active", *(["created_at"] if obj else [])]}),
            (_("Discount"), {
                "fields": ["percent_off", ("amount_off", "currency")],
                "description": _("A percent off, or an amount off in one currency: one of the two."),
            }),
            (_("Validity"), {"fields": ["valid_from", "valid_until"]}),
            (_("Limits"), {"fields": [*limits, *(["redemptions"] if obj else [])]}),
        ]

    @admin.display(description=_("discount"))
    def discount(self, coupon: Coupon) -> str:
        return coupon.describe()

    @admin.display(description=_("validity"), ordering="valid_until")
    def validity(self, coupon: Coupon) -> str:
        start, end = coupon.valid_from, coupon.valid_until
        if start and end:
            return gettext("%(start)s to %(end)s") % {"start": _shown(start), "end": _shown(end)}
        if start:
            return gettext("from %(start)s") % {"start": _shown(start)}
        if end:
            return gettext("until %(end)s") % {"end": _shown(end)}
        return gettext("always")

    @admin.display(description=_("redemptions held"), ordering="redemptions_held")
    def redemptions(self, coupon: Coupon) -> str:
        limit = gettext("unlimited") if coupon.max_redemptions is None else coupon.max_redemptions
        return f"{coupon.redemptions_held} / {limit}"  # type: ignore[attr-defined] # get_queryset's annotation

    @admin.action(description=_("Activate selected coupons"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Coupon]) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description=_("Deactivate selected coupons"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Coupon]) -> None:
        self._set_active(request, queryset, False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Coupon], active: bool) -> None:
        """Only the coupons' ``active``: their payments, and the redemptions they hold, stay."""
        changed = list(queryset.exclude(active=active))
        Coupon.objects.filter(pk__in=[coupon.pk for coupon in changed]).update(active=active)
        for coupon in changed:
            self.log_change(request, coupon, [{"changed": {"fields": ["active"]}}])
        text = (ngettext("%(count)d coupon activated.", "%(count)d coupons activated.", len(changed)) if active
                else ngettext("%(count)d coupon deactivated.", "%(count)d coupons deactivated.", len(changed)))
        self.message_user(request, text % {"count": len(changed)})

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, set[str], list[Any]]:
        """Payments are never deleted here (nobody holds that permission), so Django would
        refuse a coupon with payments for a missing permission; say instead that its payments
        protect it, and list them."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, (set() if protected else perms_needed), protected

    def save_model(self, request: HttpRequest, obj: Coupon, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        warn_if_refused_as_free(request, obj)

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False,
        form_url: str = "", obj: Coupon | None = None,
    ) -> HttpResponse:
        if obj is not None and may_view(self.admin_site, request, Payment):
            context.update(redemption_context(obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


def redemption_context(coupon: Coupon) -> dict[str, Any]:
    """The newest ``REDEMPTIONS_SHOWN`` payments with ``coupon`` as rows for its page, with
    their count and a link to all of them in the payments list."""
    payments = coupon.payments.select_related("user").order_by("-created_at", "-pk")
    total = payments.count()
    rows = [{
        "payment": payment,
        "url": reverse("admin:apranova_payments_payment_change", args=[payment.pk]),
        "amount": shown_amount(payment),
        "discount": format_money(payment.discount, payment.currency),
        "held": payment.status != PaymentStatus.CANCELED,
    } for payment in payments[:REDEMPTIONS_SHOWN]]
    url = reverse("admin:apranova_payments_payment_changelist")
    return {
        "redemptions": rows,
        "redemptions_total": total,
        "redemptions_url": f"{url}?{urlencode({'coupon__id__exact': coupon.pk})}",
    }


def _shown(moment: Any) -> str:
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
