"""``Payment``: one PaymentIntent (or free payment) taken for a user, and its queryset."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, models, router
from django.db.models import F, ForeignObjectRel, Q, Sum
from django.utils.translation import gettext_lazy as _

from .. import money
from ..analytics import AnalyticsQuerySet
from .choices import DISPUTE_CLOSED_STATUSES, REFUND_OPEN_STATUSES, TERMINAL_STATUSES, DisputeStatus, PaymentStatus
from .coupons import Coupon

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def by_stripe_id(stripe_id: str) -> Q:
    """The payment of a PaymentIntent id or a Checkout Session id: ``pi_…`` and ``cs_…`` never
    collide, so one condition serves both."""
    return Q(stripe_payment_intent=stripe_id) | Q(stripe_checkout_session=stripe_id)


class PaymentQuerySet(AnalyticsQuerySet["Payment"]):
    """Filters and revenue figures: money is never summed across currencies. The staff
    analytics (``analytics()``, ``figures_by_currency()``, …) come from ``analytics.py``."""

    def for_user(self, user: AbstractBaseUser) -> PaymentQuerySet:
        return self.filter(user_id=user.pk)

    def succeeded(self) -> PaymentQuerySet:
        return self.filter(status=PaymentStatus.SUCCEEDED)

    def failed(self) -> PaymentQuerySet:
        return self.filter(status=PaymentStatus.FAILED)

    def locked(self, payment_intent: str, checkout_reference: uuid.UUID | None = None) -> Payment | None:
        """The payment of ``payment_intent`` (a PaymentIntent, or a Checkout Session id), or
        the Checkout payment of ``checkout_reference`` still waiting for its PaymentIntent,
        locked for the rest of the transaction (``SELECT … FOR UPDATE``), or ``None``: the one
        way the package finds and locks the payment an event or a refund is about."""
        found = by_stripe_id(payment_intent)
        if checkout_reference is not None:
            found |= Q(stripe_payment_intent__isnull=True, checkout_reference=checkout_reference)
        return self.select_for_update().filter(found).first()

    def open(self) -> PaymentQuerySet:
        """Payments that may still change: pending, processing or failed (retryable)."""
        return self.exclude(status__in=TERMINAL_STATUSES)

    def failed_count(self) -> int:
        return self.failed().count()

    def revenue_by_currency(self) -> dict[str, Decimal]:
        """``{"usd": Decimal("1998.00"), "inr": ...}``: the ``gross`` of the analytics, over the
        succeeded payments in this queryset (those with ``succeeded_at``). Only the currency and
        the sum are selected: the statement reads what the hand-written one would."""
        rows = self._paid().values_list("of_currency", "gross")
        return {currency: money.quantize_for_storage(gross) for currency, gross in rows}

    def revenue_by_period(self, period: str = "day") -> list[dict[str, Any]]:
        """Succeeded revenue per day or month and currency, oldest first: the ``gross`` of the
        analytics.

        Each row is ``{"period": date, "currency": "usd", "total": Decimal, "discounts": Decimal,
        "tax": Decimal, "count": int}`` (``discounts``: what coupons took off these payments, not
        in ``total``; ``tax``: the tax collected inside ``total``); the period is the day (or
        first of the month) the payment succeeded, in the host's ``TIME_ZONE``.
        """
        if period not in ("day", "month"):
            raise ValueError(f"period must be 'day' or 'month', not {period!r}")
        rows = self._paid(period).order_by("period", "of_currency")
        return [{"period": row["period"], "currency": row["of_currency"],
                 "total": money.quantize_for_storage(row["gross"]),
                 "discounts": money.quantize_for_storage(row["discounts"]),
                 "tax": money.quantize_for_storage(row["tax"]), "count": row["count"]} for row in rows]


class Payment(models.Model):
    """One Stripe PaymentIntent taken for a user. Amounts are major units (``Decimal``)."""

    Status = PaymentStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # payment records outlive accounts; anonymise instead
        related_name="payments",
        verbose_name=_("user"),
    )
    stripe_payment_intent = models.CharField(
        _("PaymentIntent id"), max_length=255, unique=True, null=True, blank=True
    )
    stripe_checkout_session = models.CharField(
        _("Checkout Session id"), max_length=255, unique=True, null=True, blank=True
    )
    checkout_reference = models.UUIDField(
        null=True, blank=True, unique=True, editable=False,
        help_text=_("Names a Checkout payment in its PaymentIntent's metadata, before Stripe creates it."),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    stripe_status = models.CharField(
        _("Stripe status"), max_length=40, blank=True, help_text=_("The PaymentIntent's own status.")
    )
    failure_code = models.CharField(_("failure code"), max_length=100, blank=True)
    failure_message = models.TextField(_("failure message"), blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    idempotency_key = models.CharField(  # noqa: DJ001 - NULL: no key, outside the unique constraint
        _("Idempotency-Key"), max_length=255, null=True, blank=True, editable=False
    )
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    succeeded_at = models.DateTimeField(_("succeeded"), null=True, blank=True)
    last_event_created = models.DateTimeField(
        _("last event created"), null=True, blank=True, editable=False,
        help_text=_("Creation time, at Stripe, of the newest webhook event applied."),
    )
    amount_refunded = models.DecimalField(
        _("amount refunded"), max_digits=14, decimal_places=2, default=Decimal("0.00"),
        help_text=_("The sum of the refunds that succeeded; never more than the amount."),
    )
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="payments", verbose_name=_("coupon"),
        help_text=_("The coupon the student applied; its redemption is held unless the payment is canceled."),
    )
    discount = models.DecimalField(
        _("discount"), max_digits=14, decimal_places=2, default=Decimal("0.00"),
        help_text=_("What the coupon took off the price; the amount is what is charged after it."),
    )
    amount_tax = models.DecimalField(
        _("tax"), max_digits=14, decimal_places=2, default=Decimal("0.00"),
        help_text=_("The tax Stripe Tax computed, part of the amount (0 without TAX)."),
    )
    tax_calculation = models.CharField(
        _("tax calculation"), max_length=255, blank=True, editable=False,
        help_text=_("The Stripe Tax calculation the PaymentIntent is linked to (taxcalc_…)."),
    )
    tax_breakdown = models.JSONField(
        _("tax breakdown"), default=list, blank=True, editable=False,
        help_text=_("Each tax in the amount: its amount (minor units), rate and jurisdiction."),
    )
    billing_address = models.JSONField(
        _("billing address"), default=dict, blank=True, editable=False,
        help_text=_("The address the tax was calculated for."),
    )
    card_brand = models.CharField(
        _("card brand"), max_length=20, blank=True, editable=False,
        help_text=_("The brand of the card paid with, once a receipt asked Stripe (no other card detail is kept)."),
    )
    card_last4 = models.CharField(_("card's last four digits"), max_length=4, blank=True, editable=False)
    receipt_number = models.PositiveBigIntegerField(
        _("receipt number"), null=True, blank=True, unique=True, editable=False,
        help_text=_("Numbered when the payment succeeds with SELLER set: gap-free, never reused."),
    )

    objects = PaymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        # Moving money is its own right: is_staff, or the right to edit payments, is not it.
        permissions = [("refund_payment", "Can refund payments")]
        indexes = [
            models.Index(fields=["user", "status"], name="apranova_pay_user_status_idx"),
            models.Index(fields=["user", "-created_at"], name="apranova_pay_user_created_idx"),
            models.Index(fields=["status", "updated_at"], name="apranova_pay_status_upd_idx"),
            # The analytics: a range of created_at, with every column its figures read.
            models.Index(
                fields=["created_at", "currency", "status", "amount", "amount_refunded", "failure_code"],
                name="apranova_pay_created_figs_idx",
            ),
            # The analytics' gross, discounts and tax: a range of succeeded_at, with the columns they sum.
            models.Index(fields=["status", "succeeded_at", "currency", "amount", "discount", "amount_tax"],
                         name="apranova_pay_paid_tax_figs_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="apranova_pay_user_idem_key_uniq",
            ),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="apranova_pay_refunded_within_amount",
            ),
            models.CheckConstraint(condition=Q(discount__gte=0), name="apranova_pay_discount_not_negative"),
            models.CheckConstraint(
                condition=Q(amount_tax__gte=0) & Q(amount_tax__lte=F("amount")), name="apranova_pay_tax_within_amount",
            ),
        ]

    def __str__(self) -> str:
        # The status in the active language: the admin shows this in titles and breadcrumbs.
        return f"{self.stripe_id} {money.format_amount(self.amount, self.currency)} ({self.get_status_display()})"

    @property
    def amount_minor(self) -> int:
        """The amount in Stripe's integer minor units for this currency (0 for a free
        payment)."""
        if self.amount == 0:
            return 0
        return money.to_minor_units(self.amount, self.currency)

    @property
    def stripe_id(self) -> str:
        """The PaymentIntent's id, or the Checkout Session's while Stripe has no PaymentIntent
        for it yet: how logs and pages name the payment."""
        return self.stripe_payment_intent or self.stripe_checkout_session or ""

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_free(self) -> bool:
        """A free payment (``ALLOW_FREE``): no PaymentIntent, stored succeeded at once."""
        return (self.stripe_payment_intent or "").startswith("free_")

    @property
    def is_fully_refunded(self) -> bool:
        """Every unit of the amount is refunded (never true of a free payment)."""
        return self.amount > 0 and self.amount_refunded == self.amount

    @property
    def amount_left_to_refund(self) -> Decimal:
        """What a new refund may still take: the amount less every refund that succeeded or
        may still succeed (pending, requires action). Read it under the row lock."""
        open_refunds = self.refunds.filter(status__in=REFUND_OPEN_STATUSES).aggregate(total=Sum("amount"))["total"]
        return self.amount - self.amount_refunded - (open_refunds or Decimal(0))

    @property
    def is_disputed(self) -> bool:
        """Whether a dispute stops refunds: one still open whose charge Stripe says cannot be
        refunded (``is_charge_refundable`` false), or one lost (the customer has the money
        back already). An inquiry, or a dispute won, does not."""
        blocking = Q(status=DisputeStatus.LOST) | (
            ~Q(status__in=DISPUTE_CLOSED_STATUSES) & Q(is_charge_refundable=False)
        )
        return self.disputes.filter(blocking).exists()


def insert_unless_exists(instance: models.Model, unique_field: str) -> bool:
    """Insert the unsaved ``instance`` in one statement (``INSERT … ON CONFLICT (unique_field)
    DO NOTHING RETURNING id``, PostgreSQL and SQLite) and set its primary key; ``False``, and
    nothing written, when a row with the same ``unique_field`` exists. Spares the ``SELECT``
    that would otherwise come first on the webhook path, without a savepoint or an error."""
    meta = instance._meta
    connection = connections[instance._state.db or router.db_for_write(type(instance), instance=instance)]
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]
    columns = [quote(str(field.column)) for field in fields]
    unique_column = quote(str(concrete_field(meta.get_field(unique_field)).column))
    pk_column = quote(str(meta.pk.column)) if meta.pk is not None else "id"
    # Only quoted identifiers are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({unique_column}) DO NOTHING RETURNING {pk_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return True



def concrete_field(field: models.Field[Any, Any] | ForeignObjectRel) -> models.Field[Any, Any]:
    assert isinstance(field, models.Field)
    return field
