"""``apranova_prune_events`` on a large event store in PostgreSQL, while webhooks arrive.

Seeds ``--events`` webhook events (default 1,000,000; payloads of about 1.5 kB, as Stripe's
``payment_intent.succeeded`` events are), 97% of them processed or ignored 100 days ago, the
rest received or failed. Then ``--ingest-threads`` threads apply new ``payment_intent``
events through the inline engine (``webhooks.process_event``: the claim, the payment's lock
and update, the commit) without pause, first alone for ``--baseline`` seconds, then while
``apranova_prune_events --older-than 90`` deletes the old events in batches of
``--batch-size``. Reports the prune's time and rate, and each ingest's latency (p50, p99 and
the worst) without and during the prune: the worst is the longest a webhook waited.

    python benchmarks/prune_events.py [--events 1000000] [--batch-size 1000] [--ingest-threads 2]
"""

from __future__ import annotations

import argparse
import threading
import time
from io import StringIO
from typing import Any

from _common import django_on_fresh_database, ms, report

#: A Stripe-sized payload for the seeded events (jsonb, about 1.5 kB).
PAYLOAD_SQL = """jsonb_build_object(
    'id', 'evt_seed_' || n, 'object', 'event', 'type', 'payment_intent.succeeded',
    'api_version', '2026-10-28.endive', 'created', 1700000000 + n, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
        'id', 'pi_seed_' || n, 'object', 'payment_intent', 'amount', 1999, 'currency', 'usd',
        'status', 'succeeded', 'description', repeat('x', 1200), 'metadata', '{}'::jsonb)))"""


def seed(events: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO apranova_payments_webhookevent
                (stripe_id, type, api_version, livemode, object_id, payload, stripe_created, received_at,
                 processed_at, outcome, error, note, attempts)
            SELECT 'evt_seed_' || n, 'payment_intent.succeeded', '2026-10-28.endive', false, 'pi_seed_' || n,
                   {PAYLOAD_SQL}, now() - interval '100 days', now() - interval '100 days' + n * interval '1 ms',
                   now() - interval '100 days',
                   CASE WHEN n %% 100 < 95 THEN 'processed' WHEN n %% 100 < 97 THEN 'ignored'
                        WHEN n %% 100 < 99 THEN 'received' ELSE 'failed' END,
                   '', '', 1
            FROM generate_series(1, %s) AS n""", [events])  # noqa: S608 - a constant
        cursor.execute("VACUUM ANALYZE apranova_payments_webhookevent")


class Ingest(threading.Thread):
    """Applies a new ``payment_intent.processing`` event of its own pending payments, one
    after the other, and keeps each one's latency with the time it ended."""

    def __init__(self, name: str, payments: list[Any]) -> None:
        super().__init__(daemon=True)
        self.label, self.payments = name, payments
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connections

        from django_apranova_payments.testing import build_event, build_payment_intent
        from django_apranova_payments.webhooks import process_event

        n = 0
        try:
            while not self.stop.is_set():
                payment = self.payments[n % len(self.payments)]
                status = "processing" if (n // len(self.payments)) % 2 == 0 else "requires_payment_method"
                event = build_event(build_payment_intent(payment, status), f"payment_intent.{status}")
                event["id"] = f"evt_{self.label}_{n}"
                started = time.perf_counter()
                process_event(event)
                ended = time.perf_counter()
                self.samples.append((ended, ended - started))
                n += 1
        finally:
            connections.close_all()

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for at, seconds in self.samples if start <= at <= end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--ingest-threads", type=int, default=2)
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of ingest before the prune")
    args = parser.parse_args()
    with django_on_fresh_database("prune"):
        from django.core.management import call_command
        from django.db.models import Count
        from tests.factories import PaymentFactory, UserFactory

        from django_apranova_payments.models import WebhookEvent

        started = time.perf_counter()
        seed(args.events)
        seeded = time.perf_counter() - started
        done = WebhookEvent.objects.filter(outcome__in=["processed", "ignored"]).count()
        user = UserFactory()
        threads = [Ingest(f"t{i}", [PaymentFactory(user=user) for _ in range(50)])
                   for i in range(args.ingest_threads)]
        for thread in threads:
            thread.start()
        time.sleep(args.baseline)
        prune_start = time.perf_counter()
        out = StringIO()
        call_command("apranova_prune_events", "--older-than", "90", "--batch-size", str(args.batch_size),
                     "-v", "0", stdout=out)
        prune_end = time.perf_counter()
        time.sleep(1)
        for thread in threads:
            thread.stop.set()
            thread.join(30)
        left = dict(WebhookEvent.objects.filter(stripe_id__startswith="evt_seed_").order_by().values_list("outcome")
                    .annotate(n=Count("pk")).values_list("outcome", "n"))
        before = [s for t in threads for s in t.between(prune_start - args.baseline, prune_start)]
        during = [s for t in threads for s in t.between(prune_start, prune_end)]
        deleted = done - WebhookEvent.objects.filter(stripe_id__startswith="evt_seed_",
                                                     outcome__in=["processed", "ignored"]).count()
        took = prune_end - prune_start
        report("apranova_prune_events while webhooks arrive (PostgreSQL)", [
            f"   seeded {args.events:,} events in {seeded:.0f} s; left after the prune: {left}",
            f"   prune: {deleted:,} processed or ignored events deleted in {took:.1f} s "
            f"({deleted / took:,.0f} rows/s), batches of {args.batch_size}",
            f"   ingest alone ({len(before)} events): p50 {ms(before):.1f} ms, p99 {ms(before, 99):.1f} ms, "
            f"worst {max(before) * 1000:.1f} ms",
            f"   ingest during the prune ({len(during)} events): p50 {ms(during):.1f} ms, "
            f"p99 {ms(during, 99):.1f} ms, worst {max(during) * 1000:.1f} ms",
        ])


if __name__ == "__main__":
    main()
