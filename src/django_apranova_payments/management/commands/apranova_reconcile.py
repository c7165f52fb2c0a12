"""Catch up on missed webhooks: ask Stripe about payments stuck in pending or processing.

    manage.py apranova_reconcile --older-than 30
    manage.py apranova_reconcile --dry-run

Each payment goes through the same status machine as a webhook, under the same row lock,
so running this while webhooks arrive applies every transition (and its signals) once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...exceptions import PaymentsError
from ...gateway import get_gateway
from ...models import Payment
from ...services import refresh_payment
from ...transitions import decide


class Command(BaseCommand):
    help = "Refresh payments stuck in pending or processing from Stripe."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=30, metavar="MINUTES",
                            help="Only payments not updated for this many minutes (default 30).")
        parser.add_argument("--limit", type=int, default=None, help="At most this many payments.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"] < 0 or (options["limit"] is not None and options["limit"] < 1):
            raise CommandError("--older-than must be >= 0 and --limit >= 1.")
        cutoff = timezone.now() - timedelta(minutes=options["older_than"])
        stuck = Payment.objects.filter(
            status__in=[Payment.Status.PENDING, Payment.Status.PROCESSING], updated_at__lt=cutoff
        ).order_by("updated_at", "pk")
        payments = list(stuck[: options["limit"]] if options["limit"] else stuck)
        counts: Counter[str] = Counter()
        for number, payment in enumerate(payments, start=1):
            prefix = f"[{number}/{len(payments)}] {payment.stripe_payment_intent}"
            try:
                line, outcome = self._one(payment, options["dry_run"])
            except PaymentsError as exc:
                line, outcome = f"error: {exc}", "errors"
            counts[outcome] += 1
            self.stdout.write(f"{prefix}: {line}")
        verb = "Would change" if options["dry_run"] else "Changed"
        self.stdout.write(self.style.SUCCESS(
            f"Checked {len(payments)} payment(s): {verb.lower()} {counts['changed']}, "
            f"unchanged {counts['unchanged']}, errors {counts['errors']}."
        ))

    @staticmethod
    def _one(payment: Payment, dry_run: bool) -> tuple[str, str]:
        if dry_run:
            intent = get_gateway().retrieve_payment_intent(payment.stripe_payment_intent)
            decision = decide(payment, intent)
            if decision.changed:
                return f"would move {decision.old_status} -> {decision.new_status}", "changed"
            if not decision.applied:
                return f"unchanged ({payment.status}, {decision.refused})", "unchanged"
            return f"unchanged ({payment.status}, Stripe says {intent.status})", "unchanged"
        result = refresh_payment(payment)
        if result.changed:
            return f"{result.old_status} -> {result.new_status}", "changed"
        return f"unchanged ({result.new_status})", "unchanged"
