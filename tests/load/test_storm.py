"""Storm: many payments' event histories, with duplicates, shuffled, delivered concurrently
to gunicorn worker processes on PostgreSQL. Every payment ends in its expected status,
every event is processed once, and each transition fires its signals once.

CI size: 500 deliveries over 100 payments. Full size, 5,000 over 1,000::

    APRANOVA_LOAD_FULL=1 APRANOVA_TEST_DB=postgres python -m pytest -s tests/load/test_storm.py

``APRANOVA_LOAD_SEED`` replays a given shuffle.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter

import pytest

from django_apranova_payments.models import Payment, WebhookEvent
from tests.load.conftest import make_payments, sign, tallies
from tests.load.loadgen import deliver, summary
from tests.load.storm import check_signals, plan

pytestmark = pytest.mark.postgres


FULL = os.environ.get("APRANOVA_LOAD_FULL") == "1"
PAYMENTS, DELIVERIES = (1_000, 5_000) if FULL else (100, 500)
CONCURRENCY = 16
DEADLINE = 900 if FULL else 300  # seconds; far above what either size needs


def test_storm_of_duplicated_shuffled_events_ends_in_expected_states_with_one_signal_per_transition(
    load_db, load_server, webhook_url
):
    seed = int(os.environ.get("APRANOVA_LOAD_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    payments = make_payments(load_db, PAYMENTS)
    storm = plan(payments, DELIVERIES, rng, start=int(time.time()) - 86_400)
    started = time.perf_counter()
    results = deliver(webhook_url, storm.bodies(), sign=sign, concurrency=CONCURRENCY, deadline=DEADLINE)
    elapsed = time.perf_counter() - started
    context = f"seed={seed}"

    # Every delivery answered 200; each event was processed by exactly one of its deliveries.
    statuses = Counter(r.status for r in results)
    assert statuses == {200: len(results)}, (context, statuses, {r.error for r in results}, load_server.log_tail())
    first_answers = Counter(
        storm.events[storm.deliveries[r.index]]["id"] for r in results if json.loads(r.body)["outcome"] != "duplicate"
    )
    event_ids = [event["id"] for event in storm.events]
    assert first_answers == Counter(event_ids), context

    # Every event stored once, finished, on its first attempt.
    stored = {
        stripe_id: (outcome, attempts)
        for stripe_id, outcome, attempts in WebhookEvent.objects.using(load_db)
        .filter(stripe_id__in=event_ids).values_list("stripe_id", "outcome", "attempts")
    }
    assert set(stored) == set(event_ids), context
    assert set(stored.values()) <= {("processed", 1), ("ignored", 1)}

    # Final statuses.
    finals = dict(Payment.objects.using(load_db).filter(stripe_payment_intent__in=storm.expected_final)
                  .values_list("stripe_payment_intent", "status"))
    wrong = {pi: (finals[pi], want, storm.scenario_of[pi]) for pi, want in storm.expected_final.items()
             if finals[pi] != want}
    assert not wrong, (context, wrong)

    # Signals: each event announced once, each payment's transitions one walk of the status
    # machine, each signalled once (storm.check_signals).
    transitions = check_signals(storm, tallies(load_db), context)

    figures = summary(results, elapsed)
    print(
        f"\nstorm {context}: {len(results)} deliveries of {len(event_ids)} events ({storm.noise} noise) "
        f"over {len(payments)} payments, {CONCURRENCY} clients, gunicorn {load_server.workers}x"
        f"{load_server.threads}: {transitions} transitions, each one payment_status_changed; "
        f"{elapsed:.1f} s, {figures['per_second']:.0f} deliveries/s, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms"
    )
