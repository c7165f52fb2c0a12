"""What we store: payments, their refunds and disputes, and the verified webhook events
that moved them."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.models import Count, F, ForeignObjectRel, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import money
from .analytics import AnalyticsQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


TERMINAL_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED})


class PaymentQuerySet(AnalyticsQuerySet["Payment"]):
    """Filters and revenue figures: money is never summed across currencies. The staff
    analytics (``analytics()``, ``figures_by_currency()``, …) come from ``analytics.py``."""

    def for_user(self, user: AbstractBaseUser) -> PaymentQuerySet:
        return self.filter(user_id=user.pk)

    def succeeded(self) -> PaymentQuerySet:
        return self.filter(status=PaymentStatus.SUCCEEDED)

    def failed(self) -> PaymentQuerySet:
        return self.filter(status=PaymentStatus.FAILED)

    def open(self) -> PaymentQuerySet:
        """Payments that may still change: pending, processing or failed (retryable)."""
        return self.exclude(status__in=TERMINAL_STATUSES)

    def failed_count(self) -> int:
        return self.failed().count()

    def revenue_by_currency(self) -> dict[str, Decimal]:
        """``{"usd": Decimal("1998.00"), "inr": ...}``: the ``gross`` of the analytics, over the
        succeeded payments in this queryset (those with ``succeeded_at``)."""
        return {row["of_currency"]: money.quantize_for_storage(row["gross"]) for row in self._paid()}

    def revenue_by_period(self, period: str = "day") -> list[dict[str, Any]]:
        """Succeeded revenue per day or month and currency, oldest first: the ``gross`` of the
        analytics.

        Each row is ``{"period": date, "currency": "usd", "total": Decimal, "count": int}``;
        the period is the day (or first of the month) the payment succeeded, in the host's
        ``TIME_ZONE``.
        """
        if period not in ("day", "month"):
            raise ValueError(f"period must be 'day' or 'month', not {period!r}")
        rows = self._paid(period).order_by("period", "of_currency")
        return [{"period": row["period"], "currency": row["of_currency"],
                 "total": money.quantize_for_storage(row["gross"]), "count": row["count"]} for row in rows]


class Payment(models.Model):
    """One Stripe PaymentIntent taken for a user. Amounts are major units (``Decimal``)."""

    Status = PaymentStatus

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # payment records outlive accounts; anonymise instead
        related_name="payments",
        verbose_name=_("user"),
    )
    stripe_payment_intent = models.CharField(_("PaymentIntent id"), max_length=255, unique=True)
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
            # The analytics' gross: a range of succeeded_at, with the columns it sums.
            models.Index(fields=["status", "succeeded_at", "currency", "amount"], name="apranova_pay_paid_figs_idx"),
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
        ]

    def __str__(self) -> str:
        return f"{self.stripe_payment_intent} {money.format_amount(self.amount, self.currency)} ({self.status})"

    @property
    def amount_minor(self) -> int:
        """The amount in Stripe's integer minor units for this currency (0 for a free
        payment)."""
        if self.amount == 0:
            return 0
        return money.to_minor_units(self.amount, self.currency)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_free(self) -> bool:
        """A free payment (``ALLOW_FREE``): no PaymentIntent, stored succeeded at once."""
        return self.stripe_payment_intent.startswith("free_")

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
    unique_column = quote(str(_concrete_field(meta.get_field(unique_field)).column))
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


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Requires action")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


#: Refunds that still hold part of the payment: they may yet succeed.
REFUND_OPEN_STATUSES = (RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION)


class RefundReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate")
    FRAUDULENT = "fraudulent", _("Fraudulent")
    REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by customer")


class Refund(models.Model):
    """One Stripe Refund of a payment, whoever made it (the API, the admin, host code or
    Stripe's Dashboard). Amounts are major units in the payment's currency."""

    Status = RefundStatus
    Reason = RefundReason

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment")
    )
    stripe_refund = models.CharField(_("Refund id"), max_length=255, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices)
    reason = models.CharField(
        _("reason"), max_length=40, blank=True,
        help_text=_("duplicate, fraudulent, requested_by_customer, or Stripe's own."),
    )
    failure_reason = models.CharField(_("failure reason"), max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("requested by"),
        help_text=_("Who asked through the API or the admin; empty for refunds made elsewhere."),
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    idempotency_key = models.CharField(  # noqa: DJ001 - NULL: no key, outside the unique constraint
        _("Idempotency-Key"), max_length=255, null=True, blank=True, editable=False
    )
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    last_event_created = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        indexes = [
            # The analytics' refunded: a range of created_at of the succeeded refunds.
            models.Index(fields=["status", "created_at", "payment", "amount"], name="apranova_ref_created_figs_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="apranova_refund_user_idem_key_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_refund} {money.format_amount(self.amount, self.currency)} ({self.status})"


class DisputeStatus(models.TextChoices):
    WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs response")
    WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
    WARNING_CLOSED = "warning_closed", _("Inquiry: closed")
    NEEDS_RESPONSE = "needs_response", _("Needs response")
    UNDER_REVIEW = "under_review", _("Under review")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    PREVENTED = "prevented", _("Prevented")
    APPEAL_NEEDS_RESPONSE = "appeal_needs_response", _("Appeal: needs response")
    APPEAL_UNDER_REVIEW = "appeal_under_review", _("Appeal: under review")


#: Where a dispute ends (until an appeal moves a lost one on). ``prevented``: the chargeback
#: was stopped before it was filed.
DISPUTE_CLOSED_STATUSES = (
    DisputeStatus.WARNING_CLOSED, DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.PREVENTED,
)


class Dispute(models.Model):
    """A Stripe Dispute (a chargeback, or an inquiry that may become one) of a payment."""

    Status = DisputeStatus

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("payment")
    )
    stripe_dispute = models.CharField(_("Dispute id"), max_length=255, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=DisputeStatus.choices)
    is_charge_refundable = models.BooleanField(
        _("charge refundable"), default=False,
        help_text=_("Stripe's word on whether the payment may still be refunded."),
    )
    evidence_due_by = models.DateTimeField(_("evidence due by"), null=True, blank=True)
    last_event_created = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")

    def __str__(self) -> str:
        return f"{self.stripe_dispute} {money.format_amount(self.amount, self.currency)} ({self.status})"


class WebhookEventOutcome(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Ignored")
    FAILED = "failed", _("Failed")


#: Oldest first, as Stripe created them: the order stored events are processed again in.
REPLAY_ORDER = ("stripe_created", "received_at", "pk")
#: Outcomes after which an event is never processed again by a delivery (only by a replay).
DONE_OUTCOMES = (WebhookEventOutcome.PROCESSED, WebhookEventOutcome.IGNORED)


def event_created_at(event: Mapping[str, Any] | None) -> datetime | None:
    """The event's ``created`` (Unix seconds) as an aware datetime; ``None`` when absent or
    not a plausible timestamp."""
    created = event.get("created") if event else None
    if not isinstance(created, int) or isinstance(created, bool) or not 0 <= created < 2**33:
        return None
    return datetime.fromtimestamp(created, tz=UTC)


class Claimed(NamedTuple):
    """A claimed event's id; with ``locked`` (``WebhookEventQuerySet.claim_locking``), its
    PaymentIntent's payment, locked for the claiming transaction (``None``: there is none)."""

    pk: int
    payment: Payment | None = None
    locked: bool = False


class WebhookEventQuerySet(models.QuerySet["WebhookEvent"]):
    """The event store's writes, each one SQL statement: ``claim`` and ``record_failure``
    upsert on Stripe's event id (``INSERT … ON CONFLICT (stripe_id) DO UPDATE … WHERE …
    RETURNING id``, PostgreSQL and SQLite), so the same event on many servers is decided by
    the database, not by a read followed by a write."""

    def claim(self, event: Mapping[str, Any]) -> int | None:
        """Store a verified ``event`` as processed, in the caller's transaction (the one that
        processes it): the row is only seen, as processed, once that transaction commits. A
        concurrent delivery of the same event waits on the row, then finds it done
        (``None``); a new, failed or interrupted event is (re)claimed and returns its id."""
        return self._returned_id(*self._claim_sql(event))

    def claim_locking(self, event: Mapping[str, Any], payment_intent: str) -> Claimed | None:
        """``claim``, and lock the payment of ``payment_intent`` for the same transaction,
        in one round trip on PostgreSQL (``_claim_and_lock``). ``None`` for a duplicate; the
        payment is ``None`` when there is none. Other databases run the two statements."""
        if not self._can_lock_in_claim():
            pk = self.claim(event)
            return None if pk is None else Claimed(pk, self._locked_payment(payment_intent), locked=True)
        claim_sql, params = self._claim_sql(event)
        claimed = self._claim_and_lock(claim_sql, [*params, payment_intent], "(SELECT %s FROM claimed)", ["id"])
        if claimed is None:
            return None
        (pk,), payment = claimed
        return Claimed(int(pk), payment, locked=True)

    def _claim_and_lock(
        self, claim_sql: str, params: list[Any], payment_intent_sql: str, returned: list[str]
    ) -> tuple[tuple[Any, ...], Payment | None] | None:
        """Run ``claim_sql`` (an ``INSERT`` or ``UPDATE … RETURNING`` the columns ``returned``)
        and lock the payment whose PaymentIntent ``payment_intent_sql`` names, in one
        statement (PostgreSQL)::

            WITH claimed AS (<claim_sql>),
                 locked AS MATERIALIZED (SELECT <payment> … WHERE stripe_payment_intent =
                                         <payment_intent_sql, a subquery of claimed> FOR UPDATE)
            SELECT claimed.<returned>, locked.* FROM claimed LEFT JOIN locked ON TRUE

        The PaymentIntent is a scalar subquery of ``claimed``: PostgreSQL has to run the claim
        (and wait there on a concurrent claim of the same event) before it can look for the
        payment, and when nothing was claimed (a duplicate) it is ``NULL`` and nothing is
        locked. The same locks, in the same order (event, then payment), as the two statements
        it replaces: the same exactly-once guarantee, one round trip fewer. ``None`` when
        nothing was claimed; else the ``returned`` values and the payment as the ORM loads it
        (``None``: no payment, or none to lock)."""
        connection = connections[self.db]
        quote = connection.ops.quote_name
        fields = Payment._meta.concrete_fields
        payments = quote(Payment._meta.db_table)
        columns = ", ".join(f"{payments}.{quote(str(f.column))}" for f in fields)
        sql = (
            f"WITH claimed AS ({claim_sql}), locked AS MATERIALIZED ("  # noqa: S608 - identifiers only
            f"SELECT {columns} FROM {payments} "
            f"WHERE {payments}.{quote('stripe_payment_intent')} = {payment_intent_sql} "
            f"FOR UPDATE OF {payments}) "
            f"SELECT {', '.join(f'claimed.{quote(name)}' for name in returned)}, locked.* "
            f"FROM claimed LEFT JOIN locked ON TRUE"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        claimed, values = tuple(row[:len(returned)]), list(row[len(returned):])
        if values[0] is None:  # the payment's id: no payment
            return claimed, None
        compiler = Payment.objects.using(self.db).none().query.get_compiler(self.db)
        converters = compiler.get_converters([f.get_col(Payment._meta.db_table) for f in fields])
        if converters:
            values = next(iter(compiler.apply_converters([values], converters)))
        return claimed, Payment.from_db(self.db, [f.attname for f in fields], values)

    def _can_lock_in_claim(self) -> bool:
        """Whether one statement can claim an event and lock a payment: PostgreSQL, with the
        payments written to the same database as the events."""
        return connections[self.db].vendor == "postgresql" and router.db_for_write(Payment) == self.db

    @staticmethod
    def _locked_payment(payment_intent: str) -> Payment | None:
        """The payment of ``payment_intent``, locked by a statement of its own."""
        return Payment.objects.select_for_update().filter(stripe_payment_intent=payment_intent).first()

    def record_failure(self, event: Mapping[str, Any], error: str) -> None:
        """Keep the audit row of a failed attempt (whose transaction rolled back) in a
        transaction of its own, without overwriting a concurrent successful attempt."""
        # Mutation: using=None is equivalent while the tests have one database alias.
        with transaction.atomic(using=self.db):  # pragma: no mutate (equivalent, see above)
            self._upsert(
                event,
                {"outcome": WebhookEventOutcome.FAILED, "error": error[:10_000], "note": "", "attempts": 1},
                # Mutation: SQLite folds the case of quoted column names; PostgreSQL runs refuse "OUTCOME".
                update=("outcome", "error"),  # pragma: no mutate (equivalent on SQLite, see above)
            )

    def finish(self, pk: int, outcome: str, note: str) -> None:
        """Set the outcome of a claimed event (ignored, or processed with a note)."""
        self.filter(pk=pk).update(outcome=outcome, note=note[:255], error="", processed_at=timezone.now())

    # -- task mode (WEBHOOK_PROCESSING = "task") ---------------------------------------------

    def receive(self, event: Mapping[str, Any]) -> int | None:
        """Store a verified ``event`` as ``received`` (one statement when it is new) and
        return its id for the task to apply; the id of the stored row when it is still
        ``received`` or ``failed`` (a redelivery enqueues it again); ``None`` when it is done.

        ``INSERT … SELECT … WHERE NOT EXISTS``: a redelivery never tries the insert, so it
        does not wait on the row lock of a worker applying the same event right now."""
        quote = connections[self.db].ops.quote_name
        table = quote(self.model._meta.db_table)
        values = {**_event_columns(event), "outcome": WebhookEventOutcome.RECEIVED, "error": "", "note": "",
                  "attempts": 0}
        sql = (
            f"INSERT INTO {table} ({', '.join(quote(name) for name in values)}) "  # noqa: S608
            f"SELECT {', '.join(['%s'] * len(values))} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {quote('stripe_id')} = %s) "
            f"ON CONFLICT ({quote('stripe_id')}) DO NOTHING RETURNING {quote('id')}"
        )
        pk = self._returned_id(sql, [*self._prepared(values), event["id"]])
        if pk is not None:
            return pk
        stored = self.filter(stripe_id=event["id"]).values_list("pk", "outcome").first()
        if stored is None or stored[1] in DONE_OUTCOMES:
            return None
        return int(stored[0])

    def claim_stored(
        self, pk: int, *, skip_locked: bool = False, lock_payment_of: Collection[str] = ()
    ) -> tuple[dict[str, Any], Claimed] | None:
        """Claim a stored event that is not done yet, in the caller's transaction (the one
        that applies it): mark it processed, count the attempt and return its payload. A
        worker applying the same event at the same moment waits on the row, then finds it
        done (``None``). ``skip_locked`` (PostgreSQL) returns ``None`` at once for a row
        another transaction holds, so many sweeps can run side by side.

        When the event's type is in ``lock_payment_of`` (the PaymentIntent events), the
        payment of its ``object_id`` is locked too, on PostgreSQL in the same statement
        (``_claim_and_lock``); the ``Claimed`` says so (``locked``) and carries it."""
        connection = connections[self.db]
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        done = ", ".join(f"'{outcome}'" for outcome in DONE_OUTCOMES)
        which = f"{quote('id')} = %s AND {quote('outcome')} NOT IN ({done})"
        if connection.features.has_select_for_update_skip_locked and skip_locked:
            which = f"{quote('id')} = (SELECT {quote('id')} FROM {table} WHERE {which} FOR UPDATE SKIP LOCKED)"  # noqa: S608
        field = _concrete_field(self.model._meta.get_field("processed_at"))
        sql = (
            f"UPDATE {table} SET {quote('outcome')} = %s, {quote('processed_at')} = %s, "  # noqa: S608
            f"{quote('error')} = '', {quote('note')} = '', {quote('attempts')} = {quote('attempts')} + 1 "
            f"WHERE {which} RETURNING {quote('payload')}, {quote('type')}, {quote('object_id')}"
        )
        params = [WebhookEventOutcome.PROCESSED, field.get_db_prep_save(timezone.now(), connection), pk]
        lock_types = sorted(lock_payment_of)
        if lock_types and self._can_lock_in_claim():
            placeholders = ", ".join(["%s"] * len(lock_types))
            intent_sql = f"(SELECT {quote('object_id')} FROM claimed WHERE {quote('type')} IN ({placeholders}))"  # noqa: S608
            claimed = self._claim_and_lock(sql, [*params, *lock_types], intent_sql, ["payload", "type"])
            if claimed is None:
                return None
            (payload, event_type), payment = claimed
            return _loaded(payload), Claimed(pk, payment, locked=event_type in lock_types)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        payload, event_type, object_id = row
        if event_type not in lock_types:
            return _loaded(payload), Claimed(pk)
        return _loaded(payload), Claimed(pk, self._locked_payment(object_id), locked=True)

    def fail(self, pk: int, error: str) -> int | None:
        """Record a failed attempt of a stored event (whose transaction rolled back) in a
        transaction of its own; its attempts so far, or ``None`` when a concurrent attempt
        finished it meanwhile."""
        with transaction.atomic(using=self.db):
            updated = self.filter(pk=pk).exclude(outcome__in=DONE_OUTCOMES).update(
                outcome=WebhookEventOutcome.FAILED, error=error[:10_000], note="", attempts=F("attempts") + 1,
            )
            if not updated:
                return None
            return int(self.filter(pk=pk).values_list("attempts", flat=True).get())

    def queue_figures(self) -> dict[str, Any]:
        """What the admin shows above the event list (task mode's queue): ``waiting``, the
        events still ``received``; ``oldest``, when the oldest of them was received (the
        queue lag), or ``None``; ``counts``, (label, count) of each outcome, in choice order."""
        counts = dict(self.order_by().values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n"))
        oldest = self.waiting().aggregate(oldest=Min("received_at"))["oldest"]
        return {"waiting": counts.get(WebhookEventOutcome.RECEIVED, 0), "oldest": oldest,
                "counts": [(label, counts.get(value, 0)) for value, label in WebhookEventOutcome.choices]}

    def waiting(self, older_than: datetime | None = None) -> WebhookEventQuerySet:
        """Events still ``received`` (stored, not yet applied), received before
        ``older_than`` when given, oldest first."""
        events = self.filter(outcome=WebhookEventOutcome.RECEIVED)
        if older_than is not None:
            events = events.filter(received_at__lt=older_than)
        return events.order_by(*REPLAY_ORDER)

    def _claim_sql(self, event: Mapping[str, Any]) -> tuple[str, list[Any]]:
        return self._upsert_sql(
            event,
            {"outcome": WebhookEventOutcome.PROCESSED, "processed_at": timezone.now(), "error": "", "note": "",
             "attempts": 1},
            update=("outcome", "processed_at", "error"),
        )

    def _upsert(self, event: Mapping[str, Any], extra: Mapping[str, Any], update: tuple[str, ...]) -> int | None:
        """The id of the row inserted, or of the existing one updated (``update`` from the new
        values, one more attempt) because it was not done yet; ``None`` when it was done."""
        return self._returned_id(*self._upsert_sql(event, extra, update))

    def _prepared(self, values: Mapping[str, Any]) -> list[Any]:
        """``values`` (field name: value) as the database takes them, in order."""
        connection = connections[self.db]
        meta = self.model._meta
        return [
            _concrete_field(meta.get_field(name)).get_db_prep_save(value, connection) for name, value in values.items()
        ]

    def _returned_id(self, sql: str, params: list[Any]) -> int | None:
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return int(row[0]) if row else None

    def _upsert_sql(
        self, event: Mapping[str, Any], extra: Mapping[str, Any], update: tuple[str, ...]
    ) -> tuple[str, list[Any]]:
        """``INSERT … ON CONFLICT (stripe_id) DO UPDATE … WHERE <not done> RETURNING id``."""
        quote = connections[self.db].ops.quote_name
        table = quote(self.model._meta.db_table)
        values = {**_event_columns(event), **extra}
        params = self._prepared(values)
        done = ", ".join(f"'{outcome}'" for outcome in DONE_OUTCOMES)
        assignments = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in update)
        # Only quoted identifiers and fixed SQL are formatted in; every value is a parameter.
        sql = (
            f"INSERT INTO {table} ({', '.join(quote(name) for name in values)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(values))}) "
            f"ON CONFLICT ({quote('stripe_id')}) DO UPDATE SET {assignments}, "
            f"{quote('attempts')} = {table}.{quote('attempts')} + 1 "
            f"WHERE {table}.{quote('outcome')} NOT IN ({done}) "
            f"RETURNING {quote('id')}"
        )
        return sql, params


def _loaded(payload: Any) -> dict[str, Any]:
    """A ``jsonb`` value read by a raw query: text, or already decoded by the driver."""
    return json.loads(payload) if isinstance(payload, str | bytes) else dict(payload)


def _concrete_field(field: models.Field[Any, Any] | ForeignObjectRel) -> models.Field[Any, Any]:
    assert isinstance(field, models.Field)
    return field


def _event_columns(event: Mapping[str, Any]) -> dict[str, Any]:
    api_version = event.get("api_version")
    object_id = event["data"]["object"].get("id")
    return {
        "stripe_id": event["id"],
        "type": event["type"],
        "api_version": api_version[:64] if isinstance(api_version, str) else "",
        "livemode": bool(event.get("livemode")),
        "object_id": object_id[:255] if isinstance(object_id, str) else "",
        "payload": dict(event),
        "stripe_created": event_created_at(event),
        "received_at": timezone.now(),
    }


class WebhookEvent(models.Model):
    """Every verified Stripe event, once, keyed by Stripe's event id: the audit log and the
    deduplication record of the webhook endpoint."""

    Outcome = WebhookEventOutcome

    stripe_id = models.CharField(_("event id"), max_length=255)
    type = models.CharField(_("type"), max_length=100)
    api_version = models.CharField(_("API version"), max_length=64, blank=True)
    livemode = models.BooleanField(_("live mode"), default=False)
    object_id = models.CharField(
        _("object id"), max_length=255, blank=True,
        help_text=_("The id of data.object, e.g. the PaymentIntent."),
    )
    payload = models.JSONField(_("payload"))
    stripe_created = models.DateTimeField(_("created at Stripe"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=WebhookEventOutcome.choices,
        default=WebhookEventOutcome.RECEIVED,
    )
    error = models.TextField(_("error"), blank=True, help_text=_("Why the last attempt failed."))
    note = models.CharField(
        _("note"), max_length=255, blank=True, help_text=_("Why the event was ignored.")
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        # Every delivery inserts a row, so the table keeps only the indexes its lookups need
        # (docs/explanation/performance.md): the event id, the object id (a payment's events),
        # and the events still waiting or failed (task mode's queue; inline mode never
        # stores a row as received, so that index stays empty there). No pattern-ops
        # copies, no index on type.
        constraints = [models.UniqueConstraint(fields=["stripe_id"], name="apranova_event_stripe_id_uniq")]
        indexes = [
            models.Index(fields=["object_id"], name="apranova_event_object_id_idx"),
            models.Index(
                fields=["outcome", "received_at"], name="apranova_event_waiting_idx",
                condition=Q(outcome__in=[WebhookEventOutcome.RECEIVED, WebhookEventOutcome.FAILED]),
            ),
        ]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type} ({self.outcome})"

