"""Refunds in the admin: read-only rows on the payment page and a list of their own, and
"Refund…": an action on selected payments and a button on a payment's page, both through one
confirmation page that refunds at Stripe with ``services.refund_payment``.

The page carries a signed one-time token naming the user and the payments shown; each
payment's idempotency key is made from it, so submitting the same page twice never refunds
twice, and a second submit after a failure retries only what failed.
"""

from __future__ import annotations

import logging
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from .. import exceptions, money, services
from ..gateway import get_gateway
from ..models import Payment, Refund, RefundReason
from ..money_display import format_money
from ..permissions import REFUND_PAYMENT
from .records import OfPaymentAdmin, RecordInline, shown_amount, user_search_fields

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _Base = ModelAdmin[Payment]
else:
    _Base = object

logger = logging.getLogger(__name__)


#: At most this many payments in one refund: each is a request to Stripe, inside one page load.
MAX_REFUNDS_AT_ONCE = 25
#: Seconds a refund confirmation page may be submitted after it was shown.
CONFIRMATION_MAX_AGE = 3600
_TOKEN_SALT = "django_apranova_payments.admin.refund"  # noqa: S105 - a salt, not a secret


class RefundForm(forms.Form):
    """The refund confirmation form. ``token`` is signed when the page is shown: it names
    the user and the payments shown, and carries a one-time nonce from which each payment's
    idempotency key is made, so submitting the same page twice never refunds twice."""

    amount = forms.CharField(
        label=_("Amount"), required=False, max_length=40,
        help_text=_("In the payment's currency, e.g. 10.00. Empty: all that is left."),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *RefundReason.choices], required=False)
    confirm = forms.BooleanField(label=_("Yes, refund at Stripe"), required=True)
    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, payments: list[Payment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.payments = user, payments
        if get_gateway().is_simulator:  # no money moves: the page says where the refund happens
            self.fields["confirm"].label = _("Yes, refund in the simulator (no money moves)")
        if len(payments) != 1:  # several payments: each is refunded in full
            del self.fields["amount"]

    @staticmethod
    def new_token(user: Any, payments: list[Payment]) -> str:
        data = {"user": user.pk, "payments": sorted(p.pk for p in payments), "nonce": secrets.token_urlsafe(18)}
        return signing.dumps(data, salt=_TOKEN_SALT)

    def clean_amount(self) -> Decimal | None:
        text = self.cleaned_data["amount"].strip()
        if not text:
            return None
        try:
            return money.parse_amount(text)
        except money.MoneyError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None

    def clean_token(self) -> str:
        try:
            data = signing.loads(self.cleaned_data["token"], salt=_TOKEN_SALT, max_age=CONFIRMATION_MAX_AGE)
        except signing.SignatureExpired:
            raise forms.ValidationError(_("This page has expired. Start again."), code="expired") from None
        except signing.BadSignature:
            raise forms.ValidationError(_("This page is not valid. Start again."), code="invalid") from None
        if data.get("user") != self.user.pk or data.get("payments") != sorted(p.pk for p in self.payments):
            raise forms.ValidationError(
                _("The selection is not the one this page was shown for. Start again."), code="changed"
            )
        return str(data["nonce"])


def refusal(payment: Payment) -> str:
    """Why the confirmation page expects a refund of ``payment`` to be refused ("" if not)."""
    if payment.is_free:
        return str(_("nothing to refund: free"))
    if payment.status != Payment.Status.SUCCEEDED:
        return str(_("not refundable: %(status)s") % {"status": payment.get_status_display().lower()})
    if payment.is_disputed:
        return str(_("not refundable: disputed"))
    if payment.amount_left_to_refund <= 0:
        return str(_("nothing left to refund"))
    return ""


def _detail_text(detail: Any) -> str:
    """DRF's error detail (``{"amount": ["…"]}`` or a string) as one line."""
    if isinstance(detail, dict):
        return " ".join(f"{name}: {_detail_text(value)}" for name, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_detail_text(item) for item in detail)
    return str(detail)


def _errors_of(detail: Any, field: str) -> Any:
    """The errors a ``ValidationError`` holds for ``field``, or None. Its detail is a list when
    the error names no field, and a dict keyed by field name (or by index) when it does."""
    if not isinstance(detail, dict):
        return None
    return next((errors for name, errors in detail.items() if name == field), None)


class RefundActionMixin(_Base):
    """For the payment admin: the "Refund selected payments…" action, the ``refund/`` URL of
    a payment's page, the confirmation page both use, and the "refunded" column."""

    @admin.display(description=_("refunded"), ordering="amount_refunded")
    def display_refunded(self, payment: Payment) -> str:
        if not payment.amount_refunded:
            return "—"
        shown = format_money(payment.amount_refunded, payment.currency)
        if not payment.is_fully_refunded:
            return shown
        everything = _("all")  # not inside the f-string: makemessages would not find it there
        return f"{shown} ({everything})"

    def get_urls(self) -> list[URLPattern]:
        refund = path(
            "<path:object_id>/refund/", self.admin_site.admin_view(self.refund_view),
            name="apranova_payments_payment_refund",
        )
        return [refund, *super().get_urls()]

    def has_refund_permission(self, request: HttpRequest) -> bool:
        """``refund_payment`` ("Can refund payments"), as the refund endpoint asks by default:
        the right to change payments is not the right to move money."""
        return request.user.has_perm(REFUND_PAYMENT)

    @admin.action(description=_("Refund selected payments…"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]) -> HttpResponse | None:
        payments = list(queryset.order_by("pk")[: MAX_REFUNDS_AT_ONCE + 1])
        if not payments:  # ids of payments that do not exist, or not in the filtered list
            self.message_user(request, _("None of the selected payments is in the list. Nothing was refunded."),
                              messages.ERROR)
            return None
        if len(payments) > MAX_REFUNDS_AT_ONCE:
            self.message_user(request, _("Refund at most %(max)d payments at once. Nothing was refunded.")
                              % {"max": MAX_REFUNDS_AT_ONCE}, messages.ERROR)
            return None
        return self._refund_page(request, payments, as_action=True, done_url=request.get_full_path())

    def refund_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The payment page's "Refund…" button: the same confirmation, for one payment."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        payment = self.get_object(request, unquote(object_id))
        if payment is None:
            raise Http404
        done_url = reverse("admin:apranova_payments_payment_change", args=[payment.pk])
        return self._refund_page(request, [payment], as_action=False, done_url=done_url)

    def _refund_page(self, request: HttpRequest, payments: list[Payment], *, as_action: bool,
                     done_url: str) -> HttpResponse:
        """Show the confirmation (GET, or the action's first POST); refund on its submit, then
        go back when every refund was made, or show the page again (the same token: a second
        submit retries what failed and replays what was made) when one was not."""
        applying = request.method == "POST" and "apply" in request.POST
        single = payments[0] if len(payments) == 1 else None
        initial = {"token": RefundForm.new_token(request.user, payments)}
        if single is not None and single.amount_left_to_refund > 0:
            initial["amount"] = format(single.amount_left_to_refund, f".{money.decimal_places(single.currency)}f")
        form = RefundForm(request.POST if applying else None, initial=initial, user=request.user, payments=payments)
        if applying and form.is_valid() and self._refund_each(request, payments, form):
            return HttpResponseRedirect(done_url)
        rows = [(p, shown_amount(p), self.display_refunded(p), refusal(p)) for p in payments]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund payments") if single is None else _("Refund payment"),
            "opts": self.opts,
            "form": form,
            "rows": rows,
            # Nothing to refund (fully refunded, free, failed, disputed): a message, no form.
            "refundable": any(not refused for *_shown, refused in rows),
            "simulator": get_gateway().is_simulator,
            "single": single,
            "as_action": as_action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": done_url,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/apranova_payments/refund_confirmation.html", context)

    def _refund_each(self, request: HttpRequest, payments: list[Payment], form: RefundForm) -> bool:
        """Refund each payment, with a message for each; whether all were refunded."""
        data = form.cleaned_data
        all_made = True
        for payment in payments:
            key = f"admin-refund-{data['token']}-{payment.pk}"
            try:
                created = services.refund_payment(
                    payment, data.get("amount"), data["reason"], requested_by=request.user, idempotency_key=key
                )
            except Exception as exc:  # every payment gets its line, whatever happened to the others
                all_made = False
                self._refund_failed(request, payment, form, exc)
                continue
            refund = created.refund
            which = f"({refund.stripe_refund}, {refund.get_status_display().lower()})"
            shown = f"{shown_amount(refund)} {which}"
            if created.replayed:
                text = _("Already refunded %(payment)s from this page: %(refund)s. Nothing was refunded twice.")
            else:
                text = _("Refunded %(payment)s: %(refund)s.")
                # The history keeps machine text: the same in every language, as it was written.
                self.log_change(request, payment, f"Refunded {money.format_amount(refund.amount, refund.currency)} "
                                                  f"{which}.")
            self.message_user(request, text % {"payment": payment.stripe_payment_intent, "refund": shown},
                              messages.SUCCESS)
        return all_made

    def _refund_failed(self, request: HttpRequest, payment: Payment, form: RefundForm, exc: Exception) -> None:
        if isinstance(exc, ValidationError):
            text = _detail_text(exc.detail)
            amount_errors = _errors_of(exc.detail, "amount")
            if "amount" in form.fields and amount_errors is not None:
                form.add_error("amount", _detail_text(amount_errors))
        elif isinstance(exc, exceptions.IdempotencyConflict):
            text = str(_("this page was already used for another refund of it. Start again."))
        elif isinstance(exc, exceptions.PaymentsError):
            text = str(exc)  # the error's fixed, client-safe message
        else:
            logger.exception("Refund of payment %s from the admin failed", payment.pk)
            text = str(_("the refund failed on the server (the error is in the server log). "
                         "Check the payment's refunds before trying again."))
        # Messages start with a word: the admin capitalises the first letter of each.
        self.message_user(request, _("Not refunded %(payment)s: %(why)s") % {
            "payment": payment.stripe_payment_intent, "why": text}, messages.ERROR)


# ---------------------------------------------------------------------------------------
# The refunds themselves: inline on the payment page, and a list of their own


def _reason(refund: Refund) -> str:
    """Our reasons by their label; Stripe's own as Stripe spells them."""
    labels = dict(RefundReason.choices)
    return str(labels.get(refund.reason, refund.reason or "—"))


class MadeInFilter(admin.SimpleListFilter):
    title = _("made")
    parameter_name = "made"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("here", _("here (API, admin or host code)")), ("stripe", _("in Stripe (no requester)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("here", "stripe"):
            return queryset.filter(requested_by__isnull=self.value() == "stripe")
        return queryset


class RefundInline(RecordInline):
    model = Refund
    fields = readonly_fields = (
        "stripe_refund", "display_amount", "status", "display_reason", "failure_reason", "requested_by", "created_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("requested_by")

    @admin.display(description=_("reason"))
    def display_reason(self, refund: Refund) -> str:
        return _reason(refund)


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
        return ["=stripe_refund", "=payment__stripe_payment_intent", *user_search_fields("requested_by")]

    @admin.display(description=_("reason"), ordering="reason")
    def display_reason(self, refund: Refund) -> str:
        return _reason(refund)

    @admin.display(description=_("requested by"), ordering="requested_by")
    def requester(self, refund: Refund) -> str:
        return str(refund.requested_by) if refund.requested_by is not None else str(_("— (made in Stripe)"))
