"""Task mode (``WEBHOOK_PROCESSING = "task"``) on real engines: the storm (duplicated,
shuffled deliveries over many payments) through gunicorn on PostgreSQL, applied by two
worker processes of

* ``db``: ``django-tasks-db`` (``db_worker``), its queue in the same PostgreSQL database;
* ``celery``: Celery workers on the machine's RabbitMQ, through ``django-tasks-celery``;

with a worker SIGKILLed in the middle of a task twice (the ``db_worker`` process, or the
Celery worker's pool process running the task; inside a receiver, its transaction open)
and the webhook server restarted once during the storm (deliveries it refused are
delivered again, as Stripe would). Afterwards ``apranova_process_events`` leaves no event
``received``, every payment ends in its expected status, and every event and transition
was signalled exactly once.

Run by ``tox -e engines`` (``APRANOVA_ENGINE_TESTS=1``). CI size: 500 deliveries over 100
payments per engine. Full size, 5,000 over 1,000::

    APRANOVA_ENGINE_TESTS=1 APRANOVA_LOAD_FULL=1 APRANOVA_TEST_DB=postgres \\
        python -m pytest -s tests/load/test_task_engines.py
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connections

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event
from tests.load.conftest import ALIAS, WEBHOOK_PATH, make_payments, sign, tallies
from tests.load.engines import SETTINGS, Workers
from tests.load.loadgen import Result, deliver, percentile, summary
from tests.load.server import ROOT, ServerUnderTest, connect
from tests.load.storm import check_signals, plan
from tests.load.tally.receivers import (
    ADVISORY_LOCK_KEY,
    BLOCK_KEY,
    WAITING_MARK,
    changed_key,
    received_key,
    specific_key,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(os.environ.get("APRANOVA_ENGINE_TESTS") != "1",
                       reason="real task engines: tox -e engines (APRANOVA_ENGINE_TESTS=1)"),
]

FULL = os.environ.get("APRANOVA_LOAD_FULL") == "1"
PAYMENTS, DELIVERIES = (1_000, 5_000) if FULL else (100, 500)
CONCURRENCY = 16
WAIT = 120 if FULL else 60  # seconds, for each step
DRAIN_DEADLINE = 900 if FULL else 300
IDLE = 5.0  # seconds without an event leaving 'received': the workers have drained the queue


@dataclass
class Engine:
    name: str
    server: ServerUnderTest
    workers: Workers
    alias: str

    @property
    def url(self) -> str:
        return self.server.url + WEBHOOK_PATH


@pytest.fixture(params=["db", "celery"])
def engine(request: Any, monkeypatch: pytest.MonkeyPatch, django_db_blocker: Any) -> Iterator[Engine]:
    name, queue = request.param, f"apranova_load_{secrets.token_hex(4)}"
    monkeypatch.setenv("APRANOVA_TASK_ENGINE", name)  # read by the server's settings
    monkeypatch.setenv("APRANOVA_TASK_QUEUE", queue)
    with ServerUnderTest(SETTINGS, workers=3, threads=4) as server:
        connections.settings[ALIAS] = {**connections.settings["default"], "NAME": server.db_name, "CONN_MAX_AGE": 0}
        workers = Workers(server, name, queue).start()
        try:
            with django_db_blocker.unblock():
                yield Engine(name, server, workers, ALIAS)
        finally:
            workers.stop()
            connections[ALIAS].close()
            del connections[ALIAS]
            del connections.settings[ALIAS]
            if name == "celery":
                _delete_amqp_queue(queue)


def _delete_amqp_queue(queue: str) -> None:
    from kombu import Connection

    with Connection(os.environ.get("APRANOVA_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")) as conn:
        conn.default_channel.queue_delete(queue)


def wait_for(predicate: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def blocked_task(lock_conn: Any) -> tuple[int, int] | None:
    """(worker pid, PostgreSQL backend pid) of a task waiting on the test's advisory lock."""
    rows = lock_conn.execute(
        "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE %s", [f"%{WAITING_MARK}%"],
    ).fetchall()
    for backend_pid, query in rows:
        match = re.search(rf"{re.escape(WAITING_MARK)}(\d+)", query)
        if match:
            return int(match.group(1)), backend_pid
    return None


def kill_a_worker_mid_task(engine: Engine, blocker: dict[str, Any]) -> int:
    """Deliver ``blocker`` (its payment_succeeded receiver waits on our lock, after writing),
    SIGKILL the worker applying it, and let PostgreSQL roll its transaction back; the pid."""
    with connect(engine.server.db_name, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        try:
            [answer] = deliver(engine.url, [json.dumps(blocker).encode()], sign=sign, concurrency=1)
            assert answer.status == 200, answer
            worker_pid, backend_pid = wait_for(lambda: blocked_task(lock_conn), "a worker to block in a receiver")
            assert worker_pid in engine.workers.pids(), "only ever kill a worker of our own"  # (or its child)
            engine.workers.kill(worker_pid)
            wait_for(lambda: lock_conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                               [backend_pid]).fetchone() is None, "the killed task's backend to end")
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    return worker_pid


def deliver_until_answered(engine: Engine, bodies: list[bytes], results: list[Result]) -> int:
    """Deliver again each body whose delivery got no 200 (the server was restarting), as
    Stripe retries; how many redeliveries that took."""
    redelivered = 0
    for _ in range(10):
        missing = [i for i, r in enumerate(results) if r.status != 200]
        if not missing:
            return redelivered
        redelivered += len(missing)
        again = deliver(engine.url, [bodies[i] for i in missing], sign=sign, concurrency=CONCURRENCY)
        for i, result in zip(missing, again, strict=True):
            results[i] = result
        time.sleep(0.5)
    raise AssertionError(f"deliveries never answered: {Counter(r.status for r in results)}")


def wait_until_drained(engine: Engine) -> float:
    """Wait until no event has left 'received' for ``IDLE`` seconds; when the last one left."""
    waiting = WebhookEvent.objects.using(engine.alias).filter(outcome="received")
    last, last_change = waiting.count(), time.monotonic()
    deadline = time.monotonic() + DRAIN_DEADLINE
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = waiting.count()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= IDLE:
            return last_change
    raise AssertionError(f"the workers did not drain the queue: {last} events still received\n"
                         f"{engine.workers.log_tail()}")


def sweep(engine: Engine) -> str:
    """``manage.py apranova_process_events --older-than 0`` as cron would run it."""
    result = subprocess.run(
        [sys.executable, "-m", "django", "apranova_process_events", "--older-than", "0"],
        env=engine.workers.env(), cwd=ROOT, capture_output=True, text=True, timeout=WAIT * 5, check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def test_storm_with_workers_killed_mid_task_and_a_server_restart_applies_every_event_once(engine):
    seed = int(os.environ.get("APRANOVA_LOAD_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    context = f"engine={engine.name} seed={seed}"
    payments = make_payments(engine.alias, PAYMENTS)
    blocked = make_payments(engine.alias, 2, metadata={BLOCK_KEY: "1"})
    blockers = [build_event(payment, "payment_intent.succeeded") for payment in blocked]
    storm = plan(payments, DELIVERIES, rng, start=int(time.time()) - 86_400)
    bodies = storm.bodies()
    half = len(bodies) // 2
    results: list[Result] = []
    killed = []

    started, started_monotonic = time.perf_counter(), time.monotonic()
    # First half of the storm, a worker killed in the middle of a task while it flows.
    sender = threading.Thread(target=lambda: results.extend(
        deliver(engine.url, bodies[:half], sign=sign, concurrency=CONCURRENCY, deadline=DRAIN_DEADLINE)))
    sender.start()
    killed.append(kill_a_worker_mid_task(engine, blockers[0]))
    sender.join()
    # Second half: the webhook server restarts under it (SIGTERM, then a new master on the
    # same port), and another worker is killed mid-task.
    second: list[Result] = []
    sender = threading.Thread(target=lambda: second.extend(
        deliver(engine.url, bodies[half:], sign=sign, concurrency=CONCURRENCY, deadline=DRAIN_DEADLINE)))
    sender.start()
    time.sleep(0.3)
    engine.server.restart_gunicorn()
    killed.append(kill_a_worker_mid_task(engine, blockers[1]))
    sender.join()
    results.extend(second)
    refused = sum(r.status != 200 for r in results)
    redelivered = deliver_until_answered(engine, bodies, results)
    delivered = time.perf_counter() - started
    drain_seconds = wait_until_drained(engine) - started_monotonic
    engine.workers.stop()  # collects the workers' CPU time
    left = WebhookEvent.objects.using(engine.alias).filter(outcome="received").count()

    swept = sweep(engine)

    # Every delivery answered 200 in the end: queued, or a duplicate of an applied event.
    assert {json.loads(r.body)["outcome"] for r in results} <= {"queued", "duplicate"}, context
    # No event left waiting; each applied on one attempt (a killed attempt rolled back).
    event_ids = [event["id"] for event in [*storm.events, *blockers]]
    stored = dict(WebhookEvent.objects.using(engine.alias).filter(stripe_id__in=event_ids)
                  .values_list("stripe_id", "outcome"))
    assert set(stored) == set(event_ids), context
    assert set(stored.values()) <= {"processed", "ignored"}, (context, Counter(stored.values()), swept)
    assert set(WebhookEvent.objects.using(engine.alias).values_list("attempts", flat=True)) == {1}, context
    assert not WebhookEvent.objects.using(engine.alias).filter(outcome="received").exists()
    # Final statuses, and every signal once.
    finals = dict(Payment.objects.using(engine.alias).filter(stripe_payment_intent__in=storm.expected_final)
                  .values_list("stripe_payment_intent", "status"))
    wrong = {pi: (finals[pi], want) for pi, want in storm.expected_final.items() if finals[pi] != want}
    assert not wrong, (context, wrong)
    transitions = check_signals(storm, tallies(engine.alias), context)
    for payment, event in zip(blocked, blockers, strict=True):
        pi = payment.stripe_payment_intent
        assert tallies(engine.alias, pi, event["id"]) == {
            received_key(event["id"]): 1, changed_key(pi, "pending", "succeeded"): 1,
            specific_key("payment_succeeded", pi): 1,
        }, context
        assert Payment.objects.using(engine.alias).get(pk=payment.pk).status == "succeeded"

    # Figures (tests/load/README or the docs' performance page quote them).
    latencies = [
        (processed - received).total_seconds()
        for received, processed in WebhookEvent.objects.using(engine.alias)
        .filter(stripe_id__in=[e["id"] for e in storm.events]).values_list("received_at", "processed_at")
    ]
    answers = summary(results, delivered)
    applied = len(event_ids)
    print(
        f"\ntask storm {context}: {len(bodies)} deliveries of {len(storm.events)} events over {len(payments)} "
        f"payments, 2 workers, {transitions} transitions each signalled once; workers killed mid-task: {killed}; "
        f"{refused} deliveries refused by the restart, {redelivered} redelivered; "
        f"answers p50 {answers['p50_ms']:.1f} ms p99 {answers['p99_ms']:.1f} ms; "
        f"drained in {drain_seconds:.1f} s ({applied / drain_seconds:.0f} events/s), worker CPU "
        f"{1000 * engine.workers.cpu_seconds / applied:.1f} ms/event; delivery-to-signal p50 "
        f"{percentile(latencies, 50) * 1000:.0f} ms p99 {percentile(latencies, 99) * 1000:.0f} ms; "
        f"left received before the sweep: {left}; sweep: {swept.strip().splitlines()[-1]}"
    )
