"""The payment admin's Analytics page and CSV export, added to ``PaymentAdmin`` by
``AnalyticsAdminMixin``.

The Analytics page shows ``Payment.objects.analytics()`` for a range chosen in a form: tiles
per currency (net, refunds, discounts, tax, success rate), a revenue chart per currency, succeeded against
failed payments, and the top failure codes. Its charts are server-side SVG (``charts``),
styled by a static stylesheet in the admin's own CSS variables: no script, no inline style,
nothing from another host, so it works offline, under a strict Content-Security-Policy and in
the admin's light and dark themes. It is for staff who may view payments and whom
``ANALYTICS_PERMISSION_CLASSES`` let in (by default, those who may view payments), as the API
endpoint is.

The export (a changelist button for the filtered list, and an action for a selection)
streams the payments as CSV a chunk of rows at a time, its cells safe from formula injection.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.request import Request

from .. import money
from ..analytics import INTERVALS, CurrencyFigures, RangeError, Report, ReportRange, report_time_zone
from ..api.views import AnalyticsView
from ..conf import app_settings
from ..exports import csv_lines, payment_rows
from ..models import Payment
from ..money_display import format_money, group_digits
from .charts import Bar, bar_chart

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _Base = ModelAdmin[Payment]
else:
    _Base = object

#: Failure codes listed on the page.
TOP_CODES = 10


def may_see_analytics(request: HttpRequest) -> bool:
    """Active staff whom every ``ANALYTICS_PERMISSION_CLASSES`` lets in, asked with a DRF
    request made from this one (as the ``analytics/`` endpoint asks them)."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    api_request = Request(request)
    api_request.user = user
    view = AnalyticsView()  # the permission classes may look at the view
    classes = app_settings.ANALYTICS_PERMISSION_CLASSES
    return all(permission().has_permission(api_request, view) for permission in classes)


class AnalyticsForm(forms.Form):
    """The range: ``from``, ``to`` and ``interval``, as the endpoint takes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        date_input = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["from"] = forms.DateField(label=_("From"), required=False, widget=date_input,
                                              input_formats=["%Y-%m-%d"])
        self.fields["to"] = forms.DateField(label=_("To"), required=False, widget=date_input,
                                            input_formats=["%Y-%m-%d"])
        self.fields["interval"] = forms.ChoiceField(
            label=_("By"), required=False, choices=[("day", _("day")), ("month", _("month"))])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                data["range"] = ReportRange.of(data.get("from"), data.get("to"), data.get("interval") or None)
            except RangeError as exc:
                self.add_error(exc.field, exc.message)
        return data


def export_response(payments: QuerySet[Any]) -> StreamingHttpResponse:
    """The payments as a CSV download, streamed: a chunk of rows is read, written and let go."""
    stamp = timezone.localtime(timezone.now(), report_time_zone()).strftime("%Y%m%d-%H%M%S")
    return StreamingHttpResponse(
        csv_lines(payment_rows(payments)), content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="payments-{stamp}.csv"'},
    )


class AnalyticsAdminMixin(_Base):
    """For ``PaymentAdmin``: the Analytics page, the export button and action."""

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("analytics/", self.admin_site.admin_view(self.analytics_view),
                 name="apranova_payments_payment_analytics"),
            path("export/", self.admin_site.admin_view(self.export_view), name="apranova_payments_payment_export"),
        ]
        return [*own, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        links: dict[str, str] = {}
        if may_see_analytics(request):
            links["apranova_analytics_url"] = reverse("admin:apranova_payments_payment_analytics")
        if self.has_view_permission(request):
            export = reverse("admin:apranova_payments_payment_export")
            links["apranova_export_url"] = f"{export}?{request.GET.urlencode()}" if request.GET else export
        return super().changelist_view(request, {**links, **(extra_context or {})})

    @admin.action(description=_("Export selected payments as CSV"), permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: Any) -> StreamingHttpResponse:
        return export_response(queryset.order_by("-created_at", "-pk"))

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The changelist's button: the payments the list shows (its filters, search and
        ordering, every page), as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:  # as the changelist itself answers a forged filter
            return HttpResponseRedirect(f"{reverse('admin:apranova_payments_payment_changelist')}?{ERROR_FLAG}=1")
        assert isinstance(changelist, ChangeList)
        return export_response(changelist.queryset)

    def analytics_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_view_permission(request) and may_see_analytics(request)):
            raise PermissionDenied
        form = AnalyticsForm(request.GET or None)
        if not form.is_bound:
            found: ReportRange | None = ReportRange.of()
        else:
            found = form.cleaned_data["range"] if form.is_valid() else None
        if found is not None:  # the form shows the range shown, its defaults filled in
            form = AnalyticsForm(initial={"from": found.date_from, "to": found.date_to, "interval": found.interval})
        if found is None:
            messages.error(request, _("The range cannot be shown: see the form below."))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Payment analytics"),
            "opts": self.opts,
            "form": form,
            **(page_context(Payment.objects.analytics(found.date_from, found.date_to, found.interval))
               if found is not None else {}),
        }
        return TemplateResponse(request, "admin/apranova_payments/analytics.html", context)


def page_context(report: Report) -> dict[str, Any]:
    """What the template shows of ``report``: tiles and a chart per currency, the outcome
    chart, the top failure codes, and a link to the payments of the range."""
    found = report.range
    changelist = reverse("admin:apranova_payments_payment_changelist")
    window = {"created_at__gte": found.date_from.isoformat(),
              "created_at__lt": (found.bounds()[1].date()).isoformat()}
    codes = report.failure_codes[:TOP_CODES]
    return {
        "report": report,
        "range_text": _range_text(found),
        "interval_label": _("day") if found.interval == "day" else _("month"),
        "time_zone": report_time_zone(),
        "payments_url": f"{changelist}?{urlencode(window)}",
        "currencies": [_currency(report, figures) for figures in report.currencies.values()],
        "outcome_chart": _outcome_chart(report),
        "failure_codes": [(item.code, item.count) for item in codes],
        "failure_most": codes[0].count if codes else 0,
        "failed_total": sum(figures.failed for figures in report.currencies.values()),
        "intervals": INTERVALS,
    }


def add_analytics_entry(site: admin.AdminSite) -> None:
    """An "Analytics" entry under Payments on ``site``'s index, app index and sidebar, for
    staff who may view payments and whom ``ANALYTICS_PERMISSION_CLASSES`` let in. The site's
    own ``get_app_list`` is wrapped on the instance, so it works on the default site (and a
    host's subclass of it) with no model, migration or permission of its own."""
    if getattr(site, "_apranova_analytics_entry", False):
        return
    plain = site.get_app_list

    def get_app_list(request: HttpRequest, app_label: str | None = None) -> list[Any]:
        app_list = plain(request, app_label)
        ours = next((app for app in app_list if app["app_label"] == Payment._meta.app_label), None)
        if ours is None or not site.is_registered(Payment):
            return app_list
        if not (site.get_model_admin(Payment).has_view_permission(request) and may_see_analytics(request)):
            return app_list
        after = next((i for i, m in enumerate(ours["models"]) if m["object_name"] == "Payment"), -1)
        ours["models"].insert(after + 1, {
            "model": Payment, "name": _("Analytics"), "object_name": "PaymentAnalytics",
            "perms": {"add": False, "change": False, "delete": False, "view": True},
            "admin_url": reverse(f"{site.name}:apranova_payments_payment_analytics", current_app=site.name),
            "add_url": None, "view_only": True,
        })
        return app_list

    site.get_app_list = get_app_list  # type: ignore[method-assign]
    site._apranova_analytics_entry = True  # type: ignore[attr-defined]


def _range_text(found: ReportRange) -> str:
    first, last = (formats.date_format(day, "DATE_FORMAT") for day in (found.date_from, found.date_to))
    return str(_("%(first)s to %(last)s") % {"first": first, "last": last})


def _currency(report: Report, figures: CurrencyFigures) -> dict[str, Any]:
    code = figures.currency
    rate = figures.success_rate
    return {
        "code": code,
        "figures": figures,
        "net": format_money(figures.net, code),
        "gross": format_money(figures.gross, code),
        "refunded": format_money(figures.refunded, code),
        "discounts": format_money(figures.discounts, code),
        "tax": format_money(figures.tax, code),
        "success_rate": None if rate is None else f"{rate:.1%}",
        "ended": figures.succeeded + figures.failed + figures.canceled,
        "chart": _revenue_chart(report, figures.currency),
    }


def _revenue_chart(report: Report, currency: str) -> SafeString:
    bars = [
        Bar(label=_period_label(row.period, report.range.interval),
            title=gettext("%(period)s: net %(net)s, refunded %(refunded)s, discounts %(discounts)s, "
                          "tax %(tax)s, %(succeeded)d succeeded") % {
                "period": _period_label(row.period, report.range.interval, full=True),
                "net": format_money(row.net, currency),
                "refunded": format_money(row.refunded, currency),
                "discounts": format_money(row.discounts, currency),
                "tax": format_money(row.tax, currency),
                "succeeded": row.succeeded,
            },
            # Refunds may be more than a period's gross (a refund of an earlier payment): the bar
            # is then the refunds alone, and its title gives the net below zero.
            segments=[(max(row.net, Decimal(0)), "net"), (row.refunded, "refunded")])
        for row in report.series_of(currency)
    ]
    return bar_chart(bars, chart_id=f"apranova-chart-{currency}",
                     label=(gettext("%(currency)s revenue by day: net and refunded") if report.range.interval == "day"
                            else gettext("%(currency)s revenue by month: net and refunded"))
                     % {"currency": currency.upper()},
                     tick_text=lambda value: _tick(value, currency), css_class="revenue")


def _outcome_chart(report: Report) -> SafeString:
    """Succeeded and failed payments per period: counts, so every currency together."""
    per_period: dict[date, tuple[int, int]] = {}
    for row in report.series:
        succeeded, failed = per_period.get(row.period, (0, 0))
        per_period[row.period] = (succeeded + row.succeeded, failed + row.failed)
    bars = [
        Bar(label=_period_label(period, report.range.interval),
            title=gettext("%(period)s: %(succeeded)d succeeded, %(failed)d failed") % {
                "period": _period_label(period, report.range.interval, full=True),
                "succeeded": succeeded, "failed": failed,
            },
            segments=[(succeeded, "succeeded"), (failed, "failed")])
        for period, (succeeded, failed) in sorted(per_period.items())
    ]
    return bar_chart(bars, chart_id="apranova-chart-outcomes",
                     label=(gettext("Succeeded and failed payments by day") if report.range.interval == "day"
                            else gettext("Succeeded and failed payments by month")),
                     tick_text=lambda value: f"{value.normalize():f}" if value == value.to_integral() else "",
                     css_class="outcomes")


def _period_label(period: date, interval: str, *, full: bool = False) -> str:
    if interval == "month":
        return formats.date_format(period, "YEAR_MONTH_FORMAT")
    return formats.date_format(period, "DATE_FORMAT" if full else "MONTH_DAY_FORMAT")


def _tick(value: Decimal, currency: str) -> str:
    """A grid line's amount, grouped as the tiles are: whole units when they are whole, else
    the currency's decimals."""
    if value == value.to_integral():
        return group_digits(f"{value.to_integral():f}")
    return group_digits(money.amount_text(value, currency))


__all__ = ["AnalyticsAdminMixin", "AnalyticsForm", "add_analytics_entry", "export_response", "may_see_analytics"]
