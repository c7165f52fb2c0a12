"""A failing delivery never overwrites a concurrent successful one, on PostgreSQL with real
threads and real row locks."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from django_apranova_payments import signals, webhooks
from django_apranova_payments.models import Payment, WebhookEvent, WebhookEventQuerySet
from django_apranova_payments.testing import build_event
from tests.factories import PaymentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_failure_recorded_after_a_concurrent_success_leaves_the_event_processed(monkeypatch):
    """Two deliveries of one event on two servers. The first claims it and its receiver
    fails; the second, waiting on the first one's row lock, then processes it. The first
    delivery's failure is written after the second has committed: it must not turn the
    processed event back into a failed one (Stripe would retry an event already applied, and
    the admin would show a failure that did not happen)."""
    payment = PaymentFactory(user=UserFactory())
    event = build_event(payment, "payment_intent.succeeded")
    first_claimed, second_started, second_done = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def receiver(**kwargs: Any) -> None:
        if threading.current_thread().name == "first":
            first_claimed.set()
            second_started.wait(10)
            time.sleep(0.3)  # the second delivery is now blocked on this transaction's row
            raise RuntimeError("the first server's receiver failed")

    record_failure = WebhookEventQuerySet.record_failure

    def record_failure_late(self: WebhookEventQuerySet, *args: Any) -> None:
        if threading.current_thread().name == "first":
            second_done.wait(10)  # the second delivery has committed its success by now
        record_failure(self, *args)

    monkeypatch.setattr(WebhookEventQuerySet, "record_failure", record_failure_late)

    def deliver(name: str, before: threading.Event | None, after: threading.Event | None) -> None:
        try:
            if before is not None:
                before.wait(10)
                second_started.set()
            results[name] = webhooks.process_event(event)
        except Exception as exc:
            results[name] = exc
        finally:
            if after is not None:
                after.set()
            connection.close()

    signals.payment_succeeded.connect(receiver, weak=False)
    try:
        threads = [
            threading.Thread(target=deliver, args=("first", None, None), name="first"),
            threading.Thread(target=deliver, args=("second", first_claimed, second_done), name="second"),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        signals.payment_succeeded.disconnect(receiver)

    assert isinstance(results["first"], RuntimeError)
    assert results["second"] == "processed"
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.outcome, stored.error) == ("processed", "")
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
