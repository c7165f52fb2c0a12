"""Process stored webhook events again.

    manage.py apranova_replay_events --failed
    manage.py apranova_replay_events --id evt_1 --id evt_2
    manage.py apranova_replay_events --type payment_intent.succeeded --since 2026-11-01
    manage.py apranova_replay_events --failed --dry-run -v 2

Safe while webhooks arrive: each event is claimed under the same row lock as a live
delivery, and the status machine never applies a transition twice.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import QuerySet

from ...models import REPLAY_ORDER, WebhookEvent
from ...webhooks import HANDLERS, Replayed, replay
from ..base import DATE_FORMATS, PaymentsCommand, clean, since


def _handled() -> str:
    return ", ".join(sorted(HANDLERS))


class Command(PaymentsCommand):
    help = (
        "Process stored Stripe webhook events again (by id, type, failed ones, or since a date). "
        "-v 0 prints only errors, -v 2 adds each event's note and error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", action="append", dest="ids", default=[], metavar="EVENT_ID",
                            help="A Stripe event id, evt_… (repeatable).")
        parser.add_argument("--type", dest="event_type", metavar="TYPE",
                            help=f"Only events of this type; the package handles {_handled()}. "
                                 "Stored events of other types can be replayed too (they are ignored again).")
        parser.add_argument("--failed", action="store_true",
                            help="Only events whose last processing attempt failed.")
        parser.add_argument("--since", type=since, metavar="WHEN",
                            help=f"Only events received from then on: {DATE_FORMATS}, in the current time zone.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Say which events would be replayed; process nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        options["since"] = clean("--since", options["since"], since)
        events = self._select(options)
        total = events.count()
        if not total:
            self.say(f"No stored events match {self._described(options)}.")
            return
        if options["dry_run"]:
            self._dry_run(events, total)
            return
        outcomes: Counter[str] = Counter()
        with self.progress(total, "replay") as progress:
            for number, replayed in enumerate(replay(events), start=1):
                self._report(f"[{number}/{total}]", replayed)
                outcomes[replayed.outcome] += 1
                progress.advance()
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        self.say(f"Replayed {total} event(s): {summary}.", self.style.SUCCESS)
        if outcomes["failed"]:
            raise CommandError(f"{outcomes['failed']} event(s) failed again; see the errors above.")

    def _report(self, prefix: str, replayed: Replayed) -> None:
        event = replayed.event
        line = f"{prefix} {event.stripe_id} {event.type}"
        if replayed.error is not None:
            self.error(f"{line}: failed: {type(replayed.error).__name__}: {replayed.error}")
        else:
            self.say(f"{line}: {replayed.outcome}")
        if self.verbosity >= 2:
            note, attempts = WebhookEvent.objects.values_list("note", "attempts").get(pk=event.pk)
            self.detail(f"attempts: {attempts}; was {event.outcome} before this replay")
            if note:
                self.detail(f"note: {note}")

    def _dry_run(self, events: QuerySet[WebhookEvent], total: int) -> None:
        with self.progress(total, "dry run") as progress:
            for number, stored in enumerate(events.order_by(*REPLAY_ORDER).iterator(), start=1):
                unhandled = "" if stored.type in HANDLERS else "; not a handled type, it would be ignored again"
                self.say(f"[{number}/{total}] would replay {stored.stripe_id} "
                         f"({stored.type}, last outcome: {stored.outcome}{unhandled})")
                self.detail(f"received {stored.received_at.isoformat()}, attempts: {stored.attempts}")
                if stored.note:
                    self.detail(f"note: {stored.note}")
                if stored.error:
                    self.detail(f"error: {stored.error.strip().splitlines()[-1]}")
                progress.advance()
        self.say(f"Would replay {total} event(s). Dry run: nothing was processed.", self.style.SUCCESS)

    def _select(self, options: dict[str, Any]) -> QuerySet[WebhookEvent]:
        if not (options["ids"] or options["event_type"] or options["failed"] or options["since"]):
            raise CommandError("Say which events: --id, --type, --failed and/or --since (see --help).")
        events = WebhookEvent.objects.all()
        if options["ids"]:
            events = events.filter(stripe_id__in=options["ids"])
        if options["event_type"]:
            self._check_type(options["event_type"])
            events = events.filter(type=options["event_type"])
        if options["failed"]:
            events = events.filter(outcome=WebhookEvent.Outcome.FAILED)
        if options["since"]:
            events = events.filter(received_at__gte=options["since"])
        return events

    def _check_type(self, event_type: str) -> None:
        """An unhandled type is refused unless events of it are stored (the endpoint stores
        every verified event; those of other types are ignored), then only warned about."""
        if event_type in HANDLERS:
            return
        stored = WebhookEvent.objects.filter(type=event_type).count()
        if stored:
            self.warn(f"{event_type} is not an event type this package handles; "
                      f"its {stored} stored event(s) will be ignored again.")
            return
        close = difflib.get_close_matches(event_type, HANDLERS, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise CommandError(
            f"--type {event_type!r} is not an event type this package handles, and no stored event has it."
            f"{hint} Handled types: {_handled()}."
        )

    @staticmethod
    def _described(options: dict[str, Any]) -> str:
        parts = [f"--id {event_id}" for event_id in options["ids"]]
        if options["event_type"]:
            parts.append(f"--type {options['event_type']}")
        if options["failed"]:
            parts.append("--failed")
        if options["since"]:
            parts.append(f"--since {options['since'].isoformat()}")
        return " ".join(parts)
