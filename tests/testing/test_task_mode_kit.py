"""The test kit in task mode: ``post_event`` and ``send_webhook`` apply the event whatever the
task backend, since a test's transaction never commits and the enqueue waits for a commit;
``process_queued`` applies what was left queued, as a worker would."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings

from django_apranova_payments import signals
from django_apranova_payments.models import Payment, WebhookEvent
from django_apranova_payments.testing import build_event, post_event, process_queued
from tests.factories import PaymentFactory
from tests.webhook_modes import TASKS_PACKAGE

pytestmark = pytest.mark.django_db

BACKENDS = ["dummy.DummyBackend", "immediate.ImmediateBackend"]


def task_mode(backend: str) -> Any:
    return override_settings(
        TASKS={"default": {"BACKEND": f"{TASKS_PACKAGE}.backends.{backend}"}},
        APRANOVA_PAYMENTS={**settings.APRANOVA_PAYMENTS, "WEBHOOK_PROCESSING": "task"},
    )


@pytest.fixture
def enrolled() -> Any:
    """What a host's enrollment receiver records."""
    seen: list[str] = []

    def enroll(sender: Any, payment: Payment, **kwargs: Any) -> None:
        seen.append(payment.stripe_payment_intent)

    signals.payment_succeeded.connect(enroll)
    yield seen
    signals.payment_succeeded.disconnect(enroll)


@pytest.mark.parametrize("backend", BACKENDS)
def test_post_event_applies_the_event_in_task_mode(client, user, enrolled, backend):
    payment = PaymentFactory(user=user)

    with task_mode(backend):
        response = post_event(client, build_event(payment, "payment_intent.succeeded"))

    assert response.json()["outcome"] == "queued"  # the endpoint's own answer is kept
    assert enrolled == [payment.stripe_payment_intent]
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    assert WebhookEvent.objects.get().outcome == "processed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_send_webhook_applies_the_event_in_task_mode(send_webhook, user, enrolled, backend):
    payment = PaymentFactory(user=user)

    with task_mode(backend):
        send_webhook(payment, "payment_intent.succeeded")

    assert enrolled == [payment.stripe_payment_intent]


def test_apply_false_leaves_it_queued_for_process_queued(client, user, enrolled):
    first, second = PaymentFactory(user=user), PaymentFactory(user=user)

    with task_mode("dummy.DummyBackend"):
        post_event(client, build_event(first, "payment_intent.succeeded"), apply=False)
        post_event(client, build_event(second, "payment_intent.succeeded"), apply=False)
        assert enrolled == [] and WebhookEvent.objects.filter(outcome="received").count() == 2

        assert process_queued() == ["processed", "processed"]

    assert enrolled == [first.stripe_payment_intent, second.stripe_payment_intent]
    assert process_queued() == []


def test_a_duplicate_in_task_mode_applies_nothing_twice(client, user, enrolled):
    event = build_event(PaymentFactory(user=user), "payment_intent.succeeded")

    with task_mode("dummy.DummyBackend"):
        post_event(client, event)
        assert post_event(client, event).json()["outcome"] == "duplicate"

    assert len(enrolled) == 1


def test_a_failing_receiver_in_task_mode_is_raised_and_recorded(client, user):
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("enrollment service down")

    signals.payment_succeeded.connect(broken)
    try:
        with task_mode("dummy.DummyBackend"), pytest.raises(RuntimeError, match="enrollment service down"):
            post_event(client, build_event(PaymentFactory(user=user), "payment_intent.succeeded"))
    finally:
        signals.payment_succeeded.disconnect(broken)

    event = WebhookEvent.objects.get()
    assert event.outcome == "failed" and "enrollment service down" in event.error


def test_inline_mode_is_unchanged(client, user, enrolled):
    payment = PaymentFactory(user=user)

    assert post_event(client, build_event(payment, "payment_intent.succeeded")).json()["outcome"] == "processed"
    assert enrolled == [payment.stripe_payment_intent]
