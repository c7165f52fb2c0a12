"""Catch up on missed webhooks: ask Stripe about payments stuck in pending or processing,
refunds still pending (or requiring action) and disputes not yet closed.

    manage.py apranova_reconcile --older-than 30
    manage.py apranova_reconcile --dry-run -v 2

Each payment goes through the same status machine as a webhook, under the same row lock,
so running this while webhooks arrive applies every transition (and its signals) once; each
refund and dispute goes through ``refunds.apply_refund`` / ``apply_dispute`` in the same way.
The dry run asks the same questions (``transitions.decide``; for refunds and disputes the
moves ``refunds.refund_can_move`` and ``dispute_can_move`` allow) without locking or writing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Model, QuerySet
from django.utils import timezone

from ... import money
from ...exceptions import PaymentsError
from ...gateway import PaymentIntentData, get_gateway
from ...models import DISPUTE_CLOSED_STATUSES, REFUND_OPEN_STATUSES, Dispute, Payment, Refund
from ...refunds import Applied, apply_dispute, apply_refund, decide_dispute, decide_refund
from ...transitions import (
    TransitionResult,
    apply_intent,
    apply_session,
    decide,
    decide_session,
    status_for_intent,
)
from ..base import PaymentsCommand, clean, minutes, positive

OPEN = (Payment.Status.PENDING, Payment.Status.PROCESSING)


@dataclass
class Batch:
    """The open rows of one kind a run checks, and the open rows it leaves out."""

    noun: str
    items: list[Any]
    too_recent: int
    beyond_limit: int
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, noun: str, open_rows: QuerySet[Any], cutoff: datetime, limit: int | None) -> Batch:
        stuck = open_rows.filter(updated_at__lt=cutoff).order_by("updated_at", "pk")
        items = list(stuck[:limit] if limit else stuck)
        # Counted before the run: the rows it changes are no longer open, and those it saves
        # have just been updated.
        return cls(noun, items, open_rows.filter(updated_at__gte=cutoff).count(), stuck.count() - len(items))


class Command(PaymentsCommand):
    help = (
        "Refresh from Stripe the payments stuck in pending or processing, the refunds still pending "
        "and the disputes not yet closed, oldest update first. "
        "-v 0 prints only errors, -v 2 adds what Stripe says and why a row is unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=minutes, default=30, metavar="MINUTES",
                            help="Only rows not updated for this many minutes: a whole number, "
                                 "0 for all (default 30).")
        parser.add_argument("--limit", type=positive, default=None, metavar="N",
                            help="At most N payments, N refunds and N disputes (a whole number, 1 or more; "
                                 "default all).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Ask Stripe and say what would change; change nothing, send no signal.")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = clean("--older-than", options["older_than"], minutes)
        limit = clean("--limit", options["limit"], positive)
        if older_than < 0 or (limit is not None and limit < 1):
            raise CommandError("--older-than must be >= 0 and --limit >= 1.")
        dry_run = options["dry_run"]
        cutoff = timezone.now() - timedelta(minutes=older_than)
        batches = [
            Batch.of("payment", Payment.objects.filter(status__in=OPEN), cutoff, limit),
            Batch.of("refund", Refund.objects.filter(status__in=REFUND_OPEN_STATUSES).select_related("payment"),
                     cutoff, limit),
            Batch.of("dispute", Dispute.objects.exclude(status__in=DISPUTE_CLOSED_STATUSES).select_related("payment"),
                     cutoff, limit),
        ]
        check: dict[str, Callable[[str, Any, bool], str]] = {
            "payment": self._one, "refund": self._one_refund, "dispute": self._one_dispute,
        }
        with self.progress(sum(len(batch.items) for batch in batches), "reconcile") as progress:
            for batch in batches:
                for number, item in enumerate(batch.items, start=1):
                    prefix = f"[{number}/{len(batch.items)}] {_label(item)}"
                    batch.counts[check[batch.noun](prefix, item, dry_run)] += 1
                    progress.advance()
        for batch in batches:
            if batch.noun == "payment" or batch.items or batch.too_recent or batch.beyond_limit:
                self._summary(batch, dry_run)
        for batch in batches:
            self._skipped(batch, older_than, limit)

    def _summary(self, batch: Batch, dry_run: bool) -> None:
        changed, counts = "would change" if dry_run else "changed", batch.counts
        self.say(
            f"Checked {len(batch.items)} {batch.noun}(s): {changed} {counts['changed']}, "
            f"unchanged {counts['unchanged']}, errors {counts['errors']}."
            + (" Dry run: nothing was changed." if dry_run else ""),
            self.style.SUCCESS,
        )

    def _failed(self, prefix: str, exc: PaymentsError) -> str:
        self.error(f"{prefix}: error: {exc}")
        cause = exc.__cause__ or exc.__context__
        if cause is not None:
            self.detail(f"cause: {type(cause).__name__}: {cause}", error=True)
        return "errors"

    # -- payments ------------------------------------------------------------------------------

    def _one(self, prefix: str, payment: Payment, dry_run: bool) -> str:
        """Refresh (or, in a dry run, judge) one payment; return how it is counted."""
        if payment.stripe_payment_intent is None:
            return self._one_session(prefix, payment, dry_run)
        try:
            intent = get_gateway().retrieve_payment_intent(payment.stripe_payment_intent)
            result = decide(payment, intent) if dry_run else apply_intent(payment, intent)
        except PaymentsError as exc:
            return self._failed(prefix, exc)
        if result.changed:
            verb = "would move " if dry_run else ""
            self.say(f"{prefix}: {verb}{result.old_status} -> {result.new_status}")
        elif result.applied:
            self.say(f"{prefix}: unchanged ({result.old_status}, Stripe says {intent.status})")
        else:
            self.say(f"{prefix}: unchanged ({result.old_status}, {result.refused})")
        self._details(payment, intent, result)
        return "changed" if result.changed else "unchanged"

    def _one_session(self, prefix: str, payment: Payment, dry_run: bool) -> str:
        """A Checkout payment whose PaymentIntent we have not heard of: what its Session says."""
        assert payment.stripe_checkout_session is not None
        try:
            session = get_gateway().retrieve_checkout_session(payment.stripe_checkout_session)
            result = decide_session(payment, session) if dry_run else apply_session(payment, session)
        except PaymentsError as exc:
            return self._failed(prefix, exc)
        if result.changed:
            self.say(f"{prefix}: {'would move ' if dry_run else ''}{result.old_status} -> {result.new_status}")
        else:
            why = result.refused or f"the Checkout Session is {session.status}, {session.payment_status}"
            self.say(f"{prefix}: unchanged ({result.old_status}, {why})")
        return "changed" if result.changed else "unchanged"

    def _details(self, payment: Payment, intent: PaymentIntentData, result: TransitionResult) -> None:
        if self.verbosity < 2:
            return
        age = timezone.now() - payment.updated_at
        self.detail(f"payment {payment.pk}: {payment.amount_minor} {payment.currency} (minor units), "
                    f"{result.old_status}, last updated {int(age.total_seconds() // 60)} min ago")
        error = f", last error {intent.failure_code or intent.failure_message}" if intent.has_failure else ""
        self.detail(f"Stripe: {intent.status}, {intent.amount} {intent.currency}{error}")
        if result.changed:
            return
        if result.refused:
            self.detail(f"why unchanged: {result.refused}")
        else:
            self.detail(f"why unchanged: Stripe's {intent.status} is {status_for_intent(intent)} here, "
                        f"which the payment already is; webhooks or a later run will move it")

    # -- refunds and disputes ---------------------------------------------------------------------

    def _one_refund(self, prefix: str, refund: Refund, dry_run: bool) -> str:
        stored = refund.status
        try:
            data = get_gateway().retrieve_refund(refund.stripe_refund)
            result = decide_refund(refund.payment, data) if dry_run else apply_refund(refund.payment, data)
        except PaymentsError as exc:
            return self._failed(prefix, exc)
        failure = f", failure reason {data.failure_reason}" if data.failure_reason else ""
        return self._moved(prefix, refund, stored, result, data.status, dry_run,
                           f"Stripe: {data.status}, {data.amount} {data.currency}{failure}")

    def _one_dispute(self, prefix: str, dispute: Dispute, dry_run: bool) -> str:
        stored = dispute.status
        try:
            data = get_gateway().retrieve_dispute(dispute.stripe_dispute)
            result = decide_dispute(dispute.payment, data) if dry_run else apply_dispute(dispute.payment, data)
        except PaymentsError as exc:
            return self._failed(prefix, exc)
        refundable = "yes" if data.is_charge_refundable else "no"
        return self._moved(prefix, dispute, stored, result, data.status, dry_run,
                           f"Stripe: {data.status}, {data.amount} {data.currency}, charge refundable: {refundable}")

    def _moved(self, prefix: str, row: Refund | Dispute, stored: str, result: Applied, stripe_status: str,
               dry_run: bool, stripe_detail: str) -> str:
        """Say what became of one refund or dispute; return how it is counted."""
        changed = result.applied and result.new_status != stored
        if changed:
            self.say(f"{prefix}: {'would move ' if dry_run else ''}{stored} -> {result.new_status}")
        elif result.applied:
            self.say(f"{prefix}: unchanged ({stored}, Stripe says {stripe_status})")
        else:
            self.say(f"{prefix}: unchanged ({stored}, {result.refused})")
        if self.verbosity >= 2:
            age = int((timezone.now() - row.updated_at).total_seconds() // 60)
            minor = money.refund_minor_units(row.amount, row.currency) if row.amount else 0
            self.detail(f"{row._meta.model_name} {row.pk}: {minor} {row.currency} (minor units), {stored}, "
                        f"last updated {age} min ago")
            self.detail(stripe_detail)
            if not changed:
                self.detail(f"why unchanged: {result.refused or 'Stripe says what is stored; a later run looks again'}")
        return "changed" if changed else "unchanged"

    def _skipped(self, batch: Batch, older_than: int, limit: int | None) -> None:
        if batch.too_recent:
            self.say(f"Skipped {batch.too_recent} open {batch.noun}(s) updated in the last {older_than} minute(s) "
                     f"(--older-than {older_than}); --older-than 0 includes them.")
        if batch.beyond_limit:
            self.say(f"Skipped {batch.beyond_limit} more {batch.noun}(s) beyond --limit {limit}; "
                     f"the next run takes them, oldest first.")


def _label(row: Model) -> str:
    if isinstance(row, Refund):
        return f"{row.stripe_refund} (refund of {row.payment.stripe_payment_intent})"
    if isinstance(row, Dispute):
        return f"{row.stripe_dispute} (dispute of {row.payment.stripe_payment_intent})"
    assert isinstance(row, Payment)
    return row.stripe_id

