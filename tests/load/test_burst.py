"""Burst: the same signed event delivered 50 times at the same moment to gunicorn worker
processes on PostgreSQL is applied once, and each signal fires once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event
from tests.load.conftest import make_payments, sign, tallies
from tests.load.loadgen import deliver
from tests.load.tally.receivers import changed_key, received_key, specific_key

pytestmark = pytest.mark.postgres

COPIES = 50


@pytest.mark.parametrize("round_number", range(3))
def test_fifty_simultaneous_deliveries_of_one_event_apply_it_once(load_db, load_server, webhook_url, round_number):
    [payment] = make_payments(load_db, 1)
    pi = payment.stripe_payment_intent
    event = build_event(payment, "payment_intent.succeeded")
    body = json.dumps(event).encode()

    results = deliver(webhook_url, [body] * COPIES, sign=sign, concurrency=COPIES, start_together=True)

    statuses = Counter(r.status for r in results)
    assert statuses == {200: COPIES}, (statuses, {r.error for r in results}, load_server.log_tail())
    outcomes = Counter(json.loads(r.body)["outcome"] for r in results)
    assert outcomes == {"processed": 1, "duplicate": COPIES - 1}
    assert tallies(load_db, pi, event["id"]) == {
        received_key(event["id"]): 1,
        changed_key(pi, "pending", "succeeded"): 1,
        specific_key("payment_succeeded", pi): 1,
    }
    payment.refresh_from_db(using=load_db)
    assert payment.status == Payment.Status.SUCCEEDED
    stored = WebhookEvent.objects.using(load_db).get(stripe_id=event["id"])
    assert (stored.outcome, stored.attempts) == (WebhookEvent.Outcome.PROCESSED, 1)
