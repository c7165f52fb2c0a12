"""Delete the webhook events that are done and old: the event store would otherwise grow
forever (about 2.2 GB per million events on PostgreSQL).

    manage.py apranova_prune_events --older-than 90
    manage.py apranova_prune_events --older-than 90 --dry-run
    manage.py apranova_prune_events --older-than 90 --batch-size 500 -v 0   # from cron

Only ``processed`` and ``ignored`` events received more than ``--older-than`` days ago go;
``received`` (waiting for their task) and ``failed`` (waiting for a replay) events are kept,
whatever their age. The rows are deleted in batches of ``--batch-size``, each in its own short
transaction, walking the primary key: a webhook arriving meanwhile never waits long on the
table, and a run stopped halfway has deleted whole batches only.

An event's row is also what answers a redelivery of it as a duplicate; Stripe retries a
delivery for up to three days, so ``--older-than`` is at least ``MIN_DAYS``.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from ...models import DONE_OUTCOMES, WebhookEvent
from ..base import PaymentsCommand, clean, positive

#: The smallest ``--older-than``: more than the three days Stripe retries a delivery for, so
#: a redelivery still finds its event and is answered as a duplicate.
MIN_DAYS = 7
#: Rows deleted per transaction unless ``--batch-size`` says otherwise, and the most it takes.
DEFAULT_BATCH = 1000
MAX_BATCH = 10_000


def days(value: str) -> int:
    """``--older-than``: whole days, at least ``MIN_DAYS``."""
    number = positive(value)
    if number < MIN_DAYS:
        raise argparse.ArgumentTypeError(
            f"takes at least {MIN_DAYS} days (Stripe retries a delivery for up to 3 days), not {value!r}")
    return number


def batch_size(value: str) -> int:
    """``--batch-size``: 1 to ``MAX_BATCH`` rows."""
    number = positive(value)
    if number > MAX_BATCH:
        raise argparse.ArgumentTypeError(f"takes a whole number from 1 to {MAX_BATCH}, not {value!r}")
    return number


class Command(PaymentsCommand):
    help = (
        "Delete the processed and ignored Stripe webhook events received more than --older-than days ago, "
        "in small batches. Received and failed events are kept. Safe while webhooks arrive; -v 0 for cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=days, required=True, metavar="DAYS",
                            help=f"Only events received at least this many days ago (a whole number, "
                                 f"{MIN_DAYS} or more).")
        parser.add_argument("--batch-size", type=batch_size, default=DEFAULT_BATCH, metavar="N",
                            help=f"Rows deleted per transaction (1 to {MAX_BATCH}; default {DEFAULT_BATCH}).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        older_than = clean("--older-than", options["older_than"], days)
        size = clean("--batch-size", options["batch_size"], batch_size)
        if older_than < MIN_DAYS or not 1 <= size <= MAX_BATCH:
            raise CommandError(f"--older-than must be >= {MIN_DAYS} and --batch-size from 1 to {MAX_BATCH}.")
        cutoff = timezone.now() - timedelta(days=older_than)
        done = WebhookEvent.objects.filter(outcome__in=DONE_OUTCOMES, received_at__lt=cutoff)
        total = done.count()
        kept = WebhookEvent.objects.filter(received_at__lt=cutoff).exclude(outcome__in=DONE_OUTCOMES).count()
        when = f"received before {cutoff.isoformat(timespec='minutes')}"
        if options["dry_run"]:
            self.say(f"Dry run: {total} processed or ignored event(s) {when} would be deleted; "
                     f"{kept} received or failed kept.", self.style.SUCCESS)
            return
        deleted = self._delete(done, total, size)
        self.say(f"Deleted {deleted} processed or ignored event(s) {when}; {kept} received or failed kept.",
                 self.style.SUCCESS)

    def _delete(self, done: Any, total: int, size: int) -> int:
        """Delete ``done`` in batches along the primary key, one transaction each; how many."""
        deleted, last = 0, 0
        with self.progress(total, "prune") as progress:
            while True:
                with transaction.atomic():
                    pks = list(done.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
                    if not pks:
                        return deleted
                    # Filtered again: an event replayed meanwhile is deleted only if still done.
                    count, _ = WebhookEvent.objects.filter(pk__in=pks, outcome__in=DONE_OUTCOMES).delete()
                deleted += count
                last = pks[-1]
                progress.advance(len(pks))
                self.detail(f"deleted {count} event(s) up to id {last}")
