"""Customers in the admin: each user's Stripe Customer with its saved cards, read live from
Stripe (kept a minute in the cache, brand, last four digits and expiry only), the deleted users'
Customers still waiting for Stripe, and the "Forget saved cards" action, which asks its own
permission, ``forget_payment_methods``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .. import exceptions
from ..gateway import get_gateway
from ..models import Customer
from ..permissions import FORGET_PAYMENT_METHODS
from ..services import customers
from .records import RecordAdmin, user_search_fields

#: Seconds the admin keeps a Customer's cards before asking Stripe again.
CARDS_CACHE_SECONDS = 60


def _cache_key(customer: Customer) -> str:
    return f"apranova_payments:admin:cards:{customer.stripe_customer}"


def cached_cards(customer: Customer) -> list[tuple[str, str, str]] | None:
    """The Customer's cards as ``(id, brand and last four, expiry)``, from the cache or
    Stripe; ``None`` when Stripe cannot tell (another mode's keys, Stripe away)."""
    if customer.livemode != get_gateway().livemode:
        return None
    cards: list[tuple[str, str, str]] | None = cache.get(_cache_key(customer))
    if cards is None:
        try:
            methods = get_gateway().list_payment_methods(customer.stripe_customer)
        except exceptions.GatewayError:
            return None
        cards = [(m.id, f"{m.brand} •••• {m.last4}", f"{m.exp_month:02d}/{m.exp_year}") for m in methods]
        cache.set(_cache_key(customer), cards, CARDS_CACHE_SECONDS)
    return cards


class CustomerAdmin(RecordAdmin):
    list_display = ["stripe_customer", "user", "livemode", "created_at"]
    list_filter = ["livemode"]
    list_select_related = ["user"]
    search_fields = ["=stripe_customer", *user_search_fields()]
    fields = readonly_fields = ("user", "stripe_customer", "livemode", "created_at", "saved_cards")
    actions = ["forget_cards"]

    def has_forget_payment_methods_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(FORGET_PAYMENT_METHODS)

    @admin.display(description=_("saved cards"))
    def saved_cards(self, customer: Customer) -> str:
        cards = cached_cards(customer)
        if cards is None:
            return str(_("Not shown: Stripe could not be asked with the current keys."))
        if not cards:
            return str(_("None"))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} ({}) {}</li>", (
            (label, expiry, card_id) for card_id, label, expiry in cards)))

    @admin.action(description=_("Forget the saved cards of the selected customers"),
                  permissions=["forget_payment_methods"])
    def forget_cards(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        forgotten = 0
        for customer in queryset:
            cache.delete(_cache_key(customer))
            try:
                forgotten += customers.forget_all_cards(customer)
            except exceptions.GatewayError as exc:
                self.message_user(request, format_html("{}: {}", customer.stripe_customer, exc.detail), messages.ERROR)
        self.message_user(request, _("%(count)d saved card(s) forgotten.") % {"count": forgotten})


class PendingCustomerDeletionAdmin(RecordAdmin):
    """Deleted users' Customers that Stripe could not be asked to delete yet."""

    list_display = ["stripe_customer", "livemode", "attempts", "created_at"]
    fields = readonly_fields = ("stripe_customer", "livemode", "attempts", "created_at")
