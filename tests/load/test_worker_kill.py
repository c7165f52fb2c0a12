"""A gunicorn worker killed (SIGKILL) in the middle of processing an event: its transaction
rolls back, nothing of it is visible, and Stripe's redelivery ends in exactly one
transition and one of each signal."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event
from tests.load.conftest import make_payments, sign, tallies
from tests.load.loadgen import Result, deliver
from tests.load.server import connect
from tests.load.tally.receivers import (
    ADVISORY_LOCK_KEY,
    BLOCK_KEY,
    WAITING_MARK,
    changed_key,
    received_key,
    specific_key,
)

pytestmark = pytest.mark.postgres

WAIT = 60  # seconds, for each step; a loaded 2-core machine is slow, never this slow


def wait_for(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def blocked_worker(lock_conn) -> tuple[int, int, bool] | None:
    """(gunicorn worker pid, PostgreSQL backend pid, whether its transaction has written)
    of the request waiting on our lock."""
    rows = lock_conn.execute(
        "SELECT pid, query, backend_xid IS NOT NULL FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE %s",
        [f"%{WAITING_MARK}%"],
    ).fetchall()
    for backend_pid, query, has_written in rows:
        match = re.search(rf"{re.escape(WAITING_MARK)}(\d+)", query)
        if match:
            return int(match.group(1)), backend_pid, has_written
    return None


def backend_alive(lock_conn, backend_pid: int) -> bool:
    return lock_conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend_pid]).fetchone() is not None


def test_worker_killed_mid_transaction_then_redelivery_applies_the_event_once(load_db, load_server, webhook_url):
    [payment] = make_payments(load_db, 1, metadata={BLOCK_KEY: "1"})
    pi = payment.stripe_payment_intent
    event = build_event(payment, "payment_intent.succeeded")
    body = json.dumps(event).encode()
    first: list[Result] = []

    with connect(load_server.db_name, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        try:
            sender = threading.Thread(
                target=lambda: first.extend(deliver(webhook_url, [body], sign=sign, concurrency=1)))
            sender.start()
            # The worker has claimed the event, moved the payment, counted two signals and
            # waits inside payment_succeeded's receiver: kill it there.
            worker_pid, backend_pid, has_written = wait_for(lambda: blocked_worker(lock_conn), "the worker to block")
            assert has_written, "the worker is inside a transaction that has written rows"
            assert load_server.is_worker(worker_pid), "only ever kill a worker of our own gunicorn"
            os.kill(worker_pid, signal.SIGKILL)
            sender.join(WAIT)
            assert not sender.is_alive()
            # PostgreSQL notices the dead client and rolls its transaction back.
            wait_for(lambda: not backend_alive(lock_conn, backend_pid), "the orphaned backend to end")
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])

    [killed] = first
    assert killed.status is None, killed  # the delivery got no answer: Stripe will retry it
    payment.refresh_from_db(using=load_db)
    assert payment.status == Payment.Status.PENDING
    assert not WebhookEvent.objects.using(load_db).filter(stripe_id=event["id"]).exists()
    assert tallies(load_db, pi, event["id"]) == {}

    # Stripe redelivers (the master has started a new worker by then, or another one answers).
    redelivered = wait_for(
        lambda: next((r for r in deliver(webhook_url, [body], sign=sign, concurrency=1) if r.status), None),
        "a redelivery to be answered",
    )
    assert (redelivered.status, json.loads(redelivered.body)["outcome"]) == (200, "processed")
    [again] = deliver(webhook_url, [body], sign=sign, concurrency=1)
    assert (again.status, json.loads(again.body)["outcome"]) == (200, "duplicate")

    payment.refresh_from_db(using=load_db)
    assert payment.status == Payment.Status.SUCCEEDED
    stored = WebhookEvent.objects.using(load_db).get(stripe_id=event["id"])
    assert (stored.outcome, stored.attempts) == (WebhookEvent.Outcome.PROCESSED, 1)
    assert tallies(load_db, pi, event["id"]) == {
        received_key(event["id"]): 1,
        changed_key(pi, "pending", "succeeded"): 1,
        specific_key("payment_succeeded", pi): 1,
    }
    assert f"(pid:{worker_pid})" in load_server.log()  # gunicorn saw its worker die
