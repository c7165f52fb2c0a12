"""The event store's writes (``WebhookEvent.objects``): each one SQL statement, so the same event
on many servers is decided by the database, not by a read followed by a write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import connections, models, router, transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from ..metadata import CHECKOUT, checkout_reference
from .choices import DONE_OUTCOMES, REPLAY_ORDER, WebhookEventOutcome
from .payments import Payment, concrete_field


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


class WebhookEventQuerySet(models.QuerySet[Any]):  # of WebhookEvent (models.events), which uses it
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

    def claim_locking(
        self, event: Mapping[str, Any], payment_intent: str, checkout_reference: uuid.UUID | None = None
    ) -> Claimed | None:
        """``claim``, and lock the payment of ``payment_intent`` (or of ``checkout_reference``,
        see ``Payment.objects.locked``) for the same transaction, in one round trip on
        PostgreSQL (``_claim_and_lock``). ``None`` for a duplicate; the payment is ``None`` when
        there is none. Other databases run the two statements."""
        if not self._can_lock_in_claim():
            pk = self.claim(event)
            payment = None if pk is None else Payment.objects.locked(payment_intent, checkout_reference)
            return None if pk is None else Claimed(pk, payment, locked=True)
        claim_sql, params = self._claim_sql(event)
        reference = None if checkout_reference is None else "(SELECT %s::uuid FROM claimed)"
        params = [*params, payment_intent, *([] if checkout_reference is None else [checkout_reference])]
        claimed = self._claim_and_lock(claim_sql, params, "(SELECT %s FROM claimed)", ["id"], reference)
        if claimed is None:
            return None
        (pk,), payment = claimed
        return Claimed(int(pk), payment, locked=True)

    def _claim_and_lock(
        self, claim_sql: str, params: list[Any], payment_intent_sql: str, returned: list[str],
        reference_sql: str | None = None,
    ) -> tuple[tuple[Any, ...], Payment | None] | None:
        """Run ``claim_sql`` (an ``INSERT`` or ``UPDATE … RETURNING`` the columns ``returned``)
        and lock the payment whose PaymentIntent ``payment_intent_sql`` names, in one
        statement (PostgreSQL)::

            WITH claimed AS (<claim_sql>),
                 locked AS MATERIALIZED (SELECT <payment> … WHERE <payment_intent_sql, a subquery
                                         of claimed> IN (stripe_payment_intent,
                                         stripe_checkout_session) FOR UPDATE)
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
        intent_column = f"{payments}.{quote('stripe_payment_intent')}"
        # The Checkout payment of ``reference_sql`` still without its PaymentIntent, when asked
        # for; the PaymentIntent's own payment first.
        by_reference = order = ""
        if reference_sql is not None:
            reference_column = f"{payments}.{quote('checkout_reference')}"
            by_reference = f"OR ({intent_column} IS NULL AND {reference_column} = {reference_sql}) "
            order = f"ORDER BY {intent_column} IS NULL LIMIT 1 "
        sql = (
            f"WITH claimed AS ({claim_sql}), locked AS MATERIALIZED ("  # noqa: S608 - identifiers only
            f"SELECT {columns} FROM {payments} "
            # A PaymentIntent's payment, or a Checkout Session's (``by_stripe_id``).
            f"WHERE {payment_intent_sql} IN ({intent_column}, {payments}.{quote('stripe_checkout_session')}) "
            f"{by_reference}{order}FOR UPDATE OF {payments}) "
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
        field = concrete_field(self.model._meta.get_field("processed_at"))
        sql = (
            f"UPDATE {table} SET {quote('outcome')} = %s, {quote('processed_at')} = %s, "  # noqa: S608
            f"{quote('error')} = '', {quote('note')} = '', {quote('attempts')} = {quote('attempts')} + 1 "
            f"WHERE {which} RETURNING {quote('payload')}, {quote('type')}, {quote('object_id')}"
        )
        params = [WebhookEventOutcome.PROCESSED, field.get_db_prep_save(timezone.now(), connection), pk]
        lock_types = sorted(lock_payment_of)
        if lock_types and self._can_lock_in_claim():
            placeholders = ", ".join(["%s"] * len(lock_types))
            of_types = f"FROM claimed WHERE {quote('type')} IN ({placeholders})"
            intent_sql = f"(SELECT {quote('object_id')} {of_types})"
            reference = f"claimed.{quote('payload')}->'data'->'object'->'metadata'->>'{CHECKOUT}'"
            reference_sql = (  # a malformed reference is NULL, never a failed cast
                f"(SELECT CASE WHEN {reference} ~ '^[0-9a-f]{{32}}$' THEN ({reference})::uuid END {of_types})"
            )
            claimed = self._claim_and_lock(
                sql, [*params, *lock_types, *lock_types], intent_sql, ["payload", "type"], reference_sql
            )
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
        loaded = _loaded(payload)
        named = checkout_reference(loaded["data"]["object"].get("metadata") or {})
        return loaded, Claimed(pk, Payment.objects.locked(object_id, named), locked=True)

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
            concrete_field(meta.get_field(name)).get_db_prep_save(value, connection) for name, value in values.items()
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
            # Mutation: SQLite folds the case of quoted column names; PostgreSQL runs refuse "ID".
            f"RETURNING {quote('id')}"  # pragma: no mutate (equivalent on SQLite, see above)
        )
        return sql, params


def _loaded(payload: Any) -> dict[str, Any]:
    """A ``jsonb`` value read by a raw query: text, or already decoded by the driver."""
    return json.loads(payload) if isinstance(payload, str | bytes) else dict(payload)


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
