"""Apply, or enqueue again, the webhook events left ``received`` (task mode: the request
stored the event, but its task was lost or never ran: a broker down, a worker killed).

    manage.py apranova_process_events --older-than 10
    manage.py apranova_process_events --older-than 10 --enqueue
    manage.py apranova_process_events --dry-run -v 2

Safe from cron on many machines at once: each event is claimed with the task's own
statement, under the event's row lock, and on PostgreSQL a row another process holds is
skipped (``SKIP LOCKED``) instead of waited for; an event applied meanwhile by a worker or
another run is skipped. Each transition and signal happens once.

It also deletes at Stripe the Customers of deleted users that Stripe could not be reached
for when they were deleted (``PendingCustomerDeletion``): one deleted twice is deleted once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from ...models import PendingCustomerDeletion, WebhookEvent
from ...services.customers import delete_pending_customers
from ...webhooks import DUPLICATE, apply_stored
from ..base import PaymentsCommand, clean, minutes, positive

#: What the summary calls an event this run found applied by someone else, or held by them.
SKIPPED = "skipped"


class Command(PaymentsCommand):
    help = (
        "Apply (or with --enqueue, enqueue again) the Stripe webhook events still waiting in 'received' "
        "for longer than --older-than minutes, oldest first. Safe to run from cron on many machines. "
        "-v 0 prints only errors, -v 2 adds each event's details."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=minutes, default=10, metavar="MINUTES",
                            help="Only events received at least this many minutes ago: a whole number, "
                                 "0 for all (default 10; leave the workers time for their queue).")
        parser.add_argument("--enqueue", action="store_true",
                            help="Enqueue each event's task again (TASK_BACKEND, TASK_QUEUE) instead of "
                                 "applying it in this process.")
        parser.add_argument("--limit", type=positive, default=None, metavar="N",
                            help="At most N events (a whole number, 1 or more; default all).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Say which events are waiting; apply and enqueue nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = clean("--older-than", options["older_than"], minutes)
        limit = clean("--limit", options["limit"], positive)
        if older_than < 0 or (limit is not None and limit < 1):
            raise CommandError("--older-than must be >= 0 and --limit >= 1.")
        self._customers(options["dry_run"])
        waiting = WebhookEvent.objects.waiting(timezone.now() - timedelta(minutes=older_than))
        events = list(waiting.values_list("pk", "stripe_id", "type", "received_at")[:limit])
        if not events:
            self.say(f"No webhook event has waited in 'received' for {older_than} minute(s) or more.")
            return
        action = "dry run" if options["dry_run"] else "enqueue" if options["enqueue"] else "apply"
        counts: Counter[str] = Counter()
        with self.progress(len(events), action) as progress:
            for number, (pk, stripe_id, event_type, received_at) in enumerate(events, start=1):
                prefix = f"[{number}/{len(events)}] {stripe_id} {event_type}"
                self.detail(f"received {received_at.isoformat()}")
                counts[self._one(prefix, pk, action)] += 1
                progress.advance()
        self._summary(action, len(events), counts)

    def _customers(self, dry_run: bool) -> None:
        """Delete at Stripe the deleted users' Customers still queued."""
        if not PendingCustomerDeletion.objects.exists():
            return
        if dry_run:
            self.say(f"{PendingCustomerDeletion.objects.count()} deleted user(s)' Stripe Customer(s) to delete.")
            return
        deleted, left = delete_pending_customers()
        self.say(f"Deleted {deleted} Stripe Customer(s) of deleted users; {left} still wait for Stripe.")

    def _one(self, prefix: str, pk: int, action: str) -> str:
        if action == "dry run":
            self.say(f"{prefix}: would be applied")
            return "waiting"
        if action == "enqueue":
            from ...tasks import enqueue

            try:
                enqueue(pk)
            except Exception as exc:
                self.error(f"{prefix}: not enqueued: {type(exc).__name__}: {exc}")
                return "failed"
            self.say(f"{prefix}: enqueued")
            return "enqueued"
        try:
            outcome = apply_stored(pk, skip_locked=True)
        except Exception as exc:  # logged and recorded on the event by apply_stored
            self.error(f"{prefix}: failed: {type(exc).__name__}: {exc}")
            return "failed"
        outcome = SKIPPED if outcome == DUPLICATE else outcome
        self.say(f"{prefix}: {outcome}" + (" (applied meanwhile, or being applied elsewhere)"
                                           if outcome == SKIPPED else ""))
        return outcome

    def _summary(self, action: str, total: int, counts: Counter[str]) -> None:
        summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
        if action == "dry run":
            self.say(f"{total} event(s) waiting. Dry run: nothing was applied or enqueued.", self.style.SUCCESS)
            return
        verb = "Enqueued" if action == "enqueue" else "Processed"
        self.say(f"{verb} {total} waiting event(s): {summary}.", self.style.SUCCESS)
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} event(s) failed; see the errors above. Failed events "
                               "wait for apranova_replay_events --failed.")
