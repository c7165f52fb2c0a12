"""Task mode's own bookkeeping: a processed event keeps its note, a retry is deferred only where
the backend can defer, and an event another worker finished meanwhile is not enqueued again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from django_apranova_payments import tasks, webhooks
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_charge, build_event, build_payment_intent, build_refund
from tests.factories import PaymentFactory
from tests.webhook_modes import TASKS_PACKAGE

pytestmark = pytest.mark.django_db

DUMMY = f"{TASKS_PACKAGE}.backends.dummy.DummyBackend"
IMMEDIATE = f"{TASKS_PACKAGE}.backends.immediate.ImmediateBackend"


def task_mode(settings: Any, backend: str) -> None:
    settings.TASKS = {"default": {"BACKEND": backend, "QUEUES": ["default", "webhooks"]}}
    settings.APRANOVA_PAYMENTS = {**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task",
                                  "TASK_QUEUE": "webhooks", "TASK_MAX_ATTEMPTS": 3}


@pytest.fixture
def paid(stripe_mock: Any) -> Payment:
    payment = PaymentFactory(status="succeeded", stripe_status="succeeded", amount=Decimal("40.00"))
    stripe_mock.intents[payment.stripe_payment_intent] = build_payment_intent(payment, "succeeded")
    return payment


def test_a_processed_events_note_is_stored_in_task_mode(settings, paid, stripe_mock):
    """``charge.refunded`` fetches the refunds and applies each: one refused (another currency)
    leaves the event ``processed`` with a note saying so, as inline mode does."""
    task_mode(settings, DUMMY)
    wrong = build_refund(paid, 1000, currency="eur")
    stripe_mock.refunds[wrong["id"]] = wrong
    event_pk = WebhookEvent.objects.receive(build_event(build_charge(paid, 1000), "charge.refunded"))

    outcome = webhooks.apply_stored(event_pk)

    stored = WebhookEvent.objects.get(pk=event_pk)
    assert (outcome, stored.outcome) == ("processed", "processed")
    assert stored.note == "mismatch: the refund is not of this payment or not in its currency"


def test_a_retry_on_a_backend_that_cannot_defer_runs_now(settings, paid):
    """``ImmediateBackend`` cannot defer a task: the retry runs without ``run_after`` rather
    than fail to enqueue (and leave the event for a replay)."""
    task_mode(settings, IMMEDIATE)
    event_pk = WebhookEvent.objects.receive(build_event(paid, "payment_intent.succeeded"))

    result = tasks.enqueue(event_pk, delay=timedelta(seconds=30))

    assert result.return_value == "processed"
    assert WebhookEvent.objects.get(pk=event_pk).outcome == "processed"


def test_a_retry_is_deferred_where_the_backend_can(settings, paid):
    task_mode(settings, DUMMY)
    backend = tasks.task_backends["default"]
    backend.clear()
    event_pk = WebhookEvent.objects.receive(build_event(paid, "payment_intent.succeeded"))

    tasks.enqueue(event_pk, delay=timedelta(seconds=30))

    [queued] = backend.results
    assert queued.task.run_after is not None and queued.args == [event_pk]


def test_an_event_another_worker_finished_meanwhile_is_not_enqueued_again(settings, paid):
    """The attempt failed, then another worker (a redelivery's task, the sweep) processed the
    event before this one's retry was planned: nothing is enqueued."""
    task_mode(settings, DUMMY)
    backend = tasks.task_backends["default"]
    backend.clear()
    event_pk = WebhookEvent.objects.receive(build_event(paid, "payment_intent.succeeded"))
    WebhookEvent.objects.filter(pk=event_pk).update(attempts=1)
    assert webhooks.apply_stored(event_pk) == "processed"

    tasks.retry_later(event_pk)

    assert backend.results == []
