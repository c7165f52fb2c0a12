"""Cancel the PaymentIntents of checkouts left open (pending, or failed and never retried).

    manage.py apranova_cancel_abandoned --older-than 24
    manage.py apranova_cancel_abandoned --older-than 48 --dry-run -v 2
    manage.py apranova_cancel_abandoned --older-than 24 --limit 500

Each payment is canceled at Stripe through the normal path: its row is locked, Stripe is
asked, and the answer is applied by the status machine, so ``payment_canceled`` is sent once.
Rows are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL: several machines
can run it from cron at the same time, and a payment being paid right now (its webhook holds
the row) is skipped, not waited for. When Stripe no longer lets a PaymentIntent be canceled
(the customer just paid), the row is left to that payment's webhook. A Stripe Checkout
payment has its Session expired instead (its PaymentIntent may not exist yet; Stripe cancels
it with the Session).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from ... import exceptions
from ...gateway import get_gateway
from ...models import Payment, PaymentStatus
from ...services import FREE_PREFIX
from ...transitions import TransitionResult, apply_intent, apply_session
from ..base import PaymentsCommand, clean, positive

#: What may be abandoned: a PaymentIntent Stripe still lets us cancel (not processing).
ABANDONABLE = (PaymentStatus.PENDING, PaymentStatus.FAILED)


class Command(PaymentsCommand):
    help = (
        "Cancel, at Stripe, payments left pending or failed for longer than --older-than hours. "
        "Safe from cron on many machines at once. -v 0 prints only errors, -v 2 adds details."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=positive, required=True, metavar="HOURS",
                            help="Only payments created more than this many hours ago (a whole number, 1 or more).")
        parser.add_argument("--limit", type=positive, metavar="N",
                            help="Cancel at most N payments in this run (a whole number, 1 or more).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Say which payments would be canceled; call no one, change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        hours = clean("--older-than", options["older_than"], positive)
        limit = clean("--limit", options["limit"], positive)
        cutoff = timezone.now() - timedelta(hours=hours)
        candidates = (
            Payment.objects.filter(status__in=ABANDONABLE, created_at__lt=cutoff)
            .exclude(stripe_payment_intent__startswith=FREE_PREFIX)
            .order_by("created_at", "pk")
        )
        total = candidates.count()
        newer = Payment.objects.filter(status__in=ABANDONABLE, created_at__gte=cutoff).count()
        if limit is not None:
            total = min(total, limit)
        if not total:
            self.say(f"No pending or failed payment is older than {hours} hour(s)"
                     f"{self._newer(newer)}. Nothing to cancel.")
            return
        if options["dry_run"]:
            self._dry_run(candidates, total, hours, newer)
            return
        self._cancel(candidates, total, cutoff, hours, newer)

    def _dry_run(self, candidates: Any, total: int, hours: int, newer: int) -> None:
        with self.progress(total, "dry run") as progress:
            for number, payment in enumerate(candidates[:total].iterator(), start=1):
                self.say(f"[{number}/{total}] would {'expire' if payment.stripe_checkout_session else 'cancel'} "
                         f"{payment.stripe_id} "
                         f"({payment.status}, created {payment.created_at.isoformat()})")
                self.detail(f"user {payment.user_id}, {payment.amount} {payment.currency.upper()}")
                progress.advance()
        self.say(f"Would cancel {total} payment(s) older than {hours} hour(s){self._newer(newer)}. "
                 "Dry run: Stripe was not called and nothing changed.", self.style.SUCCESS)

    def _cancel(self, candidates: Any, total: int, cutoff: Any, hours: int, newer: int) -> None:
        canceled = left = taken = failed = 0
        with self.progress(total, "cancel") as progress:
            for pk in list(candidates.values_list("pk", flat=True)):  # no cursor held across transactions
                if canceled + left + failed >= total:
                    break
                outcome = self._one(pk, cutoff)
                if outcome == "taken":
                    taken += 1  # another run (or a webhook) holds it, or it is no longer open
                    continue
                canceled += outcome == "canceled"
                left += outcome == "left"
                failed += outcome == "failed"
                progress.advance()
        parts = [f"{canceled} canceled"]
        if left:
            parts.append(f"{left} left to their webhook (Stripe would not cancel them any more)")
        if taken:
            parts.append(f"{taken} skipped (taken by another run, or no longer open)")
        if failed:
            parts.append(f"{failed} failed")
        self.say(f"Payments older than {hours} hour(s): {', '.join(parts)}{self._newer(newer)}.",
                 self.style.SUCCESS if not failed else None)
        if failed:
            raise CommandError(f"{failed} payment(s) could not be canceled; see the errors above. Run again later.")

    def _one(self, pk: int, cutoff: Any) -> str:
        """Cancel one payment, claimed with SKIP LOCKED: ``"canceled"``, ``"left"`` (Stripe
        refused: it is past cancelation), ``"taken"`` or ``"failed"``."""
        try:
            with transaction.atomic():
                payment = (
                    Payment.objects.select_for_update(skip_locked=True)
                    .filter(pk=pk, status__in=ABANDONABLE, created_at__lt=cutoff).first()
                )
                if payment is None:
                    return "taken"
                try:
                    result = _abandon(payment)
                except exceptions.PaymentNotCancelable:
                    self.say(f"{payment.stripe_id}: Stripe would not cancel it any more; left to its webhook")
                    return "left"
        except exceptions.GatewayError as exc:
            self.error(f"payment {pk}: Stripe failed: {type(exc).__name__}: {exc.detail}")
            return "failed"
        if result.refused:
            self.say(f"{payment.stripe_id}: canceled at Stripe; not applied here: {result.refused}")
        else:
            self.say(f"{payment.stripe_id}: {result.old_status} -> {result.new_status}")
        self.detail(f"created {payment.created_at.isoformat()}, user {payment.user_id}")
        return "canceled"

    @staticmethod
    def _newer(newer: int) -> str:
        return f"; {newer} newer one(s) not touched" if newer else ""


def _abandon(payment: Payment) -> TransitionResult:
    """Cancel the payment's PaymentIntent at Stripe, or expire its Checkout Session (whose
    PaymentIntent may not exist yet; Stripe cancels it with the Session), and apply what Stripe
    answers to the locked row; ``PaymentNotCancelable`` when Stripe is past that."""
    gateway = get_gateway()
    if payment.stripe_checkout_session is not None:
        try:
            session = gateway.expire_checkout_session(payment.stripe_checkout_session)
        except exceptions.GatewayRejected:  # no longer open: completed meanwhile
            raise exceptions.PaymentNotCancelable() from None
        return apply_session(payment, session, locked=True)
    assert payment.stripe_payment_intent is not None
    intent = gateway.cancel_payment_intent(payment.stripe_payment_intent, reason="abandoned")
    return apply_intent(payment, intent, locked=True)
