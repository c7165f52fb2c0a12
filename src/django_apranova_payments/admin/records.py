"""What every admin of the package shares: records nobody adds, edits or deletes by hand,
their read-only rows on the payment page, the payment column of refunds and disputes, and
amounts shown with their currency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import Dispute, Payment, Refund
from ..money_display import format_money

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin

    _Base = ModelAdmin[Any]
else:
    _Base = object


def user_search_fields(prefix: str = "user") -> list[str]:
    """Search fields for the user at ``prefix``: its username and e-mail, where it has them."""
    user_model = get_user_model()
    names = {user_model.USERNAME_FIELD, getattr(user_model, "EMAIL_FIELD", "email")}
    field_names = {f.name for f in user_model._meta.get_fields()}
    return [f"{prefix}__{name}" for name in sorted(names) if name in field_names]


def may_view(site: admin.AdminSite, request: HttpRequest, model: type[Model]) -> bool:
    """Whether ``model`` has an admin on ``site`` whose pages ``request``'s user may view."""
    return site.is_registered(model) and site.get_model_admin(model).has_view_permission(request)


def shown_amount(obj: Payment | Refund | Dispute) -> str:
    return format_money(obj.amount, obj.currency)


class ValidSelectionMixin(_Base):
    """An admin whose actions refuse a forged selection ("abc" for an id) with a message,
    not a 500 from the database."""

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                self.opts.pk.to_python(value)
        except DjangoValidationError:
            self.message_user(request, _("The selection is not valid. Nothing was done."), messages.ERROR)
            return None
        return super().response_action(request, queryset, *args, **kwargs)


class RecordAdmin(ValidSelectionMixin, admin.ModelAdmin):
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
        return may_view(self.admin_site, request, model)



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
        return shown_amount(obj)


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
        return obj.payment.stripe_id

    @admin.display(description=_("amount"), ordering="amount")
    def display_amount(self, obj: Refund | Dispute) -> str:
        return shown_amount(obj)
