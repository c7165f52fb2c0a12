"""A batch of single-use coupons (a scholarship, say): a form on its own admin page, behind a
button on the coupons list, for staff who may add coupons.

It creates N coupons alike but for their codes (``Coupon.objects.create_single_use``: one
redemption each, by one student, codes without characters that read alike), then shows the
codes with a CSV download. Saving a 100% coupon, one or a batch, warns when ``ALLOW_FREE`` is
off (``warn_if_refused_as_free``). The download carries the codes in a signed token naming the user,
so it is offered to the one who created them, for an hour.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.admin.models import ADDITION, LogEntry
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.forms import modelform_factory
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..conf import app_settings
from ..exports import coupon_rows, csv_lines
from ..models import Coupon

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _Base = ModelAdmin[Coupon]
else:
    _Base = object

#: The most coupons one batch creates.
MAX_BATCH = 1000
#: A prefix: letters, digits, ``-`` and ``_``, starting with a letter or digit. With its
#: separator and the random part it stays within a code's 40 characters.
PREFIX_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,23}", re.ASCII)
#: Seconds the CSV of a batch may be downloaded after it was created.
DOWNLOAD_MAX_AGE = 3600
_TOKEN_SALT = "django_apranova_payments.admin.coupon_batch"  # noqa: S105 - a salt, not a secret


class CouponBatchForm(forms.ModelForm):
    """How many coupons, their prefix, and the discount, dates and description they share,
    checked by ``Coupon.clean`` as the coupon form is."""

    count = forms.IntegerField(
        label=_("How many"), min_value=1, max_value=MAX_BATCH,
        help_text=_("Each coupon can be used once, by one student."),
    )
    code_prefix = forms.CharField(
        label=_("Prefix"), required=False, max_length=24,
        help_text=_("Optional, e.g. SCHOLAR: codes then read SCHOLAR-7KQ4M2XP."),
    )
    field_order = ["count", "code_prefix"]

    class Meta:
        model = Coupon
        fields = ["percent_off", "amount_off", "currency", "valid_from", "valid_until", "description"]

    def clean_code_prefix(self) -> str:
        prefix = self.cleaned_data["code_prefix"].strip().upper()
        if not prefix:
            return ""
        if not PREFIX_PATTERN.fullmatch(prefix):
            raise forms.ValidationError(
                _("Letters, digits, '-' or '_', starting with a letter or digit."), code="invalid"
            )
        return prefix if prefix.endswith(("-", "_")) else f"{prefix}-"


def warn_if_refused_as_free(request: HttpRequest, coupon: Coupon) -> None:
    """A 100% coupon makes a free payment only with ``ALLOW_FREE``: say so when it is off."""
    if coupon.is_full_discount and app_settings.ALLOW_FREE is not True:
        messages.warning(request, _(
            "%(code)s takes 100%% off, but free payments are not accepted (the ALLOW_FREE setting is off): "
            "students who apply it are refused. Turn ALLOW_FREE on, or give less than 100%% off."
        ) % {"code": coupon.code})


def download_token(user: Any, coupons: list[Coupon]) -> str:
    return signing.dumps({"user": user.pk, "codes": [c.code for c in coupons]}, salt=_TOKEN_SALT, compress=True)


def csv_response(coupons: list[Coupon]) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return HttpResponse(
        "".join(csv_lines(coupon_rows(coupons))), content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="coupons-{stamp}.csv"'},
    )


class CouponBatchMixin(_Base):
    """For ``CouponAdmin``: the batch page (``batch/``) and its CSV download (``batch/csv/``)."""

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("batch/", self.admin_site.admin_view(self.batch_view), name="apranova_payments_coupon_batch"),
            path("batch/csv/", self.admin_site.admin_view(require_POST(self.batch_csv_view)),
                 name="apranova_payments_coupon_batch_csv"),
        ]
        return [*own, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if self.has_add_permission(request):
            extra_context = {"apranova_batch_url": reverse("admin:apranova_payments_coupon_batch"),
                             **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def batch_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form_class = modelform_factory(
            Coupon, form=CouponBatchForm, formfield_callback=partial(self.formfield_for_dbfield, request=request)
        )
        form = form_class(request.POST or None)
        if not form.is_valid():
            return self._batch_page(request, {"form": form, "media": self.media + form.media})
        coupons = Coupon.objects.create_single_use(
            form.cleaned_data["count"], form.instance, form.cleaned_data["code_prefix"]
        )
        LogEntry.objects.log_actions(cast(int, request.user.pk), coupons, ADDITION, [{"added": {}}])
        self.message_user(request, ngettext(
            "%(count)d single-use coupon created.", "%(count)d single-use coupons created.", len(coupons)
        ) % {"count": len(coupons)}, messages.SUCCESS)
        warn_if_refused_as_free(request, coupons[0])
        return self._batch_page(request, {"coupons": coupons, "token": download_token(request.user, coupons)})

    def batch_csv_view(self, request: HttpRequest) -> HttpResponse:
        """The CSV of a batch just created, from the token its page carries."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            data = signing.loads(request.POST.get("token", ""), salt=_TOKEN_SALT, max_age=DOWNLOAD_MAX_AGE)
        except signing.SignatureExpired:
            return HttpResponseBadRequest(_("This download has expired: find the codes in the coupons list."))
        except signing.BadSignature:
            return HttpResponseBadRequest(_("This download is not valid."))
        if data.get("user") != request.user.pk:
            return HttpResponseBadRequest(_("This download is not valid."))
        return csv_response(Coupon.objects.of_codes(data["codes"]))

    def _batch_page(self, request: HttpRequest, context: dict[str, Any]) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": _("Create single-use codes"),
            "opts": self.opts,
            **context,
        }
        return TemplateResponse(request, "admin/apranova_payments/coupon/batch.html", context)
