"""Process stored webhook events again.

    manage.py apranova_replay_events --failed
    manage.py apranova_replay_events --id evt_1 --id evt_2
    manage.py apranova_replay_events --type payment_intent.succeeded --since 2026-11-01

Safe while webhooks arrive: each event is claimed under the same row lock as a live
delivery, and the status machine never applies a transition twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone

from ...models import REPLAY_ORDER, WebhookEvent
from ...webhooks import replay


def _date(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--since takes a date as YYYY-MM-DD, not {value!r}") from None
    return timezone.make_aware(datetime.combine(day, time.min))


class Command(BaseCommand):
    help = "Process stored Stripe webhook events again (by id, type, failed ones, or since a date)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", action="append", dest="ids", default=[], metavar="EVENT_ID",
                            help="Stripe event id (repeatable).")
        parser.add_argument("--type", dest="event_type", help="Only events of this type.")
        parser.add_argument("--failed", action="store_true",
                            help="Only events whose last processing attempt failed.")
        parser.add_argument("--since", type=_date, help="Only events received on or after this date.")
        parser.add_argument("--dry-run", action="store_true", help="List the events; process nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        events = self._select(options)
        if not events.exists():
            self.stdout.write("No stored events match.")
            return
        total = events.count()
        if options["dry_run"]:
            for number, stored in enumerate(events.order_by(*REPLAY_ORDER).iterator(), start=1):
                self.stdout.write(
                    f"[{number}/{total}] {stored.stripe_id} {stored.type}: would process (now {stored.outcome})"
                )
            self.stdout.write(self.style.SUCCESS(f"Would replay {total} event(s)."))
            return
        outcomes: Counter[str] = Counter()
        for number, replayed in enumerate(replay(events), start=1):
            prefix = f"[{number}/{total}] {replayed.event.stripe_id} {replayed.event.type}"
            if replayed.error is not None:
                self.stderr.write(f"{prefix}: failed: {type(replayed.error).__name__}: {replayed.error}")
            else:
                self.stdout.write(f"{prefix}: {replayed.outcome}")
            outcomes[replayed.outcome] += 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        self.stdout.write(self.style.SUCCESS(f"Replayed {total} event(s): {summary}."))
        if outcomes["failed"]:
            raise CommandError(f"{outcomes['failed']} event(s) failed again; see the errors above.")

    @staticmethod
    def _select(options: dict[str, Any]) -> QuerySet[WebhookEvent]:
        if not (options["ids"] or options["event_type"] or options["failed"] or options["since"]):
            raise CommandError("Say which events: --id, --type, --failed and/or --since.")
        events = WebhookEvent.objects.all()
        if options["ids"]:
            events = events.filter(stripe_id__in=options["ids"])
        if options["event_type"]:
            events = events.filter(type=options["event_type"])
        if options["failed"]:
            events = events.filter(outcome=WebhookEvent.Outcome.FAILED)
        if options["since"]:
            events = events.filter(received_at__gte=options["since"])
        return events
