"""Catch up on missed webhooks: ask Stripe about payments stuck in pending or processing.

    manage.py apranova_reconcile --older-than 30
    manage.py apranova_reconcile --dry-run -v 2

Each payment goes through the same status machine as a webhook, under the same row lock,
so running this while webhooks arrive applies every transition (and its signals) once. The
dry run asks the same question (``transitions.decide``) without locking or writing.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from ...exceptions import PaymentsError
from ...gateway import PaymentIntentData, get_gateway
from ...models import Payment
from ...transitions import TransitionResult, apply_intent, decide, status_for_intent
from ..base import PaymentsCommand, clean, minutes, positive

OPEN = (Payment.Status.PENDING, Payment.Status.PROCESSING)


class Command(PaymentsCommand):
    help = (
        "Refresh payments stuck in pending or processing from Stripe, oldest update first. "
        "-v 0 prints only errors, -v 2 adds what Stripe says and why a payment is unchanged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=minutes, default=30, metavar="MINUTES",
                            help="Only payments not updated for this many minutes: a whole number, "
                                 "0 for all (default 30).")
        parser.add_argument("--limit", type=positive, default=None, metavar="N",
                            help="At most N payments (a whole number, 1 or more; default all).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Ask Stripe and say what would change; change nothing, send no signal.")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = clean("--older-than", options["older_than"], minutes)
        limit = clean("--limit", options["limit"], positive)
        if older_than < 0 or (limit is not None and limit < 1):
            raise CommandError("--older-than must be >= 0 and --limit >= 1.")
        dry_run = options["dry_run"]
        cutoff = timezone.now() - timedelta(minutes=older_than)
        open_payments = Payment.objects.filter(status__in=OPEN)
        stuck = open_payments.filter(updated_at__lt=cutoff).order_by("updated_at", "pk")
        payments = list(stuck[:limit] if limit else stuck)
        # Counted before the run: the payments it changes are no longer open, and those it
        # saves have just been updated.
        too_recent = open_payments.filter(updated_at__gte=cutoff).count()
        beyond_limit = stuck.count() - len(payments)
        counts: Counter[str] = Counter()
        with self.progress(len(payments), "reconcile") as progress:
            for number, payment in enumerate(payments, start=1):
                counts[self._one(f"[{number}/{len(payments)}] {payment.stripe_payment_intent}", payment, dry_run)] += 1
                progress.advance()
        changed = "would change" if dry_run else "changed"
        self.say(
            f"Checked {len(payments)} payment(s): {changed} {counts['changed']}, "
            f"unchanged {counts['unchanged']}, errors {counts['errors']}."
            + (" Dry run: nothing was changed." if dry_run else ""),
            self.style.SUCCESS,
        )
        self._skipped(too_recent, beyond_limit, older_than, limit)

    def _one(self, prefix: str, payment: Payment, dry_run: bool) -> str:
        """Refresh (or, in a dry run, judge) one payment; return how it is counted."""
        try:
            intent = get_gateway().retrieve_payment_intent(payment.stripe_payment_intent)
            result = decide(payment, intent) if dry_run else apply_intent(payment, intent)
        except PaymentsError as exc:
            self.error(f"{prefix}: error: {exc}")
            cause = exc.__cause__ or exc.__context__
            if cause is not None:
                self.detail(f"cause: {type(cause).__name__}: {cause}", error=True)
            return "errors"
        if result.changed:
            verb = "would move " if dry_run else ""
            self.say(f"{prefix}: {verb}{result.old_status} -> {result.new_status}")
        elif result.applied:
            self.say(f"{prefix}: unchanged ({result.old_status}, Stripe says {intent.status})")
        else:
            self.say(f"{prefix}: unchanged ({result.old_status}, {result.refused})")
        self._details(payment, intent, result)
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

    def _skipped(self, too_recent: int, beyond_limit: int, older_than: int, limit: int | None) -> None:
        if too_recent:
            self.say(f"Skipped {too_recent} open payment(s) updated in the last {older_than} minute(s) "
                     f"(--older-than {older_than}); --older-than 0 includes them.")
        if beyond_limit:
            self.say(f"Skipped {beyond_limit} more payment(s) beyond --limit {limit}; "
                     f"the next run takes them, oldest first.")
